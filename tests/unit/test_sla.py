"""SLA clocks: due times, states at the boundaries, business days across DST, reminders, words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core.durations import words_rounded
from bot.core.errors import ConfigError
from bot.incidents.response import effective_ack
from bot.oncall.calendar import WorkingHours, parse_working_hours
from bot.oncall.sla.clocks import (
    DEFAULT_SLA,
    BusinessDays,
    SlaClock,
    SlaEvent,
    SlaSettings,
    WarnPoint,
    due_events,
    next_check,
    sla_clock,
    sla_text,
    unresolved_reminders,
    unresolved_text,
)
from bot.oncall.sla.config import parse_sla

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # a Tuesday
MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)
BERLIN = ZoneInfo("Europe/Berlin")
CAL = parse_working_hours({"days": "mon-fri", "tz": "Europe/Berlin"}, where="w")


def berlin(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def p1(now: datetime, ack: datetime | None = None, resolved: datetime | None = None) -> SlaClock:
    return sla_clock("P1", T0, ack, resolved, now)


@pytest.mark.parametrize(
    ("severity", "ack", "resolve"),
    [
        ("P1", 5 * MIN, timedelta(hours=4)),
        ("P2", 15 * MIN, timedelta(hours=24)),
        ("P3", timedelta(hours=4), timedelta(days=3)),
        ("P4", timedelta(days=1), timedelta(weeks=2)),  # Tue 02:00 + 1bd = Wed 02:00
    ],
)
def test_default_targets(severity: str, ack: timedelta, resolve: timedelta) -> None:
    clock = sla_clock(severity, T0, None, None, T0)
    assert clock.acknowledge.due == T0 + ack
    assert clock.resolve.due == T0 + resolve
    assert (clock.acknowledge.state, clock.resolve.state) == ("pending", "pending")


@pytest.mark.parametrize(
    ("ack", "now", "state"),
    [
        (None, T0 + 5 * MIN - SEC, "pending"),
        (None, T0 + 5 * MIN, "breached"),  # the due instant belongs to the breach
        (T0 + 5 * MIN, T0 + 5 * MIN, "met"),  # acked at the due instant: met
        (T0 + 5 * MIN + SEC, T0 + 6 * MIN, "breached"),  # late ack stays a breach
        (T0 + 2 * MIN, T0 + 6 * MIN, "met"),
        (T0 - 3 * MIN, T0 + MIN, "met"),  # acked "before" opening (clock skew): at opening
    ],
)
def test_acknowledge_state_at_the_boundaries(
    ack: datetime | None, now: datetime, state: str
) -> None:
    assert p1(now, ack).acknowledge.state == state


def test_resolved_without_ack_counts_as_acked_at_resolve() -> None:
    clock = p1(T0 + 10 * MIN, resolved=T0 + 3 * MIN)
    assert clock.acknowledge.done_at == T0 + 3 * MIN
    assert (clock.acknowledge.state, clock.resolve.state) == ("met", "met")
    assert effective_ack(T0, None, None, contained_at=T0 + 4 * MIN) == T0 + 4 * MIN
    assert effective_ack(T0, T0 + 9 * MIN, T0 + 7 * MIN) == T0 + 7 * MIN  # first of them
    assert effective_ack(T0, None, None) is None


def test_times_in_a_local_zone_are_real_time_across_dst() -> None:
    opened = berlin(2026, 3, 28, 23, 0)  # 22:00 UTC; clocks jump from 02:00 to 03:00 at night
    clock = sla_clock("P1", opened, None, None, opened + MIN)
    assert clock.resolve.due == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)  # 04:00 CEST, not 03:00
    assert clock.resolve.due - opened == timedelta(hours=4)


def test_unknown_severity_is_refused() -> None:
    with pytest.raises(ValueError, match="P5"):
        sla_clock("P5", T0, None, None, T0)


# -- business days ---------------------------------------------------------------------------


def test_p4_acknowledge_uses_the_calendar_and_its_reminders_too() -> None:
    settings = SlaSettings(calendar=CAL)
    opened = berlin(2026, 3, 27, 16, 0)
    clock = sla_clock("P4", opened, None, None, opened, settings=settings)
    assert clock.acknowledge.target == BusinessDays(1)
    assert clock.acknowledge.due == berlin(2026, 3, 30, 16, 0)
    # 50 % = 12 business hours: 8 on Friday, 4 on Monday; 80 % = 19 h 12 min.
    assert clock.acknowledge.reminders == (berlin(2026, 3, 30, 4, 0), berlin(2026, 3, 30, 11, 12))


# -- reminders, events, next check -------------------------------------------------------------


def test_default_reminders_at_half_and_four_fifths() -> None:
    clock = p1(T0)
    assert clock.acknowledge.reminders == (T0 + 150 * SEC, T0 + 4 * MIN)
    assert clock.resolve.reminders == (T0 + timedelta(hours=2), T0 + timedelta(hours=3, minutes=12))


def test_reminders_before_due_and_impossible_ones_dropped() -> None:
    settings = SlaSettings(warn_at=(WarnPoint(before=MIN), WarnPoint(before=10 * MIN)))
    clock = sla_clock("P1", T0, None, None, T0, settings=settings)
    assert clock.acknowledge.reminders == (T0 + 4 * MIN,)  # 10 min before a 5 min target: none
    assert clock.resolve.reminders == (
        T0 + timedelta(hours=3, minutes=50),
        T0 + timedelta(hours=3, minutes=59),
    )


@pytest.mark.parametrize(
    ("now", "ack", "announced", "keys"),
    [
        (T0 + 2 * MIN, None, set(), []),
        (T0 + 150 * SEC, None, set(), ["acknowledge:reminder:1"]),
        (T0 + 4 * MIN, None, set(), ["acknowledge:reminder:2"]),  # after downtime: latest only
        (T0 + 4 * MIN, None, {"acknowledge:reminder:2"}, []),
        (T0 + 5 * MIN, None, {"acknowledge:reminder:2"}, ["acknowledge:breach"]),
        (T0 + 9 * MIN, None, {"acknowledge:breach"}, []),
        (T0 + 4 * MIN, T0 + 3 * MIN, set(), []),  # acked: no reminder
        (T0 + 9 * MIN, T0 + 8 * MIN, set(), ["acknowledge:breach"]),  # late ack found later
        (T0 + timedelta(hours=4), T0 + MIN, set(), ["resolve:breach"]),
    ],
)
def test_due_events(
    now: datetime, ack: datetime | None, announced: set[str], keys: list[str]
) -> None:
    assert [e.key for e in due_events(p1(now, ack), announced)] == keys


def test_next_check() -> None:
    assert next_check(p1(T0)) == T0 + 150 * SEC
    assert next_check(p1(T0 + 4 * MIN)) == T0 + 5 * MIN
    assert next_check(p1(T0 + 6 * MIN)) == T0 + timedelta(hours=2)  # ack breached: resolve next
    assert next_check(p1(T0 + 6 * MIN, T0 + MIN, T0 + 2 * MIN)) is None


# -- words ----------------------------------------------------------------------------------


def text(
    now: datetime,
    kind: str,
    which: str,
    ack: datetime | None = None,
    resolved: datetime | None = None,
) -> str:
    clock = p1(now, ack, resolved)
    event = SlaEvent(kind, which, now, "k")  # type: ignore[arg-type]
    return sla_text(event, clock, incident_id=12, title="fraud-scorer")


def test_breach_words() -> None:
    assert text(T0 + 7 * MIN, "breach", "acknowledge") == (
        "P1 #12 fraud-scorer: acknowledge SLA breached 2 min ago (due 02:05 UTC, 5 min after "
        "it opened); nobody has acknowledged. /incident ack 12"
    )
    assert text(T0 + timedelta(hours=4, minutes=10), "breach", "resolve", T0 + 3 * MIN) == (
        "P1 #12 fraud-scorer: resolve SLA breached 10 min ago (due 06:00 UTC, 4 h after it "
        "opened); still open (acknowledged 02:03 UTC). /incident resolve 12 once it is fixed"
    )
    assert text(T0 + 9 * MIN, "breach", "acknowledge", T0 + 8 * MIN) == (
        "P1 #12 fraud-scorer: acknowledge SLA breached (due 02:05 UTC, 5 min after it opened): "
        "acknowledged 3 min late, at 02:08 UTC."
    )


def test_reminder_words() -> None:
    assert text(T0 + 4 * MIN, "reminder", "acknowledge") == (
        "P1 #12 fraud-scorer: acknowledge SLA due in 1 min (02:05 UTC, 5 min after it opened); "
        "nobody has acknowledged yet. /incident ack 12"
    )
    clock = sla_clock("P2", T0, T0 + MIN, None, T0 + timedelta(hours=12))
    event = SlaEvent("reminder", "resolve", clock.now, "k")
    assert sla_text(event, clock, incident_id=7, title="ranker", tz=BERLIN) == (
        "P2 #7 ranker: resolve SLA due in 12 h (Wed 25 Nov 03:00 CET, 1 d after it opened); "
        "still open (acknowledged 03:01 CET). /incident resolve 7 once it is fixed"
    )


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (30 * SEC, "under a minute"),
        (MIN, "1 min"),
        (150 * SEC, "2 min"),
        (timedelta(hours=1, minutes=30, seconds=59), "1 h 30 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(days=2, hours=3, minutes=4), "2 d 3 h"),
        (timedelta(days=14), "14 d"),
        (timedelta(days=1, minutes=5), "1 d"),
    ],
)
def test_words(delta: timedelta, expected: str) -> None:
    assert words_rounded(delta) == expected


# -- acknowledged but unresolved ------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "count", "next_at"),
    [
        (T0 + 32 * MIN, 0, T0 + 33 * MIN),
        (T0 + 33 * MIN, 1, T0 + 63 * MIN),
        (T0 + 2 * 60 * MIN, 3, T0 + 123 * MIN),
    ],
)
def test_unresolved_reminders_every_interval_after_ack(
    now: datetime, count: int, next_at: datetime
) -> None:
    r = unresolved_reminders(T0 + 3 * MIN, None, now, 30 * MIN)
    assert (r.count, r.next_at) == (count, next_at)


def test_unresolved_reminders_stop() -> None:
    assert unresolved_reminders(None, None, T0, 30 * MIN).next_at is None  # not acked yet
    assert unresolved_reminders(T0, T0 + MIN, T0 + 2 * MIN, 30 * MIN).next_at is None
    assert unresolved_reminders(T0, None, T0 + 2 * MIN, None).count == 0  # off


def test_unresolved_text() -> None:
    clock = p1(T0 + timedelta(hours=3), T0 + 3 * MIN)
    assert unresolved_text(clock, incident_id=12, title="fraud-scorer") == (
        "P1 #12 fraud-scorer: acknowledged 2 h 57 min ago and still open (resolve SLA due "
        "06:00 UTC). /incident contain 12 once users are safe, /incident resolve 12 when fixed"
    )


# -- config ---------------------------------------------------------------------------------


def test_parse_sla_overrides_over_defaults() -> None:
    settings = parse_sla(
        {
            "P1": {"acknowledge": "2m", "remind_every": False},  # YAML reads a bare `off` as False
            "P4": {"acknowledge": "2 business days", "resolve": "3bd", "remind_every": "1d"},
            "warn_at": ["75%", "15m before"],
        },
        where="vigil.yaml",
        calendar=CAL,
    )
    p1_target = settings.targets["P1"]
    assert (p1_target.acknowledge, p1_target.resolve, p1_target.remind_every) == (
        2 * MIN,
        timedelta(hours=4),
        None,
    )
    assert settings.targets["P4"].acknowledge == BusinessDays(2)
    assert settings.targets["P4"].resolve == BusinessDays(3)
    assert settings.targets["P2"] == DEFAULT_SLA.targets["P2"]
    assert settings.warn_at == (WarnPoint(fraction=0.75), WarnPoint(before=15 * MIN))
    assert settings.calendar is CAL
    assert parse_sla(None, where="w").targets == DEFAULT_SLA.targets
    assert parse_sla({"warn_at": []}, where="w").warn_at == ()
    assert isinstance(parse_sla(None, where="w").calendar, WorkingHours)


@pytest.mark.parametrize(
    ("raw", "key", "message"),
    [
        ([], "sla", "must map P1-P4"),
        ({"P9": {}}, "sla.P9", "allowed: P1, P2, P3, P4, warn_at"),
        ({"P1": "5m"}, "sla.P1", "must be a mapping"),
        ({"P1": {"ack": "5m"}}, "sla.P1.ack", "allowed: acknowledge, remind_every, resolve"),
        ({"P1": {"acknowledge": "5"}}, "sla.P1.acknowledge", "business days: 1bd"),
        ({"P1": {"acknowledge": "0m"}}, "sla.P1.acknowledge", "longer than zero"),
        ({"P2": {"acknowledge": "0bd"}}, "sla.P2.acknowledge", "longer than zero"),
        ({"P2": {"acknowledge": "2d"}}, "sla.P2", "acknowledge (2 d) is longer than resolve (1 d)"),
        ({"P1": {"remind_every": "10s"}}, "sla.P1.remind_every", "at least 1m"),
        ({"P1": {"remind_every": "often"}}, "sla.P1.remind_every", "or off"),
        ({"warn_at": "50%"}, "sla.warn_at", "must be a list"),
        ({"warn_at": ["50%", "100%"]}, "sla.warn_at[1]", 'like "80%" or "15m before"'),
        ({"warn_at": ["15m"]}, "sla.warn_at[0]", "not '15m'"),
    ],
)
def test_parse_sla_errors_name_the_key(raw: Any, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_sla(raw, where="vigil.yaml")
    assert info.value.key == key
    assert message in info.value.message


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"P9": {}}, "sla.P9: unknown key (allowed: P1, P2, P3, P4, warn_at)"),
        (
            {"p1": {"ack": "5m"}},
            "sla.P1.ack: unknown key (allowed: acknowledge, remind_every, resolve)",
        ),
        ({"P1": None}, "sla.P1: must be a mapping like {acknowledge: 5m, resolve: 4h}"),
        ({"P1": {"acknowledge": "5h"}}, "sla.P1: acknowledge (5 h) is longer than resolve (4 h)"),
        ({"P2": {"acknowledge": "0bd"}}, "sla.P2.acknowledge: must be longer than zero"),
        (
            {"warn_at": [5]},
            'sla.warn_at[0]: must be a share of the target like "80%" or "15m before", not 5',
        ),
    ],
)
def test_parse_sla_errors_read_as_they_always_have(raw: Any, says: str) -> None:
    """``sla:`` is validated by pydantic; what a user reads is still Vigil's sentence."""
    with pytest.raises(ConfigError) as info:
        parse_sla(raw, where="vigil.yaml")
    assert str(info.value) == f"vigil.yaml: {says}"


def test_parse_sla_reads_a_lower_case_severity() -> None:
    assert parse_sla({"p1": {"acknowledge": "2m"}}, where="w").targets["P1"].acknowledge == 2 * MIN
