"""Running a built Vigil until told to stop: the HTTP server, the chat backends, the rule
polling and the workers that page, fire timers and deliver to Slack, by role.

Apart from the composition root (:mod:`bot.runtime.app`, which builds the parts): what runs
in which process of a split ``vigil serve`` is decided here, in one place, and the parts are
built the same way whichever role a process has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Literal

from aiohttp import web

from bot.retrain.cron import RetrainSchedule
from bot.rules.cadence import RuleSchedule
from bot.runtime.app import Vigil
from bot.store import wakeups
from bot.store.db import redact_url

log = logging.getLogger(__name__)

Role = Literal["all", "http", "worker"]


async def serve(
    vigil: Vigil, *, host: str, port: int, stop: asyncio.Event, role: Role = "all"
) -> None:
    """Serve until ``stop`` is set: HTTP, chat backends and rule polling (role ``http``),
    the workers that page, fire timers and deliver to Slack (role ``worker``), or both
    (``all``, one process). A split ``vigil serve`` (``bot.runtime.supervise``) runs one process of
    each role on PostgreSQL, so alert intake and paging each have a core."""
    runner: web.AppRunner | None = None
    if role != "worker":
        runner = web.AppRunner(vigil.web_app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        log.info(
            "Vigil is up: HTTP on http://%s:%d (alerts: POST /alerts/alertmanager, "
            "/alerts/generic), database %s%s",
            host,
            port,
            redact_url(vigil.db.url),
            "; pages, timers and Slack delivery run in the worker" if role == "http" else "",
        )
    # Follow-ups (pages, SLA timers) run in the worker, not in the request that committed
    # the change: an alert post returns once stored, and paging does not wait on its sender.
    vigil.reactor.inline = False
    workers: list[asyncio.Task[None]] = []
    if role != "http":
        if vigil.slack is not None:  # the worker that sends the outbox to Slack, in order
            workers.append(asyncio.create_task(vigil.slack.outbox.run(stop), name="outbox"))
        workers.append(asyncio.create_task(vigil.reactor.loop(stop), name="follow-ups"))
        wakes = {"reactions": vigil.reactor.wake, "timers": vigil.timers.wake}
        if vigil.slack is not None:
            wakes["outbox"] = vigil.slack.outbox.wake
        workers.append(asyncio.create_task(wakeups.listen(vigil.db, wakes, stop), name="wakes"))
    if role == "worker":
        log.info(
            "Vigil worker is up: pages, timers and Slack delivery, database %s",
            redact_url(vigil.db.url),
        )
    if role != "worker":  # the posts' process stores their minute ledger for every process
        workers.append(asyncio.create_task(vigil.models.flush_every(stop), name="ledger"))
    rules = RuleSchedule(vigil.rules_runner, vigil.settings.sources.group_intervals)
    retraining = RetrainSchedule(vigil.retrain)  # beside the rules: one process fires cron
    if role != "worker":
        rules.start()
        retraining.start()
    try:
        if role != "worker":
            for backend in vigil.backends:
                await backend.start()
        await stop.wait()
    finally:
        for task in workers:  # let a delivery in flight finish, but not hold shutdown hostage
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=5)
        if role != "worker":
            rules.stop()
            retraining.stop()
            with contextlib.suppress(asyncio.TimeoutError):  # a group run in flight finishes
                await asyncio.wait_for(vigil.rules_runner.wait_idle(), timeout=5)
        if runner is not None:
            await runner.cleanup()


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM end the process cleanly (in-flight requests finish)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
