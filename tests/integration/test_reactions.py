"""Follow-ups of a committed change are written with it and run until they succeed.

The follower here is a test's own listener, subscribed through the same public
``Notifier.follow`` the pager uses; it fails the way a real one did (the database said
"database is locked"), and the test watches what the bot does about it with its injected
clock: nothing is dropped, the retry waits 1 s then 2 s, the failure is in ``/metrics``,
and a retry sees the incident as it is now, not as it was.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.incidents.reactions import reactor as reactor_module
from bot.incidents.reactions.changes import Change
from bot.incidents.reactions.reactor import LEASE
from bot.incidents.reactions.tables import Reaction
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.support import FakeClock


class Killed(BaseException):
    """Not an Exception: nothing in the bot catches it, as nothing survives a SIGKILL."""


async def rows(vigil: Vigil, follower: str) -> list[Reaction]:
    """The follow-ups still owed by ``follower`` (the bot's own followers have theirs)."""
    async with vigil.db.read() as s, s.begin():
        stmt = select(Reaction).where(Reaction.follower == follower)
        return list((await s.exec(stmt)).all())


async def test_a_failing_follow_up_is_kept_retried_with_backoff_and_sees_the_incident_as_it_is(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    vigil = await make_vigil()
    heard: list[tuple[str, str]] = []
    failures = 2

    async def flaky(change: Change) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise RuntimeError("database is locked")
        heard.append((change.kind, change.incident.state))

    vigil.notifier.follow("flaky", flaky, wants=lambda c: c.kind == "opened")
    view = await vigil.incidents.open(title="payments is down", actor="@maya", severity="P1")

    [row] = await rows(vigil, "flaky")  # committed with the incident, not lost with the failure
    assert (row.follower, row.incident_id, row.attempts) == ("flaky", view.id, 1)
    assert row.last_error == "RuntimeError"  # the class only: messages may carry input
    assert row.due_at == clock() + timedelta(seconds=1)
    metrics = vigil.metrics.render().decode()
    assert 'vigil_reaction_failures_total{listener="flaky"} 1.0' in metrics

    assert await vigil.reactor.run_due() == 0  # not before its time
    await vigil.incidents.acknowledge(view.id, actor="@maya")
    clock.advance(seconds=1)
    assert await vigil.reactor.run_due() == 1  # fails again: waits 2 s now
    [row] = await rows(vigil, "flaky")
    assert (row.attempts, row.due_at) == (2, clock() + timedelta(seconds=2))

    clock.advance(seconds=2)
    assert await vigil.reactor.run_due() == 1
    assert heard == [("opened", "acknowledged")]  # read afresh: acknowledged meanwhile
    assert await rows(vigil, "flaky") == []
    assert await vigil.reactor.pending() == 0


async def test_a_follow_up_claimed_by_a_process_that_died_runs_once_its_lease_is_over(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    """Two replicas on one database: the first claims the row and dies before finishing;
    the other leaves it alone for the lease, then runs it once."""
    first, other = await make_vigil(), await make_vigil()
    heard: list[str] = []

    async def dies(change: Change) -> None:
        raise Killed  # stands for SIGKILL: nothing after this line runs

    async def works(change: Change) -> None:
        heard.append(change.text)

    first.notifier.follow("escalate", dies, wants=lambda c: c.kind == "opened")
    other.notifier.follow("escalate", works, wants=lambda c: c.kind == "opened")
    with pytest.raises(Killed):
        await first.incidents.open(title="GPU memory at 99%", actor="@maya", severity="P2")
    [row] = await rows(other, "escalate")
    assert row.due_at == clock() + LEASE  # claimed, in flight
    assert await other.reactor.run_due() == 0
    clock.advance(seconds=LEASE.total_seconds())
    await other.reactor.run_due()  # the escalation, and the first's other follow-ups
    assert await other.reactor.run_due() == 0
    assert heard == ["Opened by @maya"]
    assert await rows(other, "escalate") == []


async def test_the_worker_starts_an_incident_with_a_page_to_send_before_older_chores(
    make_vigil: MakeVigil, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A storm: many incidents' follow-ups are due and the worker has one free slot. The
    incident with a page to send goes first, though its rows are the newest."""
    vigil = await make_vigil()
    vigil.reactor.inline = False  # as under vigil serve: the worker runs them
    vigil.reactor.urgent = frozenset({"page-now"})
    monkeypatch.setattr(reactor_module, "PARALLEL", 1)
    heard: list[tuple[str, int]] = []
    first = asyncio.Event()

    async def chores(change: Change) -> None:
        heard.append(("chores", change.incident.id))
        first.set()

    async def page_now(change: Change) -> None:
        heard.append(("page-now", change.incident.id))
        first.set()

    vigil.notifier.follow("chores", chores, wants=lambda c: c.kind == "opened")
    vigil.notifier.follow(
        "page-now", page_now, wants=lambda c: c.kind == "opened" and c.incident.severity == "P1"
    )
    for title in ("disk at 80%", "queue lag", "slow search"):
        await vigil.incidents.open(title=title, actor="@maya", severity="P3")
    urgent = await vigil.incidents.open(title="payments down", actor="@maya", severity="P1")
    assert vigil.reactor.paging() is False  # nothing looked yet
    stop = asyncio.Event()
    worker = asyncio.create_task(vigil.reactor.loop(stop))
    try:
        await asyncio.wait_for(first.wait(), 10)
        assert heard[0][1] == urgent.id  # its chores run first, in its own order, then its page
    finally:
        stop.set()
        await asyncio.wait_for(worker, 10)


async def test_a_page_delivery_waiting_on_the_far_end_does_not_hold_the_worker(
    make_vigil: MakeVigil,
) -> None:
    """Under the worker, a row written leased (a page through notify:) runs apart: the
    pager's slot is free for the next incident while the webhook takes its time, and the
    row is done once the far end answers."""
    vigil = await make_vigil()
    vigil.reactor.inline = False
    answered, started = asyncio.Event(), asyncio.Event()

    async def slow_webhook(data: dict[str, object]) -> None:
        started.set()
        await answered.wait()

    vigil.reactor.register("slow-webhook", slow_webhook)
    view = await vigil.incidents.open(title="payments down", actor="@maya", severity="P1")
    async with vigil.db.session() as s, s.begin():
        row = vigil.reactor.add(s, "slow-webhook", view.id, {}, leased=True)
    await asyncio.wait_for(vigil.reactor.run_leased([row]), 5)  # returns: nothing waits on it
    await asyncio.wait_for(started.wait(), 5)
    assert [r.id for r in await rows(vigil, "slow-webhook")] == [row.id]  # in flight, kept
    committed = asyncio.Event()
    vigil.db.on_after_commit(lambda _session: committed.set())
    answered.set()
    await asyncio.wait_for(committed.wait(), 5)  # the delivery ended: its row's delete
    assert await rows(vigil, "slow-webhook") == []
