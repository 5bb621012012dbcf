"""Maintenance windows in time: occurrences counted in local wall time, right across the
clock changes (what a team that planned "every Sunday 02:00-04:00 Berlin" expects), the
occurrence running at a given moment, the next start or end for the announcing timers, and
which alerts a window names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.silences.windows import (
    Occurrence,
    Window,
    active,
    next_change,
    occurrences,
    parse_rrule,
    window_words,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def sundays(rule: str = "FREQ=WEEKLY;BYDAY=SU", **kw: object) -> Window:
    """Every Sunday 02:00-04:00 Europe/Berlin, from Sunday 1 March 2026."""
    return Window(
        name="db-migration",
        tz=BERLIN,
        start=datetime(2026, 3, 1, 2, 0),
        duration=timedelta(hours=2),
        rrule=rule,
        services=("payments",),
        **kw,  # type: ignore[arg-type]
    )


def spans(found: list[Occurrence]) -> list[tuple[datetime, datetime]]:
    return [(o.start, o.end) for o in found]


def test_a_weekly_berlin_window_keeps_its_local_hours_across_the_spring_change() -> None:
    """29 Mar 2026: 02:00 CET jumps to 03:00 CEST, so 02:00 never happens; the window opens
    when the clocks jump and still closes at 04:00: one real hour that day."""
    found = occurrences(sundays(), utc(2026, 3, 20), utc(2026, 4, 6))
    assert spans(found) == [
        (utc(2026, 3, 22, 1), utc(2026, 3, 22, 3)),  # 02:00-04:00 CET
        (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)),  # 03:00-04:00 CEST: one hour
        (utc(2026, 4, 5, 0), utc(2026, 4, 5, 2)),  # 02:00-04:00 CEST
    ]


def test_a_weekly_berlin_window_spans_the_repeated_hour_in_autumn() -> None:
    """25 Oct 2026: 03:00 CEST goes back to 02:00 CET; 02:00 means its first occurrence,
    so the window runs 02:00 CEST - 04:00 CET: three real hours."""
    found = occurrences(sundays(), utc(2026, 10, 17), utc(2026, 11, 2))
    assert spans(found) == [
        (utc(2026, 10, 18, 0), utc(2026, 10, 18, 2)),
        (utc(2026, 10, 25, 0), utc(2026, 10, 25, 3)),  # three hours
        (utc(2026, 11, 1, 1), utc(2026, 11, 1, 3)),
    ]


def test_the_occurrence_running_at_a_moment_is_found_though_it_began_before() -> None:
    window = sundays()
    assert active(window, utc(2026, 3, 22, 2, 30)) == Occurrence(
        utc(2026, 3, 22, 1), utc(2026, 3, 22, 3)
    )
    # 02:30 UTC on the autumn day is 03:30 CET: 2.5 h after it began, longer than its 2h.
    assert active(window, utc(2026, 10, 25, 2, 30)) == Occurrence(
        utc(2026, 10, 25, 0), utc(2026, 10, 25, 3)
    )
    assert active(window, utc(2026, 3, 29, 1, 30)) is not None


@pytest.mark.parametrize(
    "at",
    [
        utc(2026, 3, 29, 0, 30),  # 01:30 CET, before the clocks jump
        utc(2026, 3, 29, 2),  # 04:00 CEST: the end is not inside
        utc(2026, 3, 25, 1, 30),  # a Wednesday
        utc(2026, 2, 22, 1, 30),  # a Sunday before the first occurrence
    ],
)
def test_no_occurrence_is_active_outside_the_window(at: datetime) -> None:
    assert active(sundays(), at) is None


def test_the_start_is_inside_and_the_end_is_not() -> None:
    window = sundays()
    assert active(window, utc(2026, 3, 22, 1)) is not None
    assert active(window, utc(2026, 3, 22, 3)) is None


def test_next_change_walks_starts_and_ends_across_the_spring_change() -> None:
    window = sundays()
    seen: list[datetime] = []
    at: datetime | None = utc(2026, 3, 28)
    for _ in range(6):
        assert at is not None
        at = next_change(window, at)
        assert at is not None
        seen.append(at)
    assert seen == [
        utc(2026, 3, 29, 1),
        utc(2026, 3, 29, 2),
        utc(2026, 4, 5, 0),
        utc(2026, 4, 5, 2),
        utc(2026, 4, 12, 0),
        utc(2026, 4, 12, 2),
    ]


def test_next_change_is_strictly_after_and_finds_the_end_of_a_running_occurrence() -> None:
    window = sundays()
    assert next_change(window, utc(2026, 3, 22, 1)) == utc(2026, 3, 22, 3)  # at the start
    assert next_change(window, utc(2026, 10, 25, 2, 59)) == utc(2026, 10, 25, 3)
    assert next_change(window, utc(2026, 10, 25, 3)) == utc(2026, 11, 1, 1)


def test_count_bounds_the_occurrences_and_then_nothing_changes() -> None:
    window = sundays("FREQ=WEEKLY;BYDAY=SU;COUNT=3")
    found = occurrences(window, utc(2026, 2, 1), utc(2027, 1, 1))
    assert [o.start for o in found] == [utc(2026, 3, 1, 1), utc(2026, 3, 8, 1), utc(2026, 3, 15, 1)]
    assert next_change(window, utc(2026, 3, 15, 2)) == utc(2026, 3, 15, 3)
    assert next_change(window, utc(2026, 3, 15, 3)) is None
    assert active(window, utc(2026, 3, 22, 1, 30)) is None


@pytest.mark.parametrize(
    ("until", "last"),
    [
        ("20260315T010000Z", utc(2026, 3, 15, 1)),  # UTC, = 02:00 CET: inclusive
        ("20260315T005959Z", utc(2026, 3, 8, 1)),  # a second earlier: not that Sunday
        ("20260315T020000", utc(2026, 3, 15, 1)),  # a local reading
        ("20260314", utc(2026, 3, 8, 1)),  # a date: midnight local
    ],
)
def test_until_bounds_the_local_starts(until: str, last: datetime) -> None:
    window = sundays(f"FREQ=WEEKLY;BYDAY=SU;UNTIL={until}")
    found = occurrences(window, utc(2026, 2, 1), utc(2027, 1, 1))
    assert found[-1].start == last
    assert next_change(window, found[-1].end) is None


def test_a_one_off_window_is_on_once() -> None:
    window = Window(
        "db-migration", BERLIN, datetime(2026, 12, 13, 2), timedelta(hours=2), services=("x",)
    )
    assert spans(occurrences(window, utc(2026, 1, 1), utc(2027, 1, 1))) == [
        (utc(2026, 12, 13, 1), utc(2026, 12, 13, 3))
    ]
    assert active(window, utc(2026, 12, 13, 2)) == Occurrence(
        utc(2026, 12, 13, 1), utc(2026, 12, 13, 3)
    )
    assert active(window, utc(2026, 12, 13, 3)) is None
    assert next_change(window, utc(2026, 12, 1)) == utc(2026, 12, 13, 1)
    assert next_change(window, utc(2026, 12, 13, 1)) == utc(2026, 12, 13, 3)
    assert next_change(window, utc(2026, 12, 13, 3)) is None


def test_a_one_off_window_starting_in_the_skipped_hour_opens_when_the_clocks_jump() -> None:
    window = Window("swap", BERLIN, datetime(2026, 3, 29, 2, 30), timedelta(hours=1))
    assert spans(occurrences(window, utc(2026, 3, 28), utc(2026, 3, 30))) == [
        (utc(2026, 3, 29, 1), utc(2026, 3, 29, 1, 30))  # 03:00-03:30 CEST
    ]


def test_an_aware_start_is_read_in_the_windows_zone() -> None:
    aware = Window("a", BERLIN, datetime(2026, 12, 13, 2, tzinfo=BERLIN), timedelta(hours=2))
    naive = Window("a", BERLIN, datetime(2026, 12, 13, 2), timedelta(hours=2))
    assert aware == naive


def test_a_daily_new_york_window_across_both_2026_changes() -> None:
    """New York: 8 Mar 2026 02:00 EST → 03:00 EDT; 1 Nov 2026 02:00 EDT → 01:00 EST."""
    window = Window(
        "nightly",
        NEW_YORK,
        datetime(2026, 1, 1, 1, 30),
        timedelta(hours=1),
        "FREQ=DAILY",
        models=("fraud",),
    )
    assert spans(occurrences(window, utc(2026, 3, 7), utc(2026, 3, 10))) == [
        (utc(2026, 3, 7, 6, 30), utc(2026, 3, 7, 7, 30)),  # 01:30-02:30 EST
        (utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7)),  # 02:30 never happens: ends 03:00 EDT
        (utc(2026, 3, 9, 5, 30), utc(2026, 3, 9, 6, 30)),  # EDT
    ]
    assert spans(occurrences(window, utc(2026, 11, 1), utc(2026, 11, 3))) == [
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7, 30)),  # first 01:30 EDT - 02:30 EST
        (utc(2026, 11, 2, 6, 30), utc(2026, 11, 2, 7, 30)),
    ]


def test_an_occurrence_inside_the_skipped_hour_is_left_out() -> None:
    window = Window(
        "gap", NEW_YORK, datetime(2026, 3, 1, 2, 0), timedelta(minutes=30), "FREQ=DAILY"
    )
    found = occurrences(window, utc(2026, 3, 7), utc(2026, 3, 10))
    assert [o.start for o in found] == [utc(2026, 3, 7, 7), utc(2026, 3, 9, 6)]
    assert next_change(window, utc(2026, 3, 7, 7, 30)) == utc(2026, 3, 9, 6)


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        active(sundays(), datetime(2026, 3, 22, 2))


def test_covers_names_services_and_models() -> None:
    both = Window(
        "w",
        BERLIN,
        datetime(2026, 3, 1),
        timedelta(hours=1),
        services=("payments",),
        models=("fraud",),
    )
    assert both.covers({"service": "payments", "alertname": "Latency"})
    assert both.covers({"model": "fraud"})
    assert not both.covers({"service": "search", "model": "ranker"})
    assert not both.covers({})
    services_only = Window(
        "w", BERLIN, datetime(2026, 3, 1), timedelta(hours=1), services=("payments",)
    )
    assert services_only.covers({"service": "payments", "model": "anything"})
    assert not services_only.covers({"model": "fraud"})
    by_matchers = Window(
        "w", BERLIN, datetime(2026, 3, 1), timedelta(hours=1), matchers=('alertname=~"L.*"',)
    )
    assert by_matchers.covers({"service": "whatever"})  # the caller evaluates the matchers


def test_window_words_say_what_is_hushed_and_until_when() -> None:
    window = Window(
        "db-migration",
        BERLIN,
        datetime(2026, 12, 13, 2),
        timedelta(hours=2),
        "FREQ=WEEKLY;BYDAY=SU",
        services=("payments",),
    )
    occ = active(window, utc(2026, 12, 13, 1, 30))
    assert occ is not None
    assert window_words(window, occ) == (
        "Maintenance window 'db-migration' (service payments) is on until 04:00 "
        "Europe/Berlin (Sun 13 Dec, 02:00\u201304:00)"
    )
    assert window_words(window, occ, ZoneInfo("UTC")) == (
        "Maintenance window 'db-migration' (service payments) is on until 03:00 UTC "
        "(Sun 13 Dec, 01:00\u201303:00)"
    )
    assert window_words(window, occ, over=True) == (
        "Maintenance window 'db-migration' (service payments) is over "
        "(Sun 13 Dec, 02:00\u201304:00)"
    )


def test_window_words_on_the_autumn_day_say_which_two_oclock() -> None:
    occ = active(sundays(), utc(2026, 10, 25, 1))
    assert occ is not None
    assert window_words(sundays(), occ).endswith("(Sun 25 Oct, 02:00 CEST\u201304:00 CET)")


def test_window_words_name_models_matchers_or_everything() -> None:
    one = Window(
        "w",
        BERLIN,
        datetime(2026, 12, 13, 22),
        timedelta(hours=4),
        services=("a", "b"),
        models=("fraud",),
        matchers=('alertname=~"Latency.*"',),
    )
    occ = occurrences(one, utc(2026, 12, 1), utc(2027, 1, 1))[0]
    assert window_words(one, occ) == (
        "Maintenance window 'w' (services a, b; model fraud; alertname=~\"Latency.*\") "
        "is on until 02:00 Europe/Berlin (Sun 13 Dec 22:00 \u2013 Mon 14 Dec 02:00)"
    )
    everything = Window("all", BERLIN, datetime(2026, 12, 13, 2), timedelta(hours=1))
    occ = occurrences(everything, utc(2026, 12, 1), utc(2027, 1, 1))[0]
    assert "(all alerts)" in window_words(everything, occ)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("", "is empty"),
        ("DTSTART:20260101T000000\nRRULE:FREQ=DAILY", "must not hold DTSTART"),
        ("FREQ=DAILY\nEXDATE:20260102T000000", "must be one RRULE"),
        ("FREQ=MINUTELY", "at most HOURLY"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be 1 or more"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20260301", "both COUNT and UNTIL"),
        ("FREQ=WEEKLY;BYDAY=XX", "is not an RFC 5545 RRULE: invalid 'BYDAY': XX"),
        ("FREQ=FORTNIGHTLY", "is not an RFC 5545 RRULE"),
        ("FREQ=DAILY;UNTIL=20261340T000000Z", "is not an RFC 5545 RRULE"),
    ],
)
def test_a_rule_vigil_cannot_use_is_refused_in_words(rule: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_rrule(rule, datetime(2026, 3, 1, 2), BERLIN)


def test_an_rrule_prefix_is_allowed() -> None:
    rule = parse_rrule("RRULE:FREQ=WEEKLY;COUNT=2", datetime(2026, 3, 1, 2), BERLIN)
    assert list(rule) == [datetime(2026, 3, 1, 2), datetime(2026, 3, 8, 2)]
