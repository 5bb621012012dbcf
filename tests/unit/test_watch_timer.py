"""The durable-watcher skeleton (handoff, SLA and snooze timers): what a failed firing does.

A firing that fails comes back a minute later with the same payload; one whose incident is
gone, or that can never work, is dropped; firings run one at a time; a resume plants every
subject it can. The timers are a stand-in recording what the watcher asks of them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from bot.core.errors import NotFoundError
from bot.oncall.watch import RETRY, WatchTimer, plant_each
from bot.store.timers import Handler, Timers

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
LOG = logging.getLogger("tests.watch_timer")


class StandInTimers:
    """What a watcher uses of ``Timers``: register, schedule, cancel."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.scheduled: list[tuple[str, str, datetime, dict[str, Any]]] = []

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    async def schedule(self, kind: str, key: str, at: datetime, payload: dict[str, Any]) -> None:
        self.scheduled.append((kind, key, at, payload))


def watch(fire: Any, timers: StandInTimers, **kw: Any) -> WatchTimer:
    return WatchTimer(
        cast(Timers, timers),
        "check",
        fire,
        key=lambda p: f"incident:{p['incident']}:check",
        what=lambda p: f"check of incident #{p['incident']}",
        clock=lambda: NOW,
        log=LOG,
        **kw,
    )


async def test_a_failed_firing_runs_again_a_minute_later_with_the_same_payload() -> None:
    timers = StandInTimers()

    async def fire(payload: dict[str, Any]) -> None:
        raise ConnectionError("database down")

    watch(fire, timers)
    await timers.handlers["check"]({"incident": 12, "since": "09:00"})
    assert timers.scheduled == [
        ("check", "incident:12:check", NOW + RETRY, {"incident": 12, "since": "09:00"})
    ]


@pytest.mark.parametrize("error", [NotFoundError("There is no incident #12."), ValueError("x")])
async def test_a_gone_or_impossible_subject_drops_its_timer(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    timers = StandInTimers()

    async def fire(payload: dict[str, Any]) -> None:
        raise error

    watch(fire, timers, drop=(ValueError,))
    await timers.handlers["check"]({"incident": 12})
    assert timers.scheduled == []
    assert "check of incident #12" in caplog.text
    assert "dropped" in caplog.text


async def test_firings_run_one_at_a_time() -> None:
    timers = StandInTimers()
    running: list[int] = []
    overlapped = False

    async def fire(payload: dict[str, Any]) -> None:
        nonlocal overlapped
        overlapped = overlapped or bool(running)
        running.append(payload["incident"])
        await asyncio.sleep(0)  # a firing's own await: the other must not start here
        running.remove(payload["incident"])

    watch(fire, timers)
    handler = timers.handlers["check"]
    await asyncio.gather(handler({"incident": 1}), handler({"incident": 2}))
    assert not overlapped


async def test_a_resume_plants_the_others_when_one_fails() -> None:
    planted: list[int] = []

    async def plant(n: int) -> bool:
        if n == 2:
            raise ConnectionError("database down")
        planted.append(n)
        return n != 3  # 3: nothing to plant (a snooze of a resolved incident)

    count = await plant_each([1, 2, 3, 4], plant, what=lambda n: f"timer {n}", log=LOG)
    assert (planted, count) == ([1, 3, 4], 2)
