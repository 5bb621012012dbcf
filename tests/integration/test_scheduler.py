"""Durable timers on SQLite and PostgreSQL: restart, fire once, replace, cancel, real loop.

Time is the FakeClock and ``run_due``; the tests of the timers' own loop schedule at the
real "now" and await an Event the handler sets, so nothing sleeps waiting for a timer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bot.store.db import Database
from bot.store.timer_rows import Pending
from bot.store.timers import BATCH, LEASE, RETRIES, Timers
from tests.support import FakeClock

Fired = list[tuple[str, dict[str, Any]]]


@pytest.fixture
async def make_timers(
    database_url: str, db: Database, clock: FakeClock
) -> AsyncIterator[Callable[..., Timers]]:
    """Timers on the test database (after Vigil's migrations), each with a database of its
    own as a process would have; each stopped at the end."""
    made: list[Timers] = []
    dbs: list[Database] = []

    def make(clock_: Callable[[], datetime] = clock) -> Timers:
        dbs.append(Database(database_url))
        timers = Timers(dbs[-1], clock=clock_)
        made.append(timers)
        return timers

    yield make
    for timers in made:
        await timers.stop()
    for each in dbs:
        await each.dispose()


def recorder(fired: Fired, kind: str) -> Callable[[dict[str, Any]], Any]:
    async def handle(payload: dict[str, Any]) -> None:
        fired.append((kind, payload))

    return handle


async def test_pending_timers_survive_a_restart_and_fire_once_in_time_order(
    make_timers: Callable[..., Timers], clock: FakeClock, db: Database
) -> None:
    t0 = clock()
    first = make_timers()
    first.register("escalate", recorder([], "escalate"))
    await first.start(paused=True)
    await first.schedule("escalate", "incident:12:level:3", t0 + timedelta(minutes=25), {"n": 3})
    await first.schedule("escalate", "incident:12:level:2", t0 + timedelta(minutes=10), {"n": 2})
    await first.schedule("escalate", "incident:7:level:2", t0 + timedelta(minutes=5), {"n": 7})
    await first.stop()

    fired: Fired = []
    second = make_timers()  # the restart: a new process reading the same database
    second.register("escalate", recorder(fired, "escalate"))
    await second.start(paused=True)
    assert await second.pending() == [
        Pending("incident:7:level:2", "escalate", t0 + timedelta(minutes=5)),
        Pending("incident:12:level:2", "escalate", t0 + timedelta(minutes=10)),
        Pending("incident:12:level:3", "escalate", t0 + timedelta(minutes=25)),
    ]

    assert await second.run_due(t0 + timedelta(minutes=10) - timedelta(microseconds=1)) == 1
    assert fired == [("escalate", {"n": 7})]
    clock.advance(minutes=10)  # run_due() reads the injected clock: exactly at level 2's time
    assert await second.run_due() == 1
    assert await second.run_due() == 0  # fired once, not again
    assert fired == [("escalate", {"n": 7}), ("escalate", {"n": 2})]
    assert [p.key for p in await second.pending()] == ["incident:12:level:3"]
    async with db.engine.connect() as conn:  # one database: Vigil's tables and the timers
        count = await conn.scalar(text("SELECT count(*) FROM timers"))
        incidents = await conn.scalar(text("SELECT count(*) FROM incidents"))
    assert (count, incidents) == (1, 0)


async def test_same_key_replaces_so_a_retried_schedule_pages_once(
    make_timers: Callable[..., Timers], clock: FakeClock
) -> None:
    fired: Fired = []
    timers = make_timers()
    timers.register("escalate", recorder(fired, "escalate"))
    await timers.start(paused=True)
    t0 = clock()
    await timers.schedule("escalate", "incident:12", t0 + timedelta(minutes=5), {"try": 1})
    await timers.schedule("escalate", "incident:12", t0 + timedelta(minutes=8), {"try": 2})
    assert await timers.pending() == [Pending("incident:12", "escalate", t0 + timedelta(minutes=8))]
    assert await timers.run_due(t0 + timedelta(hours=1)) == 1
    assert fired == [("escalate", {"try": 2})]


async def test_cancel_and_cancel_prefix(
    make_timers: Callable[..., Timers], clock: FakeClock
) -> None:
    timers = make_timers()
    timers.register("escalate", recorder([], "escalate"))
    await timers.start(paused=True)
    at = clock() + timedelta(minutes=5)
    for key in ("incident:12:l2", "incident:12:l3", "incident:120:l2", "incident:1_:l2"):
        await timers.schedule("escalate", key, at, {})
    assert await timers.cancel_prefix("incident:12:") == 2
    assert await timers.cancel_prefix("incident:1_") == 1  # "_" is literal, not a wildcard
    assert [p.key for p in await timers.pending()] == ["incident:120:l2"]
    assert await timers.cancel("incident:120:l2") is True
    assert await timers.cancel("incident:120:l2") is False
    assert await timers.pending() == []
    with pytest.raises(ValueError, match="every timer"):
        await timers.cancel_prefix("")


async def test_a_failing_handler_is_logged_retried_with_backoff_and_loses_no_other_timer(
    make_timers: Callable[..., Timers], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fired: Fired = []
    failures: list[str] = []
    down = True

    async def flaky(payload: dict[str, Any]) -> None:
        if down:
            raise RuntimeError("chat backend down")
        fired.append(("flaky", payload))

    timers = make_timers()
    timers._on_failure = failures.append
    timers.register("escalate", recorder(fired, "escalate"))
    timers.register("flaky", flaky)
    await timers.start(paused=True)
    t0 = clock()
    await timers.schedule("escalate", "a", t0 + timedelta(minutes=1), {"k": "a"})
    await timers.schedule("flaky", "b", t0 + timedelta(minutes=2), {"k": "b"})
    await timers.schedule("escalate", "c", t0 + timedelta(minutes=3), {"k": "c"})
    clock.advance(minutes=3)
    with caplog.at_level(logging.ERROR, logger="bot.store.timers"):
        assert await timers.run_due() == 3
    assert fired == [("escalate", {"k": "a"}), ("escalate", {"k": "c"})]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    [record] = errors
    assert "timer b (flaky) failed; trying again in 0:00:05" in record.getMessage()
    assert record.exc_info is not None
    assert "chat backend down" in str(record.exc_info[1])
    assert failures == ["flaky"]
    # Not dropped: the page waits 5 s, then 10 s, and goes out once the backend is back.
    assert await timers.pending() == [Pending("b", "flaky", clock() + timedelta(seconds=5))]
    clock.advance(seconds=5)
    assert await timers.run_due() == 1
    assert await timers.pending() == [Pending("b", "flaky", clock() + timedelta(seconds=10))]
    down = False
    clock.advance(seconds=10)
    assert await timers.run_due() == 1
    assert fired[-1] == ("flaky", {"k": "b"})
    assert await timers.pending() == []


async def test_a_handler_that_always_fails_is_given_up_after_the_last_retry(
    make_timers: Callable[..., Timers], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(payload: dict[str, Any]) -> None:
        raise RuntimeError("gone for good")

    timers = make_timers()
    timers.register("boom", boom)
    await timers.start(paused=True)
    await timers.schedule("boom", "b", clock(), {})
    runs = 0
    with caplog.at_level(logging.ERROR, logger="bot.store.timers"):
        while await timers.pending():
            runs += await timers.run_due()
            clock.advance(minutes=5)
    assert runs == 1 + RETRIES
    assert "failed 9 times; giving up" in caplog.records[-1].getMessage()


async def test_a_retry_never_replaces_a_newer_timer_its_handler_scheduled(
    make_timers: Callable[..., Timers], clock: FakeClock
) -> None:
    """The handler set the next step's timer and then failed: the next step stands."""
    timers = make_timers()
    later = clock() + timedelta(minutes=5)

    async def advance_then_fail(payload: dict[str, Any]) -> None:
        await timers.schedule("step", "incident:1:escalate", later, {"step": 2})
        raise RuntimeError("paging failed after the next step was set")

    timers.register("step", advance_then_fail)
    await timers.start(paused=True)
    await timers.schedule("step", "incident:1:escalate", clock(), {"step": 1})
    assert await timers.run_due() == 1
    assert await timers.pending() == [Pending("incident:1:escalate", "step", later)]


async def test_timers_a_handler_schedules_before_now_run_in_the_same_call(
    make_timers: Callable[..., Timers], clock: FakeClock
) -> None:
    t0 = clock()
    timers = make_timers()
    fired: list[int] = []

    async def escalate(payload: dict[str, Any]) -> None:
        level = payload["level"]
        fired.append(level)
        if level < 3:
            at = t0 + timedelta(minutes=10 * level)
            await timers.schedule("escalate", "incident:1", at, {"level": level + 1})

    timers.register("escalate", escalate)
    await timers.start(paused=True)
    await timers.schedule("escalate", "incident:1", t0, {"level": 1})
    assert await timers.run_due(t0 + timedelta(minutes=15)) == 2
    assert fired == [1, 2]
    assert await timers.pending() == [Pending("incident:1", "escalate", t0 + timedelta(minutes=20))]


async def test_two_processes_running_due_timers_fire_each_once(
    make_timers: Callable[..., Timers], clock: FakeClock
) -> None:
    fired: Fired = []
    one, two = make_timers(), make_timers()
    for timers in (one, two):
        timers.register("escalate", recorder(fired, "escalate"))
        await timers.start(paused=True)
    for n in range(6):
        await one.schedule("escalate", f"k{n}", clock() + timedelta(seconds=n), {"n": n})
    now = clock() + timedelta(minutes=1)
    counts = await asyncio.gather(one.run_due(now), two.run_due(now))
    assert sum(counts) == 6
    assert sorted(p["n"] for _, p in fired) == list(range(6))


async def test_a_stale_read_on_another_replica_neither_reruns_nor_removes_the_next_timer(
    make_timers: Callable[..., Timers], clock: FakeClock
) -> None:
    """Replica two's loop read the timer due now; replica one claimed it first, and its
    handler re-scheduled the same key for later (the next escalation step). Two's late
    claim must fail and leave the new timer alone: once, and the next page still comes."""
    fired: Fired = []
    one, two = make_timers(), make_timers()
    for timers in (one, two):
        timers.register("escalate", recorder(fired, "escalate"))
        await timers.start(paused=True)
    await one.schedule("escalate", "incident:1:escalate", clock(), {"step": 1})
    [stale] = await two.rows.due(clock(), BATCH)  # two's loop reads
    assert await one.run_due(clock()) == 1
    later = clock() + timedelta(minutes=5)
    await one.schedule("escalate", "incident:1:escalate", later, {"step": 2})
    assert await two._claim_and_run(stale) is None  # what two's loop does with the row it read
    await asyncio.gather(*two._tasks)
    assert fired == [("escalate", {"step": 1})]
    assert [p.at for p in await one.pending()] == [later]
    assert await one.run_due(later) == 1
    assert fired[-1] == ("escalate", {"step": 2})


async def test_the_real_loop_fires_a_due_timer_and_removes_it(
    make_timers: Callable[..., Timers], caplog: pytest.LogCaptureFixture
) -> None:
    def real_now() -> datetime:
        return datetime.now(UTC)

    fired = asyncio.Event()
    got: list[dict[str, Any]] = []

    async def handle(payload: dict[str, Any]) -> None:
        got.append(payload)
        fired.set()

    timers = make_timers(real_now)
    timers.register("escalate", handle)
    await timers.start()
    await timers.schedule("escalate", "incident:3:l1", real_now(), {"incident": 3})
    await asyncio.wait_for(fired.wait(), 10)
    assert got == [{"incident": 3}]
    async with asyncio.timeout(10):  # its row goes once the handler has returned
        while await timers.pending():
            pass
    assert await timers.run_due(real_now()) == 0  # the loop claimed it: run_due finds nothing
    # Nothing went wrong in the loop's wake-up after the claim (asyncio logs such errors).
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_timer_overdue_while_stopped_fires_as_soon_as_the_loop_starts(
    make_timers: Callable[..., Timers],
) -> None:
    def real_now() -> datetime:
        return datetime.now(UTC)

    first = make_timers(real_now)
    first.register("escalate", recorder([], "escalate"))
    await first.start(paused=True)
    overdue = real_now() - timedelta(hours=1)  # due while "the process was down"
    await first.schedule("escalate", "incident:4:l2", overdue, {"incident": 4})
    await first.schedule("escalate", "incident:4:l3", real_now() + timedelta(hours=1), {})
    await first.stop()

    fired = asyncio.Event()
    got: list[dict[str, Any]] = []

    async def handle(payload: dict[str, Any]) -> None:
        got.append(payload)
        fired.set()

    second = make_timers(real_now)
    second.register("escalate", handle)
    await second.start()
    await asyncio.wait_for(fired.wait(), 10)
    assert got == [{"incident": 4}]
    async with asyncio.timeout(10):  # the fired one's row goes once its handler returned
        while len(await second.pending()) > 1:
            pass
    assert [p.key for p in await second.pending()] == ["incident:4:l3"]


async def test_misuse_is_refused(make_timers: Callable[..., Timers], clock: FakeClock) -> None:
    timers = make_timers()
    timers.register("escalate", recorder([], "escalate"))
    with pytest.raises(RuntimeError, match="start"):
        await timers.pending()
    with pytest.raises(ValueError, match="already registered"):
        timers.register("escalate", recorder([], "escalate"))
    await timers.start(paused=True)
    with pytest.raises(RuntimeError, match=r"before Timers\.start"):
        timers.register("late", recorder([], "late"))
    at = clock()
    with pytest.raises(ValueError, match="no handler"):
        await timers.schedule("page", "k", at, {})
    with pytest.raises(ValueError, match="aware"):
        await timers.schedule("escalate", "k", at.replace(tzinfo=None), {})
    with pytest.raises(ValueError, match="plain JSON"):
        await timers.schedule("escalate", "k", at, {"levels": (1, 2)})
    with pytest.raises(ValueError, match="plain JSON"):
        await timers.schedule("escalate", "k", at, {1: "x"})
    with pytest.raises(ValueError, match="191"):
        await timers.schedule("escalate", "k" * 192, at, {})
    assert await timers.pending() == []


async def test_a_timer_claimed_by_a_process_killed_mid_run_runs_again_after_its_lease(
    make_timers: Callable[..., Timers], clock: FakeClock
) -> None:
    """kill -9 between a timer's claim and the end of its handler (the escalation step not
    yet paged): the claim is a lease, so the next process runs it once the lease is over.
    (The claim used to delete the row: such a step was never paged.)"""
    dying = make_timers()
    dying.register("escalate", recorder([], "escalate"))
    await dying.start(paused=True)
    t0 = clock()
    await dying.schedule("escalate", "incident:7:escalate", t0, {"incident": 7})
    [job] = await dying.rows.due(t0, BATCH)
    assert (
        await dying.rows.claim(job, t0 + LEASE) is not None
    )  # claimed; its handler never ran (the kill)

    fired: Fired = []
    survivor = make_timers()
    survivor.register("escalate", recorder(fired, "escalate"))
    await survivor.start(paused=True)
    clock.advance(seconds=29)
    assert await survivor.run_due() == 0  # leased: not run twice while the first may run it
    clock.advance(seconds=1)
    assert await survivor.run_due() == 1
    assert fired == [("escalate", {"incident": 7})]
    assert await survivor.pending() == []


async def test_the_loop_sleeps_until_the_next_due_time_not_the_next_poll(
    database_url: str, db: Database
) -> None:
    """With a poll of an hour, a timer due in a moment still fires in a moment."""
    fired = asyncio.Event()

    async def handle(payload: dict[str, Any]) -> None:
        fired.set()

    timers = Timers(db, clock=lambda: datetime.now(UTC), poll=timedelta(hours=1))
    timers.register("escalate", handle)
    await timers.start()
    try:
        await timers.schedule("escalate", "soon", datetime.now(UTC) + timedelta(seconds=0.2), {})
        await asyncio.wait_for(fired.wait(), 10)
    finally:
        await timers.stop()


async def test_a_wakeup_makes_the_loop_read_a_timer_another_process_wrote(
    database_url: str, db: Database
) -> None:
    """Another process's commit wakes nobody here by itself (``bot.store.wakeups`` relays its
    NOTIFY to :meth:`Timers.wake`): with a poll of an hour, the wake-up is what runs it."""
    fired = asyncio.Event()

    async def handle(payload: dict[str, Any]) -> None:
        fired.set()

    def now() -> datetime:
        return datetime.now(UTC)

    other_db = Database(database_url)
    other = Timers(other_db, clock=now)
    other.register("escalate", handle)
    timers = Timers(db, clock=now, poll=timedelta(hours=1))
    timers.register("escalate", handle)
    await other.start(paused=True)
    await timers.start()
    try:
        async with asyncio.timeout(10):  # the loop's first look: nothing yet; it sleeps
            while timers.looks == 0:
                await timers.pending()
        await other.schedule("escalate", "elsewhere", now(), {})
        timers.wake()
        await asyncio.wait_for(fired.wait(), 10)
    finally:
        await timers.stop()
        await other.stop()
        await other_db.dispose()
