"""Retrying a notification chain later, as the on-call team meets it: PagerDuty throttles the
page, the timeline says nobody was reached and when the next try is, the retry gets through
once; an ack before the retry drops the page; an acknowledgement is retried anyway; a
restart keeps the waiting retry; spent attempts end with a line saying who to call.

The real PagerDuty channel talks to the local stand-in (``tests.pagerduty_standin``) and the
e-mail channel to a real SMTP server. Time is the FakeClock; the retrier gets its own durable
Timers (same database, its own table, started paused, as ``test_sla_watch`` does: the app's
own is started before a test could register a handler, and Timers refuses handlers after
start) and is driven with ``run_due``. The fallback's in-line waits go to a recorder, so
nothing sleeps.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config.load import Settings
from bot.core.retry_outcome import GiveUp, Retry
from bot.core.secret import Secret
from bot.incidents.views import EventView
from bot.notify.base import Channel, Notification
from bot.notify.email import EmailChannel
from bot.notify.pagerduty.events import PagerDutyChannel
from bot.notify.retry import TIMER_KIND, NotifyRetrier
from bot.runtime.app import Vigil
from bot.store.timers import Timers
from tests.pagerduty_standin import ROUTING_KEY, PagerDutyStandin
from tests.smtp_standin import SmtpServer
from tests.support import FakeClock

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # the FakeClock's start
TEXT = (
    "🔴 P1 fraud-scorer accuracy below SLA — you are paged (level 1). Acknowledge: /incident ack"
    "\nWhy: estimated accuracy 0.71 < SLA 0.90 for 15 min"
)
THROTTLED = "PagerDuty could not take the page (rate limited by PagerDuty (HTTP 429))"


class Sleeps:
    """The fallback's in-line waits, recorded instead of slept."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclasses.dataclass
class Rig:
    """One running Vigil and a NotifyRetrier over the PagerDuty stand-in (and any others)."""

    vigil: Vigil
    timers: Timers
    retrier: NotifyRetrier
    pagerduty: PagerDutyChannel
    clock: FakeClock
    sleeps: Sleeps
    closed: bool = False

    async def run(self) -> int:
        return await self.timers.run_due(self.clock())

    async def at(self, when: datetime) -> int:
        self.clock.now = when
        return await self.run()

    async def entries(self, incident_id: int) -> list[EventView]:
        view = await self.vigil.incidents.get(incident_id)
        return [e for e in view.timeline if e.kind == "notify"]

    async def lines(self, incident_id: int) -> list[str]:
        return [e.text for e in await self.entries(incident_id)]

    async def pending(self) -> list[tuple[str, str, datetime]]:
        return [(p.key, p.kind, p.at) for p in await self.timers.pending()]

    async def incident(self, title: str = "fraud-scorer accuracy below SLA") -> int:
        view = await self.vigil.incidents.open(
            title=title, actor="@oncall", severity="P1", service="fraud-scorer"
        )
        return view.id

    async def page(self, incident_id: int, target: str = "@maya") -> Notification:
        view = await self.vigil.incidents.get(incident_id)
        return self.retrier.notification(view, target, TEXT)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.timers.stop()
            await self.vigil.close()  # closes only the app's own channels
            await self.pagerduty.aclose()


MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def pd() -> AsyncIterator[PagerDutyStandin]:
    async with PagerDutyStandin() as standin:
        yield standin


@pytest.fixture
async def make_rig(
    settings: Settings, clock: FakeClock, pd: PagerDutyStandin
) -> AsyncIterator[MakeRig]:
    """A Vigil on the test database plus a retrier on its own Timers; calling it again after
    ``close()`` is a restart: a new process on the same database."""
    rigs: list[Rig] = []

    async def make(*, more: Sequence[Channel] = (), pagerduty: bool = True) -> Rig:
        vigil = await Vigil.create(settings, clock=clock, drive_timers=False)
        timers = Timers(vigil.db, clock=clock, tablename="test_notify_timers")
        channel = PagerDutyChannel(routing_key=Secret(ROUTING_KEY), url=pd.url, timeout=5)
        channels = [channel, *more] if pagerduty else list(more)
        sleeps = Sleeps()
        retrier = NotifyRetrier(vigil.incidents, timers, channels, clock=clock, sleep=sleeps)
        await timers.start(paused=True)
        rig = Rig(vigil, timers, retrier, channel, clock, sleeps)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        await rig.close()


