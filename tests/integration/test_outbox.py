"""The outbox on SQLite and PostgreSQL: written with the change, sent once, in order.

Real incidents make the timeline events (``IncidentService``); a fake deliverer stands in for
Slack and records what "arrived". Time is a FakeClock moved by the test, and the worker is
driven with ``run_once``, so nothing sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.core.errors import TransitionError
from bot.core.retry_outcome import Delivered, GiveUp, Outcome, Retry
from bot.incidents import store
from bot.incidents.service import IncidentService
from bot.outbox.feed import install_feed
from bot.outbox.retry import classify_slack_error
from bot.outbox.tables import OutboxRow
from bot.outbox.worker import OutboxItem, OutboxWorker
from bot.store.db import Database
from bot.store.tables import TimelineEvent
from tests.support import FakeClock

S = timedelta(seconds=1)


class Crash(BaseException):
    """The process dying mid-delivery: not an Exception, so the worker cannot handle it."""


@dataclass
class FakeSlack:
    """Records every attempt; ``script`` decides outcomes by message text (default Delivered)."""

    script: Callable[[OutboxItem, int], Outcome] = lambda _item, _n: Delivered()
    attempts: list[tuple[int, str]] = field(default_factory=list)
    arrived: list[tuple[int | None, str]] = field(default_factory=list)
    on_arrival: Callable[[], None] | None = None

    async def deliver(self, item: OutboxItem) -> Outcome:
        self.attempts.append((item.id, item.payload["text"]))
        outcome = self.script(item, len(self.attempts))
        if isinstance(outcome, Delivered):
            self.arrived.append((item.incident_id, item.payload["text"]))
            if self.on_arrival is not None:
                self.on_arrival()
        return outcome


class SlowSlack(FakeSlack):
    """Hands the event loop to the other worker while "on the wire", as a real call would."""

    async def deliver(self, item: OutboxItem) -> Outcome:
        for _ in range(5):
            await asyncio.sleep(0)  # a yield, not a wait: no timing involved
        return await super().deliver(item)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.migrate()
    install_feed(database)
    yield database
    await database.dispose()


@pytest.fixture
def incidents(db: Database, clock: FakeClock) -> IncidentService:
    return IncidentService(db, clock=clock)


async def rows(db: Database) -> list[OutboxRow]:
    async with db.session() as s, s.begin():
        return list((await s.exec(select(OutboxRow).order_by(col(OutboxRow.id)))).all())


async def timeline(db: Database) -> list[TimelineEvent]:
    async with db.session() as s, s.begin():
        stmt = select(TimelineEvent).order_by(col(TimelineEvent.id))
        return list((await s.exec(stmt)).all())


async def sent_so_far(db: Database) -> list[tuple[int | None, str]]:
    """What the chat should have once everything is sent: (incident, text) per event."""
    return [(e.incident_id, e.text) for e in await timeline(db)]


def by_incident(messages: list[tuple[int | None, str]]) -> dict[int | None, list[str]]:
    """Order matters within an incident only; equal results also mean nothing is missing
    and nothing came twice."""
    queues: dict[int | None, list[str]] = {}
    for incident_id, text in messages:
        queues.setdefault(incident_id, []).append(text)
    return queues


async def two_incidents(
    incidents: IncidentService, clock: FakeClock
) -> list[tuple[int | None, str]]:
    """Interleaved events of incidents 1 and 2, as (incident, text) in commit order."""
    await incidents.open(title="Disk full", actor="@alice", severity="P2")
    clock.advance(seconds=1)
    await incidents.open(title="GPU hot", actor="@bob", severity="P3")
    clock.advance(seconds=1)
    await incidents.note(1, "first note on 1", actor="@alice")
    await incidents.note(2, "first note on 2", actor="@bob")
    await incidents.acknowledge(1, actor="@alice")
    return await sent_so_far(incidents._db)


async def test_each_timeline_event_becomes_an_outbox_row_in_its_transaction(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    await incidents.open(title="Disk full", actor="@alice", severity="P2")
    await incidents.acknowledge(1, actor="@alice")
    events, outbox = await timeline(db), await rows(db)
    assert len(events) == 3
    assert [r.payload for r in outbox] == [
        {
            "incident_id": 1,
            "kind": e.kind,
            "actor": e.actor,
            "text": e.text,
            "data": e.data,
            "at": clock.now.isoformat(),
        }
        for e in events
    ]
    assert {(r.incident_id, r.kind, r.attempts, r.sent_at, r.given_up_at) for r in outbox} == {
        (1, "timeline", 0, None, None)
    }
    assert {(r.created_at, r.next_attempt_at) for r in outbox} == {(clock.now, clock.now)}

    with pytest.raises(TransitionError):  # acknowledged → acknowledged is refused
        await incidents.acknowledge(1, actor="@bob")
    assert len(await rows(db)) == 3


async def test_a_rolled_back_transaction_leaves_no_outbox_row(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    await incidents.open(title="Disk full", actor="@alice")
    seen: list[int] = []

    async def note_then_fail() -> None:
        async with db.session() as s, s.begin():
            row = await store.get_incident(session=s, incident_id=1)
            store.add_event(
                session=s, incident=row, at=clock.now, kind="note", actor="@a", text="x"
            )
            await s.flush()
            seen.append(len((await s.exec(select(OutboxRow))).all()))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await note_then_fail()
    assert seen == [3]  # flushed: the outbox row existed inside the transaction...
    # ...and went away with it.
    assert [r.payload["text"] for r in await rows(db)] == [e.text for e in await timeline(db)]
    assert len(await rows(db)) == 2


async def test_without_the_feed_nothing_is_written(database_url: str, clock: FakeClock) -> None:
    console = Database(database_url)
    try:
        await console.migrate()
        await IncidentService(console, clock=clock).open(title="Disk full", actor="@alice")
        assert len(await timeline(console)) == 2
        assert await rows(console) == []
        assert await OutboxWorker(console, FakeSlack(), clock=clock).pending() == 0
    finally:
        await console.dispose()


async def test_messages_arrive_once_in_order(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    texts = await two_incidents(incidents, clock)
    slack = FakeSlack()
    worker = OutboxWorker(db, slack, clock=clock)
    assert await worker.pending() == len(texts) == 7
    assert await worker.run_once() == 7
    assert by_incident(slack.arrived) == by_incident(texts)
    assert await worker.pending() == 0
    assert await worker.run_once() == 0
    assert len(slack.arrived) == 7
    assert {(r.sent_at, r.attempts, r.last_error) for r in await rows(db)} == {(clock.now, 1, None)}


async def test_a_slack_outage_delays_but_loses_and_duplicates_nothing(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    texts = await two_incidents(incidents, clock)
    down_for = 6  # the first six attempts fail, as during an outage

    def outage(item: OutboxItem, n: int) -> Outcome:
        if n <= down_for:
            return classify_slack_error(
                status=503 if n % 2 else None, error=None, retry_after=None, attempts=item.attempts
            )
        return Delivered()

    slack = FakeSlack(outage)
    worker = OutboxWorker(db, slack, clock=clock)
    for _ in range(20):
        await worker.run_once()
        clock.advance(seconds=30)
    assert by_incident(slack.arrived) == by_incident(texts)
    assert len(slack.attempts) == len(texts) + down_for
    assert await worker.pending() == 0


async def test_a_failing_message_holds_back_its_incident_only(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    texts = await two_incidents(incidents, clock)
    stuck = texts[0][1]  # incident 1's first message
    slack = FakeSlack(
        lambda i, _n: Retry("HTTP 503", 60 * S) if i.payload["text"] == stuck else Delivered()
    )
    worker = OutboxWorker(db, slack, clock=clock)
    await worker.run_once()
    assert slack.arrived == [m for m in texts if m[0] == 2]
    first = (await rows(db))[0]
    assert (first.attempts, first.last_error) == (1, "HTTP 503")
    assert first.next_attempt_at == clock.now + 60 * S

    slack.script = lambda _i, _n: Delivered()
    assert await worker.run_once(clock.now + 59 * S) == 0
    assert await worker.run_once(clock.now + 60 * S) == 4
    assert slack.arrived[3:] == [m for m in texts if m[0] == 1]


async def test_retry_after_from_a_429_is_honoured(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    await incidents.open(title="Disk full", actor="@alice")
    limited = classify_slack_error(status=429, error="ratelimited", retry_after="30", attempts=1)
    slack = FakeSlack(lambda _i, n: limited if n == 1 else Delivered())
    worker = OutboxWorker(db, slack, clock=clock)
    assert await worker.run_once() == 1
    clock.advance(seconds=29)
    assert await worker.run_once() == 0
    assert len(slack.attempts) == 1
    clock.advance(seconds=1)
    assert await worker.run_once() == 2
    assert slack.arrived == await sent_so_far(db)


async def test_a_message_given_up_does_not_block_the_next(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    await incidents.open(title="Disk full", actor="@alice")
    refused = classify_slack_error(status=200, error="msg_too_long", retry_after=None, attempts=1)
    slack = FakeSlack(lambda _i, n: refused if n == 1 else Delivered())
    worker = OutboxWorker(db, slack, clock=clock)
    assert await worker.run_once() == 2
    first, second = await rows(db)
    assert (first.given_up_at, first.sent_at, first.last_error) == (
        clock.now,
        None,
        "Slack error msg_too_long: the request cannot succeed as it is",
    )
    assert second.sent_at == clock.now
    assert await worker.pending() == 0


async def test_after_a_day_of_failures_a_message_is_given_up(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    await incidents.open(title="Disk full", actor="@alice")
    clock.advance(minutes=30)
    await incidents.note(1, "half an hour later", actor="@alice")
    slack = FakeSlack(lambda _i, _n: Retry("HTTP 502", S))
    worker = OutboxWorker(db, slack, clock=clock, max_age=timedelta(hours=1))
    await worker.run_once(clock.now - timedelta(minutes=30))
    clock.advance(minutes=30)  # the first two messages are an hour old now
    await worker.run_once()
    first, second, third = await rows(db)
    assert (first.given_up_at, second.given_up_at) == (clock.now, clock.now)
    assert first.last_error == "still failing after 1 h, giving up: HTTP 502"
    assert (third.given_up_at, third.last_error) == (None, "HTTP 502")  # younger: it goes on
    assert [row_id for row_id, _ in slack.attempts] == [1, 1, 2, 3]
    assert await worker.pending() == 1


async def test_a_deliverer_that_raises_is_retried_with_backoff(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    await incidents.open(title="Disk full", actor="@alice")

    def broken(_item: OutboxItem, n: int) -> Outcome:
        if n <= 2:
            raise ValueError("secret-token-xoxb in a message")
        return Delivered()

    slack = FakeSlack(broken)
    worker = OutboxWorker(db, slack, clock=clock)
    await worker.run_once()
    first = (await rows(db))[0]
    assert (first.attempts, first.last_error) == (1, "deliverer raised ValueError")
    assert first.next_attempt_at == clock.now + S
    await worker.run_once(clock.advance(seconds=1))
    assert (await rows(db))[0].next_attempt_at == clock.now + 2 * S  # second failure: 2 s
    await worker.run_once(clock.advance(seconds=2))
    assert slack.arrived == await sent_so_far(db)


async def test_a_restarted_worker_goes_on_where_the_old_one_stopped(
    db: Database, incidents: IncidentService, clock: FakeClock, database_url: str
) -> None:
    texts = await two_incidents(incidents, clock)
    slack = FakeSlack(lambda i, _n: Retry("HTTP 500", S) if i.incident_id == 1 else Delivered())
    await OutboxWorker(db, slack, clock=clock).run_once()
    await db.dispose()  # the bot stops with incident 1's messages unsent

    clock.advance(minutes=5)
    again = Database(database_url)
    try:
        slack.script = lambda _i, _n: Delivered()
        await OutboxWorker(again, slack, clock=clock).run_once()
        assert by_incident(slack.arrived) == by_incident(texts)
        assert slack.arrived[:3] == [m for m in texts if m[0] == 2]  # before the restart
    finally:
        await again.dispose()


async def test_a_crash_between_send_and_mark_resends_only_after_the_lease(
    db: Database, incidents: IncidentService, clock: FakeClock, database_url: str
) -> None:
    await incidents.open(title="Disk full", actor="@alice")

    def crash_once(_item: OutboxItem, n: int) -> Outcome:
        if n == 1:
            raise Crash
        return Delivered()

    slack = FakeSlack(crash_once)
    with pytest.raises(Crash):
        await OutboxWorker(db, slack, clock=clock, lease=timedelta(minutes=2)).run_once()
    await db.dispose()

    again = Database(database_url)
    try:
        worker = OutboxWorker(again, slack, clock=clock)
        assert await worker.run_once(clock.now + timedelta(minutes=2) - S) == 0  # still leased
        assert await worker.run_once(clock.now + timedelta(minutes=2)) == 2
        first, second = (e.text for e in await timeline(again))
        assert slack.attempts == [(1, first), (1, first), (2, second)]
        assert [r.attempts for r in await rows(again)] == [2, 1]
    finally:
        await again.dispose()


async def test_a_slow_delivery_renews_its_lease_so_no_other_worker_sends_it(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    """The lease is short (a dead worker's row waits little) and renewed while a delivery
    is in flight, so a slow Slack is never claimed twice."""
    await incidents.open(title="Disk full", actor="@alice")
    on_wire, answered = asyncio.Event(), asyncio.Event()

    class HeldSlack(FakeSlack):
        async def deliver(self, item: OutboxItem) -> Outcome:
            on_wire.set()
            await answered.wait()  # Slack is slow to answer
            return await super().deliver(item)

    lease = timedelta(milliseconds=300)  # renewed every 100 ms (a third of it)
    slow, other = HeldSlack(), FakeSlack()
    worker = OutboxWorker(db, slow, clock=clock, lease=lease)
    sending = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(on_wire.wait(), 5)
    clock.advance(seconds=1)  # the first lease is over: only a renewal keeps the row
    worker.renewed.clear()
    await asyncio.wait_for(worker.renewed.wait(), 5)  # the next renewal, on the new clock
    assert (await rows(db))[0].next_attempt_at > clock()
    assert await OutboxWorker(db, other, clock=clock, lease=lease).run_once() == 0
    answered.set()
    await sending
    assert other.attempts == []
    assert [r.attempts for r in await rows(db)] == [1] * len(await rows(db))


async def test_two_workers_at_once_never_send_a_row_twice(
    db: Database, incidents: IncidentService, clock: FakeClock, database_url: str
) -> None:
    for n in range(4):
        await incidents.open(title=f"Incident {n}", actor="@alice")
        await incidents.note(n + 1, f"note on {n + 1}", actor="@alice")
    texts = await sent_so_far(db)
    other = Database(database_url)  # a second process on the same database
    try:
        slack = SlowSlack()
        done = await asyncio.gather(
            OutboxWorker(db, slack, clock=clock).run_once(),
            OutboxWorker(other, slack, clock=clock).run_once(),
        )
    finally:
        await other.dispose()
    assert by_incident(slack.arrived) == by_incident(texts)
    assert len(slack.attempts) == len(texts) == sum(done)
    assert len({row_id for row_id, _ in slack.attempts}) == len(texts)


async def test_messages_without_an_incident_form_their_own_queue(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    async with db.session() as s, s.begin():
        for text in ("digest 1", "digest 2"):
            s.add(
                OutboxRow(
                    kind="digest",
                    payload={"text": text},
                    created_at=clock.now,
                    next_attempt_at=clock.now,
                )
            )
    await incidents.open(title="Disk full", actor="@alice")
    slack = FakeSlack(
        lambda i, _n: Retry("HTTP 500", S) if i.payload["text"] == "digest 1" else Delivered()
    )
    worker = OutboxWorker(db, slack, clock=clock)
    await worker.run_once()
    assert slack.arrived == await sent_so_far(db)  # digest 2 waits for digest 1
    slack.script = lambda i, _n: GiveUp("no") if i.payload["text"] == "digest 1" else Delivered()
    await worker.run_once(clock.advance(seconds=1))
    assert slack.arrived[-1] == (None, "digest 2")
    assert await worker.pending() == 0


async def test_the_run_loop_sends_when_woken_by_a_commit(
    database_url: str, clock: FakeClock
) -> None:
    db = Database(database_url)
    await db.migrate()
    arrived = asyncio.Event()
    slack = FakeSlack(on_arrival=lambda: arrived.set() if len(slack.arrived) == 2 else None)
    worker = OutboxWorker(db, slack, clock=clock, poll=timedelta(hours=1))
    install_feed(db, on_commit=worker.wake)
    stop = asyncio.Event()
    loop = asyncio.create_task(worker.run(stop))
    try:
        await IncidentService(db, clock=clock).open(title="Disk full", actor="@alice")
        await asyncio.wait_for(arrived.wait(), timeout=30)  # only a wake-up can get it there
        assert slack.arrived == await sent_so_far(db)
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=30)
        await db.dispose()


async def entry(
    db: Database, incident_id: int, clock: FakeClock, kind: str, text: str, **data: str
) -> None:
    """One timeline entry in its own transaction, as a batch of alerts or the pager writes."""
    async with db.session() as s, s.begin():
        incident = await store.get_incident(session=s, incident_id=incident_id, for_update=True)
        actor = "alertmanager" if kind == "alert" else "vigil"
        store.add_event(
            session=s, incident=incident, at=clock.now, kind=kind, actor=actor, text=text, data=data
        )


async def alert_line(db: Database, incident_id: int, text: str, clock: FakeClock) -> None:
    await entry(db, incident_id, clock, "alert", text)


async def page_entry(db: Database, incident_id: int, clock: FakeClock) -> None:
    """The "Paged" entry the pager writes (its outbox rows: the DM, the thread line)."""
    text = "Paged @oncall (level 1, round 1) via slack"
    await entry(db, incident_id, clock, "page", text, target="@oncall")


async def test_alert_lines_waiting_to_go_out_go_as_one_message(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    """A storm writes alert lines faster than Slack takes them: the lines that pile up
    behind one another leave as one reply, in order, each exactly once."""
    await incidents.open(title="Payments down", actor="@alice", severity="P1")
    for n in range(1, 4):
        await alert_line(db, 1, f"Firing: 10 alerts: batch {n}", clock)
    await incidents.note(1, "looking", actor="@alice")
    await alert_line(db, 1, "Firing: 10 alerts: batch 4", clock)

    assert [r.payload["text"] for r in await rows(db)][2:] == [  # after "opened", "P1: …"
        "Firing: 10 alerts: batch 1\nFiring: 10 alerts: batch 2\nFiring: 10 alerts: batch 3",
        "looking",  # a note is not an alert line: it neither joins nor is joined
        "Firing: 10 alerts: batch 4",
    ]
    slack = FakeSlack()
    assert await OutboxWorker(db, slack, clock=clock).run_once() == 5
    arrived = [text for _, text in slack.arrived]
    assert "\n".join(arrived).count("batch") == 4  # every line once
    assert arrived[2].splitlines() == [f"Firing: 10 alerts: batch {n}" for n in (1, 2, 3)]


async def test_a_line_never_joins_a_message_already_claimed_or_sent(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    await incidents.open(title="Payments down", actor="@alice", severity="P1")
    await alert_line(db, 1, "Firing: first", clock)

    async def meanwhile() -> None:  # written while "Firing: first" is on the wire
        await alert_line(db, 1, "Firing: second", clock)

    written: list[asyncio.Task[None]] = []

    def script(item: OutboxItem, _n: int) -> Outcome:
        if item.payload["text"] == "Firing: first":
            written.append(asyncio.ensure_future(meanwhile()))
        return Delivered()

    slack = SlowSlack(script=script)
    worker = OutboxWorker(db, slack, clock=clock)
    await worker.run_once()
    await asyncio.gather(*written)
    await alert_line(db, 1, "Firing: third", clock)
    await worker.run_once()
    assert [text for _, text in slack.arrived][2:] == [
        "Firing: first",
        "Firing: second",  # written while "first" was claimed: a message of its own
        "Firing: third",  # written after "second" was sent
    ]


async def test_a_page_dm_goes_out_while_the_thread_is_held_back(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    """A page's DM is a queue of its own: the incident's thread failing (or lagging behind
    a storm's replies) never holds back the DM that wakes someone."""
    await incidents.open(title="Payments down", actor="@alice", severity="P1")
    await page_entry(db, 1, clock)
    kinds = [(r.kind, r.payload["kind"]) for r in await rows(db)]
    assert kinds[-2:] == [("page", "page"), ("timeline", "page")]  # the DM, then the thread line

    slack = FakeSlack(lambda i, _n: Delivered() if i.kind == "page" else Retry("HTTP 503", 60 * S))
    await OutboxWorker(db, slack, clock=clock).run_once()
    assert slack.arrived == [(1, "Paged @oncall (level 1, round 1) via slack")]
    [dm] = [r for r in await rows(db) if r.kind == "page"]
    assert dm.sent_at == clock.now


async def test_while_alerts_pour_in_the_thread_waits_and_page_dms_do_not(
    db: Database, incidents: IncidentService, clock: FakeClock
) -> None:
    """Intake first: while the ingestor is busy, thread messages wait (and join into fewer
    replies); a page's DM goes out all the same, and the thread follows once intake is idle."""
    await incidents.open(title="Payments down", actor="@alice", severity="P1")
    await page_entry(db, 1, clock)
    slack = FakeSlack()
    worker = OutboxWorker(db, slack, clock=clock)
    storming = True
    worker.hold = lambda: storming
    assert await worker.run_once() == 1
    assert slack.arrived == [(1, "Paged @oncall (level 1, round 1) via slack")]
    assert await worker.pending() == 3  # opened, severity, "Paged" in the thread: held

    storming = False
    assert await worker.run_once() == 3
    assert [text for _, text in slack.arrived][1:] == [e for _, e in (await sent_so_far(db))]
