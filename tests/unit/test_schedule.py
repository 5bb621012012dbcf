"""Schedules: rotations, layers, restrictions and overrides, held to local time across DST."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core.errors import ConfigError
from bot.oncall.schedules.config import parse_schedules
from bot.oncall.schedules.layers import (
    Layer,
    Override,
    Restriction,
    Schedule,
    final_shifts,
    local_to_utc,
    next_shift,
    on_call,
)
from bot.oncall.status import oncall_answer

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
PEOPLE = ["@maya", "@sam", "@lee"]
# 2026 DST changes: Berlin 29 Mar (spring) and 25 Oct (fall); New York 8 Mar and 1 Nov.


def layer(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "primary",
        "rotation": "weekly",
        "handoff": "2026-03-02T09:00",  # a Monday
        "participants": PEOPLE,
    }
    return {**base, **over}


def schedule(*layers: dict[str, Any], tz: str = "Europe/Berlin", **over: Any) -> Schedule:
    body = {"tz": tz, "layers": list(layers) or [layer()], **over}
    return parse_schedules({"ml-oncall": body}, where="vigil.yaml")["ml-oncall"]


def local(shift_time: datetime, tz: ZoneInfo = BERLIN) -> tuple[int, int, int, int]:
    """(month, day, hour, minute) of an instant in local time, for readable assertions."""
    t = shift_time.astimezone(tz)
    return (t.month, t.day, t.hour, t.minute)


def hours(start: datetime, end: datetime) -> float:
    return (end - start) / timedelta(hours=1)


# ------------------------------------------------------------------------ local time


def test_local_to_utc_takes_the_first_of_a_repeated_hour() -> None:
    assert local_to_utc(datetime(2026, 10, 25, 2, 30), BERLIN) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("tz", "skipped", "jump"),
    [
        (BERLIN, datetime(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (BERLIN, datetime(2026, 3, 29, 2, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (NEW_YORK, datetime(2026, 3, 8, 2, 30), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
    ],
)
def test_local_to_utc_maps_a_skipped_time_to_the_jump(
    tz: ZoneInfo, skipped: datetime, jump: datetime
) -> None:
    assert local_to_utc(skipped, tz) == jump
    assert jump.astimezone(tz).hour == 3


def test_local_to_utc_is_plain_on_ordinary_days() -> None:
    assert local_to_utc(datetime(2026, 7, 1, 9), BERLIN) == datetime(2026, 7, 1, 7, tzinfo=UTC)


# ------------------------------------------------------------------------ rotations


def test_weekly_rotation_walks_the_participants_in_order() -> None:
    sched = schedule()
    start = datetime(2026, 3, 2, 9, tzinfo=BERLIN)
    shifts = final_shifts(sched, start, start + timedelta(weeks=4))
    assert [s.person for s in shifts] == [*PEOPLE, "@maya"]
    assert all(local(s.start)[2:] == (9, 0) for s in shifts)
    assert shifts[0].sources == ("layer primary",)


def test_before_the_anchor_the_rotation_runs_backwards() -> None:
    now = on_call(schedule(), datetime(2026, 3, 2, 8, 59, tzinfo=BERLIN))
    assert now is not None
    assert (now.person, now.next_person) == ("@lee", "@maya")


@pytest.mark.parametrize(
    ("tz", "monday", "real_hours"),
    [
        ("Europe/Berlin", datetime(2026, 3, 30, 9), 167),
        ("Europe/Berlin", datetime(2026, 10, 26, 9), 169),
        ("America/New_York", datetime(2026, 3, 9, 9), 167),
        ("America/New_York", datetime(2026, 11, 2, 9), 169),
    ],
)
def test_weekly_handoff_stays_at_nine_local_across_dst(
    tz: str, monday: datetime, real_hours: int
) -> None:
    zone = ZoneInfo(tz)
    sched = schedule(tz=tz)
    handoff = monday.replace(tzinfo=zone)
    before = on_call(sched, handoff - timedelta(seconds=1))
    after = on_call(sched, handoff)
    assert before is not None
    assert after is not None
    assert before.until == handoff == after.since
    assert after.person == before.next_person
    assert before.since is not None
    assert after.until is not None
    assert hours(before.since, handoff) == real_hours
    assert local(before.since, zone)[2:] == local(after.until, zone)[2:] == (9, 0)


def test_daily_handoff_at_0230_happens_when_the_clocks_jump_in_spring() -> None:
    # 02:30 does not exist on 29 Mar in Berlin: that day's handoff is 03:00 CEST, the jump.
    sched = schedule(layer(rotation="daily", handoff="2026-03-20T02:30"))
    day = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    shifts = final_shifts(sched, day, day + timedelta(days=2))
    assert [local(s.start) for s in shifts[1:]] == [(3, 29, 3, 0), (3, 30, 2, 30)]
    assert hours(shifts[1].start, shifts[1].end) == 23.5  # 03:00 CEST → 02:30 CEST
    assert shifts[0].end == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert len({s.person for s in shifts}) == 3  # nobody skipped: the turn still happens


def test_daily_handoff_at_0230_takes_the_first_0230_in_autumn() -> None:
    sched = schedule(layer(rotation="daily", handoff="2026-10-20T02:30"))
    fall = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first of the two
    now = on_call(sched, fall)
    assert now is not None
    assert now.since == fall
    assert now.until is not None
    assert hours(now.since, now.until) == 25
    assert local(now.until) == (10, 26, 2, 30)


def test_twelve_hour_rotation_keeps_nine_and_nine_across_dst() -> None:
    sched = schedule(layer(rotation="12h", handoff="2026-03-27T09:00", participants=["@a", "@b"]))
    day = datetime(2026, 3, 27, 9, tzinfo=BERLIN)
    shifts = final_shifts(sched, day, day + timedelta(days=4))
    assert {local(s.start)[2:] for s in shifts} == {(9, 0), (21, 0)}
    assert sorted({hours(s.start, s.end) for s in shifts}) == [11, 12]  # the night of the jump


def test_custom_rotation_of_three_days() -> None:
    sched = schedule(layer(rotation="3d", handoff="2026-06-01T10:00"))
    start = datetime(2026, 6, 1, 10, tzinfo=BERLIN)
    shifts = final_shifts(sched, start, start + timedelta(days=9))
    assert [(s.person, local(s.start)[1]) for s in shifts] == [
        ("@maya", 1),
        ("@sam", 4),
        ("@lee", 7),
    ]


def test_hourly_rotation_skips_the_turn_that_falls_in_the_gap() -> None:
    sched = schedule(
        layer(rotation="1h", handoff="2026-03-29T00:00", participants=["@a", "@b", "@c"])
    )
    start = datetime(2026, 3, 29, 0, tzinfo=BERLIN)
    shifts = final_shifts(sched, start, datetime(2026, 3, 29, 5, tzinfo=BERLIN))
    # Turns at 00, 01, [02 skipped: no such hour], 03, 04; handoffs never go backwards.
    assert [(s.person, local(s.start)[2]) for s in shifts] == [
        ("@a", 0),
        ("@b", 1),
        ("@a", 3),
        ("@b", 4),
    ]
    assert all(a.end == b.start for a, b in itertools.pairwise(shifts))


# ------------------------------------------------------------------------ layers


BUSINESS = layer(
    name="business-hours",
    rotation="daily",
    participants=["@ana"],
    restrict={"days": ["mon-fri"], "from": "09:00", "to": "17:00"},
)


def test_a_higher_layer_covers_only_where_it_has_someone() -> None:
    sched = schedule(layer(), BUSINESS)
    monday = datetime(2026, 3, 2, 0, tzinfo=BERLIN)
    shifts = final_shifts(sched, monday, monday + timedelta(days=7))
    ana = [s for s in shifts if s.person == "@ana"]
    assert [(local(s.start), local(s.end)) for s in ana] == [
        ((3, d, 9, 0), (3, d, 17, 0)) for d in range(2, 7)
    ]
    weekend = on_call(sched, datetime(2026, 3, 7, 12, tzinfo=BERLIN))
    evening = on_call(sched, datetime(2026, 3, 4, 20, tzinfo=BERLIN))
    assert weekend is not None
    assert evening is not None
    assert (weekend.person, weekend.source) == ("@maya", "layer primary")
    assert (evening.person, evening.until) == ("@maya", datetime(2026, 3, 5, 9, tzinfo=BERLIN))
    assert evening.next_person == "@ana"


def test_restriction_follows_local_time_across_dst() -> None:
    sched = schedule(layer(), BUSINESS)
    after = on_call(sched, datetime(2026, 3, 30, 8, 30, tzinfo=UTC))  # 10:30 CEST
    assert after is not None
    assert after.person == "@ana"
    assert after.until == datetime(2026, 3, 30, 17, tzinfo=BERLIN)


def test_overnight_restriction_starts_on_the_listed_day() -> None:
    nights = layer(
        name="nights",
        participants=["@owl"],
        restrict={"days": ["fri"], "from": "22:00", "to": "06:00"},
    )
    sched = schedule(layer(), nights)
    owl = [s for s in final_shifts(sched, *_week()) if s.person == "@owl"]
    assert [(local(s.start), local(s.end)) for s in owl] == [((3, 6, 22, 0), (3, 7, 6, 0))]


def test_a_restricted_layer_alone_leaves_nobody_outside_its_window() -> None:
    sched = schedule(BUSINESS)
    saturday = datetime(2026, 3, 7, 12, tzinfo=BERLIN)
    assert on_call(sched, saturday) is None
    coming = next_shift(sched, saturday)
    assert coming is not None
    assert (coming.person, coming.start) == ("@ana", datetime(2026, 3, 9, 9, tzinfo=BERLIN))


def _week() -> tuple[datetime, datetime]:
    monday = datetime(2026, 3, 2, 0, tzinfo=BERLIN)
    return monday, monday + timedelta(days=7)


# ------------------------------------------------------------------------ overrides


def test_an_override_beats_every_layer() -> None:
    cover = {"person": "@lee", "start": "2026-03-04T12:00", "end": "2026-03-04T20:00"}
    sched = schedule(layer(), BUSINESS, overrides=[{**cover, "reason": "swap"}])
    shifts = final_shifts(sched, *_week())
    lee = [s for s in shifts if s.person == "@lee" and local(s.start)[1] > 2]
    assert [(local(s.start), local(s.end), s.sources) for s in lee] == [
        ((3, 4, 12, 0), (3, 4, 20, 0), ("override (swap)",))
    ]
    now = on_call(sched, datetime(2026, 3, 4, 13, tzinfo=BERLIN))
    assert now is not None
    assert (now.person, now.source, now.next_person) == ("@lee", "override (swap)", "@maya")
    assert now.since == datetime(2026, 3, 4, 12, tzinfo=BERLIN)


def test_the_later_of_two_overlapping_overrides_wins() -> None:
    first = {"person": "@a", "start": "2026-03-04T10:00", "end": "2026-03-04T14:00"}
    second = {"person": "@b", "start": "2026-03-04T12:00", "end": "2026-03-04T13:00"}
    sched = schedule(overrides=[first, second])
    day = datetime(2026, 3, 4, 10, tzinfo=BERLIN)
    got = [
        (s.person, local(s.start)[2]) for s in final_shifts(sched, day, day + timedelta(hours=4))
    ]
    assert got == [("@a", 10), ("@b", 12), ("@a", 13)]


def test_an_override_for_the_person_on_call_extends_their_shift() -> None:
    # @maya's week ends Mon 9 Mar 09:00; she covers until 12:00, then @sam takes over.
    cover = {"person": "@maya", "start": "2026-03-09T09:00", "end": "2026-03-09T12:00"}
    sched = schedule(overrides=[cover])
    now = on_call(sched, datetime(2026, 3, 8, 12, tzinfo=BERLIN))
    assert now is not None
    assert now.until == datetime(2026, 3, 9, 12, tzinfo=BERLIN)
    assert now.source == "layer primary"
    assert now.source_until == datetime(2026, 3, 9, 9, tzinfo=BERLIN)
    assert now.shift.sources == ("layer primary", "override")
    assert now.next_person == "@sam"


def test_override_needs_aware_times_and_a_positive_length() -> None:
    with pytest.raises(ValueError, match="aware"):
        Override("@a", datetime(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="end after"):
        Override("@a", datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


# ------------------------------------------------------------------------ final shifts


def test_consecutive_turns_of_one_person_merge() -> None:
    sched = schedule(layer(rotation="daily", participants=["@a", "@a", "@b"]))
    start = datetime(2026, 3, 2, 9, tzinfo=BERLIN)
    shifts = final_shifts(sched, start, start + timedelta(days=6))
    assert [(s.person, hours(s.start, s.end)) for s in shifts] == [
        ("@a", 48),
        ("@b", 24),
        ("@a", 48),
        ("@b", 24),
    ]
    assert shifts[0].sources == ("layer primary",)
    assert len(shifts[0].parts) == 1


def test_final_shifts_are_clipped_to_the_range_and_empty_when_it_is() -> None:
    sched = schedule()
    start = datetime(2026, 3, 4, 12, tzinfo=BERLIN)
    shifts = final_shifts(sched, start, start + timedelta(hours=1))
    assert [(s.start, s.end) for s in shifts] == [(start, start + timedelta(hours=1))]
    assert final_shifts(sched, start, start) == []
    with pytest.raises(ValueError, match="aware"):
        final_shifts(sched, datetime(2026, 3, 4), start)


# ------------------------------------------------------------------------ who is on call


def test_on_call_says_since_until_and_next() -> None:
    now = on_call(schedule(), datetime(2026, 3, 11, 15, tzinfo=BERLIN))
    assert now is not None
    assert (now.schedule, now.person, now.source) == ("ml-oncall", "@sam", "layer primary")
    assert now.since == datetime(2026, 3, 9, 9, tzinfo=BERLIN)
    assert now.until == now.next_at == datetime(2026, 3, 16, 9, tzinfo=BERLIN)
    assert now.next_person == "@lee"
    assert now.until is not None
    assert now.until.tzinfo is UTC


def test_a_lone_participant_has_no_handoff_in_sight() -> None:
    sched = schedule(layer(participants=["@solo"]))
    now = on_call(sched, datetime(2026, 3, 11, tzinfo=UTC))
    assert now is not None
    assert (now.person, now.since, now.until, now.next_person) == ("@solo", None, None, None)
    assert "with no handoff in the next year" in oncall_answer(
        sched, datetime(2026, 3, 11, tzinfo=UTC)
    )


def test_next_person_after_a_gap_comes_with_its_start() -> None:
    sched = schedule(BUSINESS)
    now = on_call(sched, datetime(2026, 3, 6, 16, tzinfo=BERLIN))  # Friday afternoon
    assert now is not None
    assert now.person == "@ana"
    assert now.until == datetime(2026, 3, 6, 17, tzinfo=BERLIN)
    assert now.next_at == datetime(2026, 3, 9, 9, tzinfo=BERLIN)


# ------------------------------------------------------------------------ the answer


def test_answer_names_person_until_and_next() -> None:
    text = oncall_answer(schedule(), datetime(2026, 3, 7, 12, tzinfo=BERLIN))
    assert text == (
        "@maya is on call for ml-oncall until Mon 9 Mar 09:00 CET (in 1d 21h); next: @sam."
    )


def test_answer_names_the_source_when_an_override_holds() -> None:
    cover = {"person": "@lee", "start": "2026-12-24T18:00", "end": "2026-12-26T09:00"}
    sched = schedule(overrides=[{**cover, "reason": "Christmas swap"}])
    text = oncall_answer(sched, datetime(2026, 12, 24, 20, tzinfo=BERLIN))
    first, second = text.splitlines()
    assert first.startswith("@lee is on call for ml-oncall until Sat 26 Dec 09:00 CET (in 1d 13h)")
    assert second == "Via override (Christmas swap)."


def test_answer_says_when_the_source_changes_within_the_shift() -> None:
    cover = {"person": "@maya", "start": "2026-03-07T00:00", "end": "2026-03-07T12:00"}
    text = oncall_answer(schedule(overrides=[cover]), datetime(2026, 3, 7, 1, tzinfo=BERLIN))
    assert text.splitlines()[1] == "Via override until Sat 7 Mar 12:00 CET, then layer primary."


def test_answer_leaves_out_the_obvious_source() -> None:
    text = oncall_answer(schedule(), datetime(2026, 3, 5, 12, tzinfo=BERLIN))
    assert "\n" not in text  # one layer, no override: nothing to explain


def test_answer_when_nobody_is_on_call() -> None:
    text = oncall_answer(schedule(BUSINESS), datetime(2026, 3, 7, 12, tzinfo=BERLIN))
    assert text == (
        "Nobody is on call for ml-oncall until Mon 9 Mar 09:00 CET (in 1d 21h); next: @ana. "
        "Until then, pages for ml-oncall go to the escalation fallback."
    )


def test_answer_shows_the_gap_before_the_next_person() -> None:
    text = oncall_answer(schedule(BUSINESS), datetime(2026, 3, 6, 16, 30, tzinfo=BERLIN))
    assert text.splitlines()[0] == (
        "@ana is on call for ml-oncall until Fri 6 Mar 17:00 CET (in 30m); "
        "then nobody until Mon 9 Mar 09:00 CET; next: @ana."
    )


def test_answer_adds_the_year_when_it_differs() -> None:
    text = oncall_answer(schedule(), datetime(2026, 12, 30, 12, tzinfo=BERLIN))
    assert "until Mon 4 Jan 2027 09:00 CET" in text


# ------------------------------------------------------------------------ parsing


def test_parse_reads_the_documented_example() -> None:
    nights = {"days": ["sat", "sun"], "from": "20:00", "to": "08:00"}
    sched = schedule(
        layer(),
        {**BUSINESS, "tz": "America/New_York"},
        layer(name="weekend-nights", rotation="2d", participants=["@owl"], restrict=nights),
        overrides=[
            {"person": "@lee", "start": "2026-12-24T18:00+01:00", "end": "2026-12-26T09:00"}
        ],
    )
    assert [lay.name for lay in sched.layers] == ["primary", "business-hours", "weekend-nights"]
    primary, business, weekend = sched.layers
    assert primary.length == timedelta(weeks=1)
    assert primary.tz == BERLIN
    assert primary.handoff == datetime(2026, 3, 2, 9)
    assert business.tz == NEW_YORK
    assert business.restrict == Restriction(frozenset(range(5)), 540, 1020)
    assert weekend.restrict == Restriction(frozenset({5, 6}), 1200, 480)
    assert sched.overrides[0].start == datetime(2026, 12, 24, 17, tzinfo=UTC)
    assert parse_schedules(None, where="w") == {}


def test_parse_takes_yaml_datetimes_and_default_layer_names() -> None:
    sched = schedule(
        {"rotation": "daily", "handoff": datetime(2026, 3, 2, 9), "participants": ["@a"]}
    )
    assert sched.layers[0].name == "layer-1"
    assert sched.layers[0].handoff == datetime(2026, 3, 2, 9)


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ({"layers": [layer()]}, "schedules.ml-oncall.tz", "missing"),
        ({"tz": "Mars/Base", "layers": [layer()]}, "schedules.ml-oncall.tz", "unknown time zone"),
        ({"tz": "UTC", "layers": []}, "schedules.ml-oncall.layers", "at least one layer"),
        ({"tz": "UTC", "layers": [layer()], "colour": 1}, "schedules.ml-oncall.colour", "unknown"),
        (
            {"tz": "UTC", "layers": [layer(rotation="fortnightly")]},
            "schedules.ml-oncall.layers[0].rotation",
            "daily, weekly or a duration",
        ),
        (
            {"tz": "UTC", "layers": [layer(rotation="30m")]},
            "schedules.ml-oncall.layers[0].rotation",
            "at least 1h",
        ),
        (
            {"tz": "UTC", "layers": [layer(handoff="2026-03-02")]},
            "schedules.ml-oncall.layers[0].handoff",
            "local date and time",
        ),
        (
            {"tz": "UTC", "layers": [layer(participants=["maya"])]},
            "schedules.ml-oncall.layers[0].participants",
            "'@person'",
        ),
        (
            {"tz": "UTC", "layers": [{"rotation": "daily", "handoff": "2026-03-02T09:00"}]},
            "schedules.ml-oncall.layers[0].participants",
            "missing",
        ),
        (
            {"tz": "UTC", "layers": [layer(), layer()]},
            "schedules.ml-oncall.layers[1].name",
            "already named",
        ),
        (
            {"tz": "UTC", "layers": [layer(tz="Nowhere")]},
            "schedules.ml-oncall.layers[0].tz",
            "unknown time zone",
        ),
        (
            {"tz": "UTC", "layers": [layer(restrict={"days": ["mon", "funday"]})]},
            "schedules.ml-oncall.layers[0].restrict.days[1]",
            "not a day",
        ),
        (
            {"tz": "UTC", "layers": [layer(restrict={"from": 540})]},
            "schedules.ml-oncall.layers[0].restrict.from",
            "quote the time of day",
        ),
        (
            {"tz": "UTC", "layers": [layer(restrict={"to": "25:00"})]},
            "schedules.ml-oncall.layers[0].restrict.to",
            "HH:MM",
        ),
        (
            {"tz": "UTC", "layers": [layer(restrict={"from": "09:00", "to": "09:00"})]},
            "schedules.ml-oncall.layers[0].restrict.to",
            "same time",
        ),
        (
            {"tz": "UTC", "layers": [layer(restrict={"hours": "9-5"})]},
            "schedules.ml-oncall.layers[0].restrict.hours",
            "unknown key",
        ),
        (
            {
                "tz": "UTC",
                "layers": [layer()],
                "overrides": [{"person": "@a", "start": "2026-01-01T09:00"}],
            },
            "schedules.ml-oncall.overrides[0].end",
            "missing",
        ),
        (
            {
                "tz": "UTC",
                "layers": [layer()],
                "overrides": [
                    {"person": "@a", "start": "2026-01-02T09:00", "end": "2026-01-01T09:00"}
                ],
            },
            "schedules.ml-oncall.overrides[0].end",
            "after start",
        ),
        (
            {
                "tz": "UTC",
                "layers": [layer()],
                "overrides": [{"person": "a", "start": "2026-01-01T09:00", "end": "2026-01-02"}],
            },
            "schedules.ml-oncall.overrides[0].person",
            "'@person'",
        ),
    ],
)
def test_parse_errors_name_the_key(body: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_schedules({"ml-oncall": body}, where="vigil.yaml")
    assert caught.value.key == key
    assert caught.value.where == "vigil.yaml"


def test_parse_refuses_a_bad_schedule_name_and_a_non_mapping() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_schedules({"ml oncall": {}}, where="w")
    assert caught.value.key == "schedules.ml oncall"
    with pytest.raises(ConfigError) as caught:
        parse_schedules(["x"], where="w")
    assert caught.value.key == "schedules"


def test_layer_refuses_short_rotations_and_converts_an_aware_anchor() -> None:
    with pytest.raises(ValueError, match="at least 1h"):
        Layer("x", ("@a",), timedelta(minutes=30), datetime(2026, 1, 1), BERLIN)
    aware = Layer("x", ("@a",), timedelta(days=1), datetime(2026, 1, 1, 8, tzinfo=UTC), BERLIN)
    assert aware.handoff == datetime(2026, 1, 1, 9)
    assert Schedule("s", BERLIN, (aware,)).overrides == ()


def test_hourly_rotation_gives_the_repeated_hour_to_one_turn_in_autumn() -> None:
    sched = schedule(layer(rotation="1h", handoff="2026-10-25T00:00", participants=["@a", "@b"]))
    start = datetime(2026, 10, 25, 0, tzinfo=BERLIN)
    shifts = final_shifts(sched, start, datetime(2026, 10, 25, 4, tzinfo=BERLIN))
    assert [hours(s.start, s.end) for s in shifts] == [1, 1, 2, 1]  # 02:00 CEST → 03:00 CET


@pytest.mark.parametrize(
    ("tz", "month"),
    [
        ("Europe/Berlin", 3),
        ("Europe/Berlin", 10),
        ("America/New_York", 3),
        ("America/New_York", 11),
    ],
)
@pytest.mark.parametrize("rotation", ["1h", "1h30m", "12h", "daily", "weekly"])
def test_on_call_agrees_with_final_shifts_around_dst(tz: str, month: int, rotation: str) -> None:
    sched = schedule(
        layer(rotation=rotation, handoff="2026-02-27T02:30"),
        {**BUSINESS, "restrict": {"days": ["sun", "mon"], "from": "02:15", "to": "03:45"}},
        tz=tz,
        overrides=[
            {
                "person": "@x",
                "start": f"2026-{month:02}-05T01:00",
                "end": f"2026-{month:02}-05T05:00",
            }
        ],
    )
    start = datetime(2026, month, 1, tzinfo=UTC)
    end = start + timedelta(days=14)
    shifts = final_shifts(sched, start, end)
    assert all(s.start < s.end for s in shifts)
    assert all(a.end <= b.start for a, b in itertools.pairwise(shifts))
    at = start + timedelta(days=3)
    while at < end - timedelta(days=3):
        now = on_call(sched, at)
        here = [s for s in shifts if s.start <= at < s.end]
        assert now is not None
        assert [now.person] == [s.person for s in here]
        assert (now.since, now.until) == (here[0].start, here[0].end)
        at += timedelta(minutes=97)