@pytest.fixture
async def rig(make_rig: MakeRig) -> Rig:
    return await make_rig()


async def test_a_throttled_page_is_retried_when_pagerduty_said_and_delivered_once(
    rig: Rig, pd: PagerDutyStandin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    n = await rig.incident()
    page = await rig.page(n)
    pd.fail_next(1, 429, retry_after=30)

    result = await rig.retrier.send(page)

    assert result.outcome == Retry(
        "no channel took it: PagerDuty: rate limited by PagerDuty (HTTP 429)",
        timedelta(seconds=30),
    )
    assert await rig.lines(n) == [
        f"{THROTTLED}; no channel left: @maya was not paged",
        "Will try the page to @maya again at 02:00:30Z, PagerDuty first (attempt 2 of 6)",
    ]
    assert rig.sleeps.waits == []  # 30 s is too long to wait in line: no in-line retry
    key = f"incident:{n}:notify:@maya:page"
    assert await rig.pending() == [(key, TIMER_KIND, T0 + timedelta(seconds=30))]

    assert await rig.at(T0 + timedelta(seconds=29)) == 0
    assert len(pd.events) == 1
    assert await rig.at(T0 + timedelta(seconds=30)) == 1
    (trigger,) = pd.accepted("trigger")
    assert trigger.body is not None
    assert trigger.body["dedup_key"] == f"vigil:{n}"
    assert trigger.body["payload"]["custom_details"]["text"] == TEXT
    entries = await rig.entries(n)
    assert entries[-1].text == "Paged @maya via PagerDuty (attempt 2 of 6)"
    assert entries[-1].data == {"target": "@maya", "channel": "pagerduty", "attempt": 2}
    assert entries[0].data == {"target": "@maya", "channel": ""}  # as the pager wrote them

    assert await rig.run() == 0  # run_due again: the timer is gone, no second page
    assert await rig.at(T0 + timedelta(hours=2)) == 0
    assert len(pd.accepted()) == 1
    assert await rig.pending() == []
    for text in [r.getMessage() for r in caplog.records] + await rig.lines(n):
        assert ROUTING_KEY not in text


async def test_a_longer_retry_after_than_the_step_is_honoured(
    rig: Rig, pd: PagerDutyStandin
) -> None:
    n = await rig.incident()
    pd.fail_next(1, 503, retry_after=90)
    result = await rig.retrier.send(await rig.page(n))
    assert isinstance(result.outcome, Retry)
    [(_, _, at)] = await rig.pending()
    assert at == T0 + timedelta(seconds=90)
    assert (await rig.lines(n))[-1].startswith("Will try the page to @maya again at 02:01:30Z")
    assert await rig.at(T0 + timedelta(seconds=89)) == 0
    assert pd.accepted() == []


async def test_an_ack_before_the_retry_drops_the_page(rig: Rig, pd: PagerDutyStandin) -> None:
    n = await rig.incident()
    pd.fail_next(1, 429, retry_after=30)
    await rig.retrier.send(await rig.page(n))
    await rig.vigil.incidents.acknowledge(n, actor="@maya")

    assert await rig.at(T0 + timedelta(seconds=30)) == 1

    assert len(pd.events) == 1  # the stand-in saw nothing more
    assert (await rig.lines(n))[-1] == (
        f"Stopped retrying the page to @maya: #{n} is acknowledged now, so nobody needs "
        "waking for it"
    )
    assert await rig.pending() == []
    assert await rig.at(T0 + timedelta(hours=2)) == 0
    assert sum(line.startswith("Stopped retrying") for line in await rig.lines(n)) == 1
    assert len(pd.events) == 1


async def test_an_acknowledgement_is_retried_although_the_incident_is_acknowledged(
    rig: Rig, pd: PagerDutyStandin
) -> None:
    n = await rig.incident()
    page = await rig.page(n)
    assert (await rig.retrier.send(page)).delivered
    view = await rig.vigil.incidents.acknowledge(n, actor="@maya")
    ack = rig.retrier.notification(view, "@maya", "Acknowledged in Vigil by @maya", "acknowledge")
    pd.fail_next(1, 503, retry_after=30)

    result = await rig.retrier.send(ack, channels=[rig.pagerduty])

    assert isinstance(result.outcome, Retry)
    assert (await rig.lines(n))[-1] == (
        f"Will try the acknowledgement of #{n} again at 02:00:30Z, PagerDuty first (attempt 2 of 6)"
    )
    incident = pd.incident(f"vigil:{n}")
    assert incident is not None
    assert incident.status == "triggered"  # PagerDuty is still calling people

    assert await rig.at(T0 + timedelta(seconds=30)) == 1

    assert incident.status == "acknowledged"
    assert (await rig.lines(n))[-1] == (
        f"Passed on that #{n} is acknowledged via PagerDuty (attempt 2 of 6)"
    )
    assert await rig.pending() == []


async def test_spent_attempts_end_with_a_line_saying_who_to_call(
    rig: Rig, pd: PagerDutyStandin
) -> None:
    n = await rig.incident()
    pd.fail_next(100, 503)  # no Retry-After: one quick in-line retry per run, then ours
    result = await rig.retrier.send(await rig.page(n))
    assert isinstance(result.outcome, Retry)

    runs = [T0]
    while pending := await rig.pending():
        [(_, _, at)] = pending
        runs.append(at)
        assert await rig.at(at) == 1

    assert [at - T0 for at in runs] == [
        timedelta(0),
        timedelta(seconds=30),
        timedelta(minutes=2, seconds=30),
        timedelta(minutes=7, seconds=30),
        timedelta(minutes=17, seconds=30),
        timedelta(minutes=37, seconds=30),
    ]
    assert rig.sleeps.waits == [1.0] * 6  # injected: nothing slept
    assert len(pd.events) == 12  # 6 runs of the chain, 2 tries each
    assert pd.accepted() == []
    lines = await rig.lines(n)
    assert lines[-1] == (
        "Could not deliver the page to @maya by any channel (6 attempts over 37 min 30 s; "
        "last: PagerDuty: PagerDuty answered HTTP 503 (Internal error)). @maya has not been "
        f"reached this way: call @maya directly, or page the next level with /incident "
        f"escalate {n}"
    )
    assert lines[-2] == (
        "PagerDuty could not take the page (PagerDuty answered HTTP 503 (Internal error), "
        "2 attempts); no channel left: @maya was not paged (attempt 6 of 6)"
    )
    assert sum(line.startswith("Will try") for line in lines) == 5
    final = (await rig.entries(n))[-1]
    assert final.data == {"target": "@maya", "channel": "", "attempt": 6, "final": True}
    assert await rig.at(T0 + timedelta(hours=3)) == 0


async def test_a_refusal_on_a_retry_ends_the_retries_plainly(
    rig: Rig, pd: PagerDutyStandin
) -> None:
    n = await rig.incident()
    pd.fail_next(1, 429, retry_after=30)
    await rig.retrier.send(await rig.page(n))
    pd.respond_next(400, {"status": "invalid event", "message": "Event object is invalid"})

    assert await rig.at(T0 + timedelta(seconds=30)) == 1

    lines = await rig.lines(n)
    assert lines[-2] == (
        "PagerDuty refused the page (Event object is invalid (HTTP 400)); no channel left: "
        "@maya was not paged (attempt 2 of 6)"
    )
    assert lines[-1].startswith(
        "Could not deliver the page to @maya by any channel (2 attempts over 30 s; last: "
        "PagerDuty: Event object is invalid (HTTP 400))."
    )
    assert await rig.pending() == []


async def test_a_restart_still_runs_the_waiting_retry(
    make_rig: MakeRig, pd: PagerDutyStandin
) -> None:
    first = await make_rig()
    n = await first.incident()
    pd.fail_next(1, 429, retry_after=30)
    await first.retrier.send(await first.page(n))
    await first.close()

    second = await make_rig()  # a new process on the same database
    assert [key for key, _, _ in await second.pending()] == [f"incident:{n}:notify:@maya:page"]
    assert await second.at(T0 + timedelta(seconds=30)) == 1

    assert len(pd.accepted("trigger")) == 1
    assert (await second.lines(n))[-1] == "Paged @maya via PagerDuty (attempt 2 of 6)"
    assert await second.run() == 0
    assert len(pd.accepted("trigger")) == 1


async def test_the_retry_runs_the_whole_chain_preferred_channel_first(
    make_rig: MakeRig, pd: PagerDutyStandin, smtp: SmtpServer, clock: FakeClock
) -> None:
    mail = EmailChannel(
        "127.0.0.1",
        smtp.port,
        "Vigil <vigil@example.com>",
        addresses={"@maya": "maya@example.com"},
        starttls=False,
        timeout=5,
        clock=clock,
    )
    rig = await make_rig(more=[mail])
    n = await rig.incident()
    pd.fail_next(1, 429, retry_after=30)
    smtp.mailbox.rcpt_reply = "451 4.3.0 Mailbox busy, try again later"

    result = await rig.retrier.send(await rig.page(n))

    assert isinstance(result.outcome, Retry)
    lines = await rig.lines(n)
    assert lines[0] == f"{THROTTLED}; trying the mail server"
    assert lines[1].endswith("; no channel left: @maya was not paged")
    assert lines[2] == (
        "Will try the page to @maya again at 02:00:30Z, PagerDuty first (attempt 2 of 6)"
    )

    smtp.mailbox.rcpt_reply = None  # both would work now: PagerDuty, the preferred, wins
    assert await rig.at(T0 + timedelta(seconds=30)) == 1
    assert len(pd.accepted("trigger")) == 1
    assert smtp.mailbox.mails == []
    assert (await rig.lines(n))[-1] == "Paged @maya via PagerDuty (attempt 2 of 6)"


async def test_a_page_that_gets_through_cancels_an_older_retry(
    rig: Rig, pd: PagerDutyStandin
) -> None:
    n = await rig.incident()
    pd.fail_next(1, 429, retry_after=30)
    await rig.retrier.send(await rig.page(n))
    assert len(await rig.pending()) == 1

    assert (await rig.retrier.send(await rig.page(n))).delivered  # e.g. the next round

    assert await rig.pending() == []
    assert await rig.at(T0 + timedelta(minutes=5)) == 0
    assert len(pd.accepted("trigger")) == 1


async def test_a_run_that_dies_midway_leaves_the_next_attempt_set(
    rig: Rig, pd: PagerDutyStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = await rig.incident()
    pd.fail_next(1, 429, retry_after=30)
    await rig.retrier.send(await rig.page(n))

    async def database_gone(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("database gone")

    pd.fail_next(1, 429, retry_after=30)
    with monkeypatch.context() as patched:
        patched.setattr(rig.vigil.incidents, "record", database_gone)
        assert await rig.at(T0 + timedelta(seconds=30)) == 1  # its handler raised

    # The guard set before the run: attempt 3, no sooner than 5 minutes on.
    guard_at = T0 + timedelta(seconds=30) + timedelta(minutes=5)
    assert await rig.pending() == [(f"incident:{n}:notify:@maya:page", TIMER_KIND, guard_at)]
    assert await rig.at(guard_at) == 1
    assert len(pd.accepted("trigger")) == 1
    assert (await rig.lines(n))[-1] == "Paged @maya via PagerDuty (attempt 3 of 6)"


async def test_an_unreadable_timer_payload_is_dropped(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    await rig.timers.schedule(TIMER_KIND, "incident:1:notify:@x:page", T0, {"v": 99})
    assert await rig.run() == 1
    assert await rig.pending() == []
    assert "unreadable payload (v)" in caplog.text


async def test_without_channels_nothing_is_recorded_or_scheduled(make_rig: MakeRig) -> None:
    rig = await make_rig(pagerduty=False)
    n = await rig.incident()
    result = await rig.retrier.send(await rig.page(n))
    assert result.outcome == GiveUp("no notification channel is configured")
    assert await rig.lines(n) == []
    assert await rig.pending() == []


async def test_a_channel_subset_must_be_the_retriers_own(rig: Rig, pd: PagerDutyStandin) -> None:
    stranger = PagerDutyChannel(
        routing_key=Secret(ROUTING_KEY), url=pd.url, timeout=5, name="pagerduty-eu"
    )
    try:
        n = await rig.incident()
        with pytest.raises(ValueError, match="pagerduty-eu"):
            await rig.retrier.send(await rig.page(n), channels=[stranger])
    finally:
        await stranger.aclose()
    assert pd.events == []
