"""Handoffs: when a schedule changes hands (DST, overrides, gaps) and how the notice reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.oncall.schedules.handoff import (
    MAX_LISTED,
    Handoff,
    OpenIncident,
    can_hand_off,
    handoff_text,
    incidents_text,
    last_handoff,
    next_handoff,
)
from bot.oncall.schedules.layers import Layer, Override, Restriction, Schedule

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = timedelta(days=7)
# Berlin's clocks go back on Sun 25 Oct 2026, 03:00 CEST -> 02:00 CET.


def _schedule(
    people: tuple[str, ...] = ("@alice", "@bob", "@carol"),
    *,
    length: timedelta = WEEK,
    handoff: datetime = datetime(2026, 10, 5, 9, 0),  # a Monday, local time
    overrides: tuple[Override, ...] = (),
    restrict: Restriction | None = None,
) -> Schedule:
    layer = Layer("primary", people, length, handoff, BERLIN, restrict)
    return Schedule("ml-oncall", BERLIN, (layer,), overrides)


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_the_next_handoff_names_who_hands_to_whom_until_when_and_who_is_next() -> None:
    found = next_handoff(_schedule(), _utc(2026, 10, 14, 12))
    assert found == Handoff(
        schedule="ml-oncall",
        at=_utc(2026, 10, 19, 7),  # Mon 19 Oct 09:00 CEST
        from_person="@bob",
        to_person="@carol",
        until=_utc(2026, 10, 26, 8),  # Mon 26 Oct 09:00 CET: a 169-hour week
        next_person="@alice",
        next_at=_utc(2026, 10, 26, 8),
        source="layer primary",
    )


def test_a_handoff_exactly_at_after_is_not_next() -> None:
    found = next_handoff(_schedule(), _utc(2026, 10, 19, 7))
    assert found is not None
    assert found.at == _utc(2026, 10, 26, 8)


def test_daily_handoffs_stay_at_local_time_across_the_october_dst_change() -> None:
    daily = _schedule(("@alice", "@bob"), length=timedelta(days=1))
    saturday = next_handoff(daily, _utc(2026, 10, 24, 0))
    assert saturday is not None
    sunday = next_handoff(daily, saturday.at)
    assert sunday is not None
    assert (saturday.at, sunday.at) == (_utc(2026, 10, 24, 7), _utc(2026, 10, 25, 8))
    assert sunday.at - saturday.at == timedelta(hours=25)  # the day the clocks go back
    text = handoff_text(sunday, BERLIN, [])
    assert text.splitlines()[0] == (
        f"📟 Handoff: {sunday.to_person} is now on call for ml-oncall until Mon 26 Oct 09:00 CET "
        f"(took over from {sunday.from_person}); next: {sunday.from_person}."
    )


def test_a_handoff_in_the_repeated_hour_happens_at_its_first_occurrence() -> None:
    night = _schedule(
        ("@alice", "@bob"), length=timedelta(days=1), handoff=datetime(2026, 10, 5, 2, 30)
    )
    found = next_handoff(night, _utc(2026, 10, 24, 12))
    assert found is not None
    assert found.at == _utc(2026, 10, 25, 0, 30)  # 02:30 CEST, not 02:30 CET an hour later
    assert found.until == _utc(2026, 10, 26, 1, 30)  # 02:30 CET: this shift lasts 25 hours
    assert "until Mon 26 Oct 02:30 CET" in handoff_text(found, BERLIN, [])


def test_an_override_start_and_end_are_handoffs_and_the_notice_says_via_override() -> None:
    swap = Override("@dave", _utc(2026, 10, 20, 8), _utc(2026, 10, 20, 14), reason="swap")
    sched = _schedule(overrides=(swap,))
    start = next_handoff(sched, _utc(2026, 10, 19, 7))
    assert start is not None
    assert (start.at, start.from_person, start.to_person) == (swap.start, "@carol", "@dave")
    assert (start.until, start.next_person) == (swap.end, "@carol")
    assert start.source == "override (swap)"
    assert handoff_text(start, BERLIN, []).splitlines()[0] == (
        "📟 Handoff: @dave is now on call for ml-oncall until Tue 20 Oct 16:00 CEST "
        "(took over from @carol); next: @carol. Via override (swap)."
    )
    end = next_handoff(sched, start.at)
    assert end is not None
    assert (end.at, end.from_person, end.to_person) == (swap.end, "@dave", "@carol")
    assert end.until == _utc(2026, 10, 26, 8)


def test_an_override_by_whoever_is_on_call_anyway_is_no_handoff() -> None:
    own = Override("@carol", _utc(2026, 10, 20, 8), _utc(2026, 10, 20, 14))
    found = next_handoff(_schedule(overrides=(own,)), _utc(2026, 10, 19, 7))
    assert found is not None
    assert found.at == _utc(2026, 10, 26, 8)  # the next real change, Monday's rotation


def test_taking_over_early_by_override_makes_one_handoff_not_two() -> None:
    early = Override("@alice", _utc(2026, 10, 26, 5), _utc(2026, 10, 26, 8))  # till her turn
    sched = _schedule(overrides=(early,))
    found = next_handoff(sched, _utc(2026, 10, 20))
    assert found is not None
    assert (found.at, found.to_person, found.until) == (early.start, "@alice", _utc(2026, 11, 2, 8))
    following = next_handoff(sched, found.at)
    assert following is not None
    assert following.at == _utc(2026, 11, 2, 8)  # 09:00 on the 26th, where she continues: none


def test_a_schedule_of_one_person_never_hands_off_and_the_search_ends() -> None:
    alone = _schedule(("@alice",), length=timedelta(hours=1))
    assert not can_hand_off(alone)
    assert next_handoff(alone, _utc(2026, 10, 20)) is None
    assert last_handoff(alone, _utc(2026, 10, 20)) is None
    cover = Override("@bob", _utc(2026, 10, 21, 8), _utc(2026, 10, 21, 9))
    assert can_hand_off(_schedule(("@alice",), overrides=(cover,)))


def test_the_end_of_a_restricted_layer_hands_off_to_nobody() -> None:
    hours = Restriction(frozenset(range(5)), 9 * 60, 17 * 60)  # weekdays 09:00-17:00
    office = _schedule(("@alice", "@bob"), restrict=hours)
    evening = next_handoff(office, _utc(2026, 10, 20, 12))
    assert evening is not None
    assert (evening.at, evening.from_person, evening.to_person) == (
        _utc(2026, 10, 20, 15),
        "@alice",
        None,
    )
    assert handoff_text(evening, BERLIN, []).splitlines()[0] == (
        "📟 Handoff: nobody is on call for ml-oncall until Wed 21 Oct 09:00 CEST "
        "(@alice's shift ended); next: @alice. Until then, pages for ml-oncall go to the "
        "escalation fallback."
    )
    morning = next_handoff(office, evening.at)
    assert morning is not None
    assert (morning.from_person, morning.to_person) == (None, "@alice")
    assert "(nobody before); then nobody until Thu 22 Oct" in handoff_text(morning, BERLIN, [])


def test_last_handoff_is_the_latest_within_the_limit_only() -> None:
    daily = _schedule(("@alice", "@bob"), length=timedelta(days=1))
    at = _utc(2026, 10, 14, 12)
    latest = last_handoff(daily, at, limit=timedelta(days=3))  # three handoffs in there
    assert latest is not None
    assert latest.at == _utc(2026, 10, 14, 7)
    assert last_handoff(daily, at, limit=timedelta(hours=4)) is None
    assert last_handoff(daily, latest.at, limit=timedelta(minutes=1)) == latest  # inclusive


def test_a_late_notice_says_since_when_rather_than_now() -> None:
    found = next_handoff(_schedule(), _utc(2026, 10, 14))
    assert found is not None
    on_time = handoff_text(found, BERLIN, [], now=found.at + timedelta(minutes=2))
    late = handoff_text(found, BERLIN, [], now=found.at + timedelta(hours=3))
    assert on_time.startswith("📟 Handoff: @carol is now on call for ml-oncall until")
    assert late.splitlines()[0] == (
        "📟 Handoff (late notice): @carol has been on call for ml-oncall since Mon 19 Oct "
        "09:00 CEST, until Mon 26 Oct 09:00 CET (took over from @bob); next: @alice."
    )


def test_the_notice_lists_the_open_incidents_with_severity_and_state() -> None:
    found = next_handoff(_schedule(), _utc(2026, 10, 14))
    assert found is not None
    incidents = [
        OpenIncident(12, "P2", "fraud-scorer drift", "acknowledged", "@alice"),
        OpenIncident(14, "P1", "ranker down", "triggered"),
    ]
    assert handoff_text(found, BERLIN, incidents).splitlines()[1] == (
        "Open incidents: #12 P2 fraud-scorer drift (acknowledged by @alice); "
        "#14 P1 ranker down (not acknowledged yet)."
    )
    assert handoff_text(found, BERLIN, []).splitlines()[1] == "No open incidents."


def test_a_long_list_of_open_incidents_is_cut_and_counted() -> None:
    many = [OpenIncident(n, "P4", f"thing {n}", "contained", "@sam") for n in range(8)]
    text = incidents_text(many)
    assert text.count("(contained by @sam)") == MAX_LISTED
    assert text.endswith("; and 3 more (/incident list).")
    # The list read is one page; the count of every open incident says how many more.
    assert incidents_text(many, total=312).endswith("; and 307 more (/incident list).")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_handoff(_schedule(), datetime(2026, 10, 14))
