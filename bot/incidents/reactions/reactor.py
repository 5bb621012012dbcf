"""Runs the follow-ups committed changes owe (``reactions`` rows) until each one succeeds.

Two ways in, one way to run a row:

- **Right after the commit** (:meth:`Reactor.run`, called by ``Notifier.publish``) with the
  change as committed. ``inline`` (the default, and what tests with an injected clock use)
  runs the rows before ``publish`` returns, as the old after-commit listeners did; ``vigil
  serve`` turns it off, so an alert post returns once its transaction is committed and the
  worker (:meth:`Reactor.loop`) pages a moment later, without making the sender wait.
- **Later** (:meth:`Reactor.run_due`): rows whose first run failed (retried after 1 s,
  doubling to :data:`MAX_BACKOFF`, and never given up: a page is never dropped), and rows a
  dead process had claimed (run again when its lease is over). At start-up every row already
  due runs before the bot serves.

Each run claims its row by moving ``due_at`` a lease ahead with a conditional UPDATE (only
one process's UPDATE matches), runs the follower, then deletes the row; a failure is logged
with the follower's name, counted in ``/metrics`` (``vigil_reaction_failures``) and set to
run again. A retry reads the incident afresh (it may have been acknowledged meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import Clock
from bot.core.metrics import Metrics
from bot.incidents.reactions.changes import Change, Notifier
from bot.incidents.reactions.tables import Reaction
from bot.incidents.views import IncidentView
from bot.store.db import Database

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)  # a claimed row is left alone this long, then run again
FIRST_BACKOFF = timedelta(seconds=1)
MAX_BACKOFF = timedelta(seconds=60)
BATCH = 100  # rows claimed per look at the table
PARALLEL = 16  # incidents whose follow-ups run at once (each incident's in order); see loop
STORM_PARALLEL = 4  # the same while alerts pour in (``intake_busy``)
POLL = 1.0  # seconds between looks when nothing wakes the worker
OVERDUE = timedelta(seconds=30)  # a due row not run within this is late (see overdue)
SNAPSHOTS = 10_000  # committed changes kept for their first run (saves a read each)

Handler = Callable[[dict[str, Any]], Awaitable[None]]


def _by_incident(rows: Sequence[Reaction]) -> dict[int | None, list[Reaction]]:
    groups: dict[int | None, list[Reaction]] = {}
    for row in rows:
        groups.setdefault(row.incident_id, []).append(row)
    return groups


def backoff(attempts: int) -> timedelta:
    """1 s after the first failure, doubling, at most a minute: a queue that waited through
    an outage drains within a minute of the cause going away."""
    wait: timedelta = FIRST_BACKOFF * 2 ** max(attempts - 1, 0)
    return min(wait, MAX_BACKOFF)


class Reactor:
    """Claims, runs and retires ``reactions`` rows; see the module docstring for why."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        *,
        load: Callable[[int], Awaitable[IncidentView]],
        clock: Clock,
        metrics: Metrics | None = None,
        inline: bool = True,
    ) -> None:
        self._db = db
        self._notifier = notifier
        self._load = load
        self._clock = clock
        self._metrics = metrics
        self.inline = inline
        self._handlers: dict[str, Handler] = {}
        self._snapshots: dict[int, Change] = {}  # row id -> the change as committed
        # Follow-ups that page someone (``vigil serve`` names the pager's): started before
        # the others, and while any is due or running :meth:`paging` says so.
        self.urgent: frozenset[str] = frozenset()
        self._urgent_due = False
        self._urgent_running = 0
        self._detached: set[asyncio.Task[None]] = set()  # leased rows run apart (run_leased)
        # Says when alerts are pouring in (``vigil serve`` sets the ingestor's): fewer
        # incidents' follow-ups run at once meanwhile, see loop.
        self.intake_busy: Callable[[], bool] = lambda: False
        self._wake = asyncio.Event()
        notifier.runner = self

    def register(self, name: str, handler: Handler) -> None:
        """Name a follow-up that is not a change (a page to send through ``notify:``)."""
        if name in self._handlers or self._notifier.follower(name) is not None:
            raise ValueError(f"a follow-up named {name!r} is already registered")
        self._handlers[name] = handler

    def add(
        self,
        session: AsyncSession,
        name: str,
        incident_id: int | None,
        data: dict[str, Any],
        *,
        leased: bool = False,
    ) -> Reaction:
        """Stage a registered follow-up in the caller's transaction; run it with
        :meth:`run` after the commit.

        ``leased``: the row is written already claimed by this process (its lease running,
        one attempt counted), for a caller that runs it itself right after the commit with
        :meth:`run_leased`: a page must not wait for a claim, a second transaction that in
        a storm queues behind the alerts for SQLite's one writer. If the process dies first,
        the lease runs out and the worker runs it, as for any claimed row."""
        if name not in self._handlers:
            raise ValueError(f"no follow-up named {name!r} is registered")
        now = self._clock()
        row = Reaction(
            incident_id=incident_id,
            follower=name,
            data=data,
            created_at=now,
            due_at=now + LEASE if leased else now,
            attempts=1 if leased else 0,
        )
        session.add(row)
        return row

    async def run_leased(self, rows: Sequence[Reaction]) -> None:
        """After the commit: run rows :meth:`add` wrote ``leased``, without claiming them.

        Inline (tests), before returning. Under the worker, in a task of its own: a page's
        delivery waits on the far end (a webhook, PagerDuty), and must not keep the
        incident's slot in :meth:`loop` from the next incident's page meanwhile."""
        leased = [r for r in rows if r.id is not None]
        if self.inline:
            await self._run_claimed(leased)
            return
        task = asyncio.create_task(self._run_claimed(leased))
        self._detached.add(task)
        task.add_done_callback(self._detached.discard)

    async def run(self, rows: Sequence[Reaction], changes: Mapping[int, Change]) -> None:
        """After the commit that wrote ``rows``: run them now (inline) or wake the worker.
        ``changes`` maps ``id(row)`` to the change as committed, to spare a read."""
        for row in rows:
            if row.id is not None and id(row) in changes:
                self._snapshots[row.id] = changes[id(row)]
        while len(self._snapshots) > SNAPSHOTS:  # rows another replica ran: forget the oldest
            del self._snapshots[next(iter(self._snapshots))]
        if not self.inline:
            self._wake.set()
            return
        claimed = await self._claim([(r.id, r.due_at) for r in rows if r.id is not None])
        await self._run_claimed(claimed)

    async def run_due(self) -> int:
        """Run every row due now (first runs not yet done, retries, a dead process's rows);
        how many ran, failed ones included."""
        ran = 0
        while True:
            async with self._db.read() as s, s.begin():
                due = (
                    await s.exec(
                        select(Reaction.id, Reaction.due_at)
                        .where(col(Reaction.due_at) <= self._clock())
                        .order_by(col(Reaction.id))
                        .limit(BATCH)
                    )
                ).all()
            if not due:
                return ran
            claimed = await self._claim([(int(i), at) for i, at in due if i is not None])
            await self._run_claimed(claimed)
            ran += len(claimed)
            if len(due) < BATCH:
                return ran

    def wake(self) -> None:
        """Look for due rows now (another process committed some: ``bot.store.wakeups``)."""
        self._wake.set()

    def paging(self) -> bool:
        """Is a page being sent, or due? (Slack's thread messages wait meanwhile:
        ``OutboxWorker.hold``; in a storm the pages are the news, the narration can wait.)"""
        return self._urgent_running > 0 or self._urgent_due

    async def pending(self) -> int:
        """Rows not yet done (due, leased or waiting for a retry), for ``/metrics``."""
        async with self._db.read() as s, s.begin():
            return int((await s.exec(select(func.count()).select_from(Reaction))).one())

    async def overdue(self, grace: timedelta = OVERDUE) -> tuple[int, float]:
        """Rows nobody has run though due more than ``grace`` ago (no worker running, or
        one that cannot keep up), and how many seconds the oldest is late: ``/healthz``
        says so, since a bot whose pages wait is not healthy. A row in flight is not late:
        its claim moved ``due_at`` a lease ahead, and a waiting retry is due later."""
        now = self._clock()
        async with self._db.read() as s, s.begin():
            count, oldest = (
                await s.exec(
                    select(func.count(), func.min(Reaction.due_at)).where(
                        col(Reaction.due_at) < now - grace
                    )
                )
            ).one()
        return int(count), (now - oldest).total_seconds() if oldest is not None else 0.0

    async def loop(self, stop: asyncio.Event) -> None:
        """The worker of ``vigil serve``: run what is due whenever a commit wakes it, and at
        least every :data:`POLL` seconds (retries, other processes' rows), until ``stop``.

        A pipeline, not rounds: up to :data:`PARALLEL` incidents' follow-ups run at once,
        and as soon as one incident's are done the next due incident starts, so a storm's
        fiftieth incident is paged when a slot frees, not after the other 49 finish their
        SLA timers and post-mortem checks; incidents with a page to send start first.

        Why fewer while alerts pour in (:data:`STORM_PARALLEL`, while ``intake_busy``):
        follow-ups are CPU work on the loop the alerts are served on (deliveries that wait
        on the network run apart: :meth:`run_leased`). Measured with 50 P1 incidents opened
        by 2,000 alerts on a 2-core machine: sixteen at once took the CPU from the intake and
        held incident rows locked while starved (SQLite 730-1,000 alerts/s); four let the
        intake run (SQLite 1,200-1,800) with pages still sooner than before. Once the storm
        is stored, sixteen at once send what is left. ``vigil serve`` limits only on SQLite,
        whose one writer the intake and the follow-ups share: on PostgreSQL four gained less
        (680-1,030 alerts/s against 540-610) and made pages half a second later."""
        running: dict[int | None, asyncio.Task[None]] = {}
        counted = 0.0
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    await self._start_due(running)
                    loop_time = asyncio.get_running_loop().time()
                    if self._metrics is not None and loop_time - counted >= POLL:
                        counted = loop_time
                        self._metrics.reactions_pending.set(await self.pending())
                except Exception:  # the database is away: look again soon, never die
                    log.exception("follow-ups could not be read; trying again")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL)
            await asyncio.gather(*running.values(), *self._detached, return_exceptions=True)
        finally:
            for task in [*running.values(), *self._detached]:  # cancelled: their rows run
                task.cancel()  # again after the lease

    async def _start_due(self, running: dict[int | None, asyncio.Task[None]]) -> None:
        """Claim the due rows of incidents with nothing running, as many incidents as there
        are free slots, and start each incident's rows (in order) in a task of its own."""
        free = (STORM_PARALLEL if self.intake_busy() else PARALLEL) - len(running)
        if free <= 0:
            return
        async with self._db.read() as s, s.begin():
            due = (
                await s.exec(
                    select(Reaction.id, Reaction.due_at, Reaction.incident_id, Reaction.follower)
                    .where(col(Reaction.due_at) <= self._clock())
                    .order_by(col(Reaction.id))
                    .limit(BATCH)
                )
            ).all()
        # Incidents with a page to send first (a storm's fiftieth P1 is paged before the
        # first ones' SLA timers are set), then the rest, each incident's rows in order.
        paging = {i for _, _, i, follower in due if follower in self.urgent}
        chosen: list[int | None] = []
        for _, _, incident_id, _ in sorted(due, key=lambda r: r[2] not in paging):
            if incident_id not in running and incident_id not in chosen and len(chosen) < free:
                chosen.append(incident_id)
        seen = [(int(i), at) for i, at, incident, _ in due if i is not None and incident in chosen]
        self._urgent_due = bool(paging - set(chosen) - set(running))
        for incident_id, group in _by_incident(await self._claim(seen)).items():
            task = asyncio.create_task(self._run_group(group))
            running[incident_id] = task
            task.add_done_callback(functools.partial(self._finished, running, incident_id))

    def _finished(
        self,
        running: dict[int | None, asyncio.Task[None]],
        key: int | None,
        _task: asyncio.Task[None],
    ) -> None:
        running.pop(key, None)
        self._wake.set()  # a slot is free: look for the next incident at once

    # -- internals -------------------------------------------------------------------------

    async def _claim(self, seen: Sequence[tuple[int, datetime]]) -> list[Reaction]:
        """Lease each row still due as read; the rows this process won, in id order."""
        if not seen:
            return []
        lease = self._clock() + LEASE
        won: list[int] = []
        async with self._db.session() as s, s.begin():
            for row_id, due_at in seen:
                result = await s.exec(
                    update(Reaction)
                    .where(col(Reaction.id) == row_id, col(Reaction.due_at) == due_at)
                    .values(due_at=lease, attempts=col(Reaction.attempts) + 1)
                )
                if result.rowcount == 1:
                    won.append(row_id)
            if not won:
                return []
            rows = (
                await s.exec(
                    select(Reaction).where(col(Reaction.id).in_(won)).order_by(col(Reaction.id))
                )
            ).all()
        return list(rows)

    async def _run_claimed(self, rows: Sequence[Reaction]) -> None:
        gate = asyncio.Semaphore(PARALLEL)

        async def one_incident(group: list[Reaction]) -> None:
            async with gate:
                await self._run_group(group)

        await asyncio.gather(*(one_incident(g) for g in _by_incident(rows).values()))

    async def _run_group(self, group: Sequence[Reaction]) -> None:
        """One incident's claimed rows, in order; the done ones deleted together."""
        done: list[int] = []
        urgent = any(row.follower in self.urgent for row in group)
        self._urgent_running += urgent
        try:
            for row in group:
                if await self._run_one(row):
                    assert row.id is not None
                    done.append(row.id)
        finally:
            self._urgent_running -= urgent
        if done:
            async with self._db.session() as s, s.begin():
                await s.exec(delete(Reaction).where(col(Reaction.id).in_(done)))

    async def _run_one(self, row: Reaction) -> bool:
        """Run one claimed row; True when it is done (or can never be run)."""
        assert row.id is not None
        snapshot = self._snapshots.pop(row.id, None)
        try:
            handler = self._handlers.get(row.follower)
            if handler is not None:
                await handler(dict(row.data))
                return True
            follower = self._notifier.follower(row.follower)
            if follower is None:
                log.error(
                    "follow-up %s #%d: nothing runs it any more; dropped", row.follower, row.id
                )
                return True
            change = snapshot
            if change is None:  # a retry, or another process's row: read the incident now
                assert row.incident_id is not None
                view = await self._load(row.incident_id)
                data = row.data
                change = Change(str(data["kind"]), view, str(data["actor"]), str(data["text"]))
            await follower.listener(change)
            return True
        except Exception as exc:
            wait = backoff(row.attempts)
            log.exception(
                "follow-up %s for incident #%s failed (attempt %d); trying again in %s",
                row.follower,
                row.incident_id,
                row.attempts,
                wait,
            )
            if self._metrics is not None:
                self._metrics.reaction_failures.labels(row.follower).inc()
            await self._later(row.id, wait, type(exc).__name__)
            return False

    async def _later(self, row_id: int, wait: timedelta, error: str) -> None:
        try:
            async with self._db.session() as s, s.begin():
                await s.exec(
                    update(Reaction)
                    .where(col(Reaction.id) == row_id)
                    .values(due_at=self._clock() + wait, last_error=error[:200])
                )
        except Exception:  # the lease runs out and the row is run again all the same
            log.exception("follow-up #%d: could not set its retry; it runs after its lease", row_id)
