"""SLA timers as the team meets them: reminders before a breach, the breach said once, an ack
that stops the ack clock, a resolve that stops everything, business days over a weekend, a
restart that neither loses nor repeats a line, and "still unresolved" reminders.

Time is the FakeClock; the SLA watch gets its own durable Timers (same database, its own
table, started paused) and is driven with ``run_due``, so nothing sleeps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest

from bot.config.load import Settings
from bot.incidents.views import EventView
from bot.oncall.sla.clocks import DEFAULT_SLA, DEFAULT_TARGETS, SlaSettings
from bot.oncall.sla.watch import TIMER_KIND, SlaWatch, timer_key
from bot.runtime.app import Vigil
from bot.store.timers import Timers
from tests.conftest import MakeVigil
from tests.support import FakeClock

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # the FakeClock's start, a Tuesday


@dataclasses.dataclass
class Rig:
    """One running Vigil with an SLA watch on its notifier."""

    vigil: Vigil
    timers: Timers
    watch: SlaWatch
    clock: FakeClock

    async def run(self) -> int:
        return await self.timers.run_due(self.clock())

    async def at(self, when: datetime) -> int:
        self.clock.now = when
        return await self.run()

    async def entries(self, incident_id: int) -> list[EventView]:
        view = await self.vigil.incidents.get(incident_id)
        return [e for e in view.timeline if e.kind == "sla"]

    async def lines(self, incident_id: int) -> list[str]:
        return [e.text for e in await self.entries(incident_id)]

    async def next_at(self) -> list[datetime]:
        return [p.at for p in await self.timers.pending()]

    async def close(self) -> None:
        await self.timers.stop()
        await self.vigil.close()


MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def make_rig(
    make_vigil: MakeVigil, settings: Settings, clock: FakeClock
) -> AsyncIterator[MakeRig]:
    """A Vigil plus an SlaWatch on a second Timers: the app's own is started before a test
    could register a handler on it, and Timers refuses handlers after start."""
    started: list[Timers] = []

    async def make(sla: SlaSettings = DEFAULT_SLA) -> Rig:
        vigil = await make_vigil()
        timers = Timers(vigil.db, clock=clock, tablename="test_sla_timers")
        watch = SlaWatch(vigil.incidents, timers, sla=sla, working_hours=None, clock=clock)
        await timers.start(paused=True)
        started.append(timers)
        vigil.notifier.subscribe(watch.on_change)
        return Rig(vigil, timers, watch, clock)

    yield make
    for timers in started:
        await timers.stop()


def _without_unresolved_reminders() -> SlaSettings:
    targets = {k: dataclasses.replace(v, remind_every=None) for k, v in DEFAULT_TARGETS.items()}
    return SlaSettings(targets=MappingProxyType(targets))


async def _open(rig: Rig, severity: str, title: str = "fraud-scorer down") -> int:
    view = await rig.vigil.incidents.open(title=title, actor="@dave", severity=severity)
    return view.id


async def test_an_unacknowledged_p1_is_reminded_at_50_and_80_percent_then_breaches_once(
    make_rig: MakeRig, clock: FakeClock
) -> None:
    rig = await make_rig()
    n = await _open(rig, "P1")
    assert await rig.next_at() == [T0 + timedelta(minutes=2, seconds=30)]

    assert await rig.at(T0 + timedelta(minutes=2, seconds=29)) == 0
    assert await rig.lines(n) == []

    await rig.at(T0 + timedelta(minutes=2, seconds=30))
    await rig.at(T0 + timedelta(minutes=4))
    await rig.at(T0 + timedelta(minutes=4, seconds=59))
    await rig.at(T0 + timedelta(minutes=5))
    assert await rig.lines(n) == [
        f"P1 #{n} fraud-scorer down: acknowledge SLA due in 2 min (02:05 UTC, 5 min after it "
        f"opened); nobody has acknowledged yet. /incident ack {n}",
        f"P1 #{n} fraud-scorer down: acknowledge SLA due in 1 min (02:05 UTC, 5 min after it "
        f"opened); nobody has acknowledged yet. /incident ack {n}",
        f"P1 #{n} fraud-scorer down: acknowledge SLA breached just now (due 02:05 UTC, 5 min "
        f"after it opened); nobody has acknowledged. /incident ack {n}",
    ]
    entries = await rig.entries(n)
    assert [(e.at, e.data["key"]) for e in entries] == [
        (T0 + timedelta(minutes=2, seconds=30), "acknowledge:reminder:1"),
        (T0 + timedelta(minutes=4), "acknowledge:reminder:2"),
        (T0 + timedelta(minutes=5), "acknowledge:breach"),
    ]
    assert entries[-1].actor == "vigil"
    assert await rig.next_at() == [T0 + timedelta(hours=2)]  # the resolve clock runs on

    # The same timer run again (a retry, a stale replica) says nothing twice.
    await rig.timers.schedule(TIMER_KIND, timer_key(n), clock(), {"incident": n})
    assert await rig.run() == 1
    clock.advance(minutes=30)
    assert await rig.run() == 0
    assert len(await rig.lines(n)) == 3


async def test_an_ack_in_time_means_no_ack_breach_and_the_resolve_clock_continues(
    make_rig: MakeRig, clock: FakeClock
) -> None:
    rig = await make_rig(_without_unresolved_reminders())
    n = await _open(rig, "P1")
    await rig.at(T0 + timedelta(minutes=2, seconds=30))
    clock.now = T0 + timedelta(minutes=3)
    await rig.vigil.incidents.acknowledge(n, actor="@alice")
    assert await rig.next_at() == [T0 + timedelta(hours=2)]

    assert await rig.at(T0 + timedelta(minutes=5)) == 0
    assert await rig.at(T0 + timedelta(hours=1)) == 0
    await rig.at(T0 + timedelta(hours=2))
    await rig.at(T0 + timedelta(hours=3, minutes=12))
    lines = await rig.lines(n)
    assert len(lines) == 3
    assert "acknowledge SLA breached" not in " ".join(lines)
    assert lines[1:] == [
        f"P1 #{n} fraud-scorer down: resolve SLA due in 2 h (06:00 UTC, 4 h after it opened); "
        f"still open (acknowledged 02:03 UTC). /incident resolve {n} once it is fixed",
        f"P1 #{n} fraud-scorer down: resolve SLA due in 48 min (06:00 UTC, 4 h after it "
        f"opened); still open (acknowledged 02:03 UTC). /incident resolve {n} once it is fixed",
    ]
    assert await rig.at(T0 + timedelta(hours=3, minutes=59)) == 0
    await rig.at(T0 + timedelta(hours=4))
    assert (await rig.lines(n))[-1] == (
        f"P1 #{n} fraud-scorer down: resolve SLA breached just now (due 06:00 UTC, 4 h after "
        f"it opened); still open (acknowledged 02:03 UTC). /incident resolve {n} once it is "
        "fixed"
    )
    assert await rig.next_at() == []


async def test_resolving_cancels_the_timer_and_nothing_more_is_said(
    make_rig: MakeRig, clock: FakeClock
) -> None:
    rig = await make_rig()
    n = await _open(rig, "P1")
    await rig.at(T0 + timedelta(minutes=2, seconds=30))
    clock.now = T0 + timedelta(minutes=3)
    await rig.vigil.incidents.resolve(n, actor="@alice")
    assert await rig.next_at() == []
    assert await rig.at(T0 + timedelta(days=3)) == 0
    assert len(await rig.lines(n)) == 1


async def test_a_p4_opened_on_friday_afternoon_is_due_monday_and_quiet_over_the_weekend(
    make_rig: MakeRig, clock: FakeClock
) -> None:
    rig = await make_rig(_without_unresolved_reminders())
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    clock.now = friday
    n = await _open(rig, "P4", "stale feature store")
    # 50 % of one business day: Friday's last 8 h, then Monday 00:00-04:00.
    assert await rig.next_at() == [monday + timedelta(hours=4)]

    for hours in range(4, 60, 4):  # Friday evening through Sunday night
        assert await rig.at(friday + timedelta(hours=hours)) == 0
    assert await rig.lines(n) == []

    await rig.at(monday + timedelta(hours=4))
    await rig.at(monday + timedelta(hours=11, minutes=12))
    assert await rig.at(monday + timedelta(hours=15, minutes=59)) == 0
    await rig.at(monday + timedelta(hours=16))
    entries = await rig.entries(n)
    assert [(e.at, e.data["key"]) for e in entries] == [
        (monday + timedelta(hours=4), "acknowledge:reminder:1"),
        (monday + timedelta(hours=11, minutes=12), "acknowledge:reminder:2"),
        (monday + timedelta(hours=16), "acknowledge:breach"),
    ]
    assert entries[0].text == (
        f"P4 #{n} stale feature store: acknowledge SLA due in 12 h (16:00 UTC, 1 business day "
        f"after it opened); nobody has acknowledged yet. /incident ack {n}"
    )
    assert entries[-1].data["due"] == (monday + timedelta(hours=16)).isoformat()
    assert await rig.next_at() == [friday + timedelta(weeks=1)]  # resolve: 50 % of 2 weeks


async def test_a_restart_says_a_breach_that_fell_due_while_down_once_and_repeats_nothing(
    make_rig: MakeRig, clock: FakeClock
) -> None:
    first = await make_rig()
    n = await _open(first, "P1")
    await first.at(T0 + timedelta(minutes=2, seconds=30))
    await first.close()  # down with the 80 % reminder and the breach ahead

    clock.now = T0 + timedelta(minutes=6)
    second = await make_rig()
    assert await second.run() == 1
    assert await second.run() == 0
    entries = await second.entries(n)
    assert [e.data["key"] for e in entries] == ["acknowledge:reminder:1", "acknowledge:breach"]
    assert entries[-1].text == (
        f"P1 #{n} fraud-scorer down: acknowledge SLA breached 1 min ago (due 02:05 UTC, 5 min "
        f"after it opened); nobody has acknowledged. /incident ack {n}"
    )
    await second.close()

    third = await make_rig()  # and again: nothing old is said again
    await third.timers.schedule(TIMER_KIND, timer_key(n), clock(), {"incident": n})
    assert await third.run() == 1
    assert len(await third.entries(n)) == 2
    assert await third.next_at() == [T0 + timedelta(hours=2)]


async def test_an_acknowledged_incident_left_open_is_reminded_once_per_interval(
    make_rig: MakeRig, clock: FakeClock
) -> None:
    rig = await make_rig()
    n = await _open(rig, "P2", "search-ranker slow")
    await rig.vigil.incidents.acknowledge(n, actor="@alice")  # at once: every 2 h from 02:00
    assert await rig.next_at() == [T0 + timedelta(hours=2)]

    assert await rig.at(T0 + timedelta(hours=1, minutes=59)) == 0
    await rig.at(T0 + timedelta(hours=2))
    await rig.at(T0 + timedelta(hours=2))
    assert await rig.at(T0 + timedelta(hours=3)) == 0
    await rig.at(T0 + timedelta(hours=4))
    lines = await rig.lines(n)
    assert lines == [
        f"P2 #{n} search-ranker slow: acknowledged 2 h ago and still open (resolve SLA due "
        f"Wed 25 Nov 02:00 UTC). /incident contain {n} once users are safe, /incident resolve "
        f"{n} when fixed",
        f"P2 #{n} search-ranker slow: acknowledged 4 h ago and still open (resolve SLA due "
        f"Wed 25 Nov 02:00 UTC). /incident contain {n} once users are safe, /incident resolve "
        f"{n} when fixed",
    ]

    # Down from 06:00 to 12:30: one line for the missed ones, not four.
    await rig.at(T0 + timedelta(hours=10, minutes=30))
    lines = await rig.lines(n)
    assert len(lines) == 3
    assert "acknowledged 10 h 30 min ago and still open" in lines[-1]

    # At 14:00 the resolve SLA's 50 % reminder already says "still open": one line, not two.
    await rig.at(T0 + timedelta(hours=12))
    lines = await rig.lines(n)
    assert len(lines) == 4
    assert "resolve SLA due in 12 h" in lines[-1]
    await rig.at(T0 + timedelta(hours=14))
    lines = await rig.lines(n)
    assert len(lines) == 5
    assert "acknowledged 14 h ago and still open" in lines[-1]

    # Containing does not fix it: the reminders go on until it is resolved.
    await rig.vigil.incidents.contain(n, actor="@alice")
    await rig.at(T0 + timedelta(hours=16))
    assert len(await rig.lines(n)) == 6
    await rig.vigil.incidents.resolve(n, actor="@alice")
    assert await rig.next_at() == []


async def test_raising_the_severity_past_its_due_time_says_the_breach_at_once(
    make_rig: MakeRig, clock: FakeClock
) -> None:
    rig = await make_rig()
    n = await _open(rig, "P3", "cache hit rate low")
    clock.now = T0 + timedelta(minutes=10)
    await rig.vigil.incidents.set_severity(n, "P1", actor="@dave")
    assert await rig.next_at() == [clock()]
    assert await rig.run() == 1
    assert await rig.lines(n) == [
        f"P1 #{n} cache hit rate low: acknowledge SLA breached 5 min ago (due 02:05 UTC, 5 min "
        f"after it opened); nobody has acknowledged. /incident ack {n}"
    ]


async def test_a_timer_for_an_incident_that_no_longer_exists_is_dropped(
    make_rig: MakeRig, clock: FakeClock
) -> None:
    rig = await make_rig()
    await rig.timers.schedule(TIMER_KIND, timer_key(999), clock(), {"incident": 999})
    assert await rig.run() == 1
    assert await rig.next_at() == []


async def test_after_lowering_the_severity_the_new_targets_reminders_are_said(
    make_rig: MakeRig, clock: FakeClock
) -> None:
    rig = await make_rig(_without_unresolved_reminders())
    n = await _open(rig, "P1")
    await rig.at(T0 + timedelta(minutes=2, seconds=30))  # P1's first reminder
    await rig.vigil.incidents.set_severity(n, "P3", actor="@dave")
    assert await rig.next_at() == [T0 + timedelta(hours=2)]  # P3: 50 % of 4 h
    await rig.at(T0 + timedelta(hours=2))
    entries = await rig.entries(n)
    assert [(e.data["severity"], e.data["key"]) for e in entries] == [
        ("P1", "acknowledge:reminder:1"),
        ("P3", "acknowledge:reminder:1"),
    ]
    assert entries[-1].text.startswith(f"P3 #{n} fraud-scorer down: acknowledge SLA due in 2 h")


async def test_resume_sets_the_timer_of_every_open_incident(
    make_rig: MakeRig, clock: FakeClock
) -> None:
    rig = await make_rig()
    n = await _open(rig, "P1")
    closed = await _open(rig, "P2", "done already")
    await rig.vigil.incidents.resolve(closed, actor="@alice")
    await rig.timers.cancel(timer_key(n))  # as if opened before the watch existed
    assert await rig.watch.resume() == 1
    assert [p.key for p in await rig.timers.pending()] == [timer_key(n)]
    assert await rig.watch.resume() == 1  # again: still one timer
    assert await rig.next_at() == [T0 + timedelta(minutes=2, seconds=30)]


async def test_a_new_reminder_interval_neither_repeats_nor_hurries_a_still_open_reminder(
    make_rig: MakeRig, clock: FakeClock
) -> None:
    rig = await make_rig()
    n = await _open(rig, "P1")
    await rig.vigil.incidents.acknowledge(n, actor="@alice")  # P1: every 30 min from 02:00
    await rig.at(T0 + timedelta(hours=2, minutes=30))  # the 04:30 one, on the 04:00 SLA line
    assert len(await rig.lines(n)) == 1
    clock.now = T0 + timedelta(hours=2, minutes=40)
    await rig.vigil.incidents.set_severity(n, "P2", actor="@dave")  # every 2 h: 04:00 is past
    assert await rig.next_at() == [T0 + timedelta(hours=4)]
    assert await rig.run() == 0
    await rig.at(T0 + timedelta(hours=4))
    lines = await rig.lines(n)
    assert len(lines) == 2
    assert lines[-1].startswith(f"P2 #{n} fraud-scorer down: acknowledged 4 h ago and still open")
