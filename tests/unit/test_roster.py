"""Rotations: who is on call, with the weekly handoff held at 09:00 local across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.errors import ConfigError
from bot.oncall.schedules.config import parse_roster
from bot.oncall.schedules.roster import Rotation, resolve_targets, unknown_rotations

PEOPLE = ["@alice", "@bob", "@carol"]


def weekly(tz: str, anchor: str) -> Rotation:
    raw = {"participants": PEOPLE, "shift": "1w", "handoff": anchor, "tz": tz}
    return parse_roster({"ml-oncall": raw}, where="vigil.yaml")["ml-oncall"]


# 2026 DST changes: Berlin 29 Mar (spring) and 25 Oct (fall); New York 8 Mar and 1 Nov.
# Each case: the Monday after the change, whose 09:00 local handoff is a week of 167 or
# 169 real hours after the previous one.
@pytest.mark.parametrize(
    ("tz", "anchor", "monday", "hours_in_week"),
    [
        ("Europe/Berlin", "2026-03-02T09:00", datetime(2026, 3, 30), 167),
        ("Europe/Berlin", "2026-03-02T09:00", datetime(2026, 10, 26), 169),
        ("America/New_York", "2026-03-02T09:00", datetime(2026, 3, 9), 167),
        ("America/New_York", "2026-03-02T09:00", datetime(2026, 11, 2), 169),
    ],
)
def test_handoff_stays_at_nine_local_across_dst(
    tz: str, anchor: str, monday: datetime, hours_in_week: int
) -> None:
    rotation = weekly(tz, anchor)
    zone = ZoneInfo(tz)
    handoff = monday.replace(hour=9, tzinfo=zone)
    before = rotation.on_call(handoff - timedelta(seconds=1))
    at = rotation.on_call(handoff)
    assert before.until == handoff
    assert at.since == handoff
    assert at.person == before.next_person
    assert at.until.astimezone(zone).hour == 9
    assert at.until.astimezone(zone).weekday() == 0
    # The shift that contains the change is not 168 real hours long, yet still 09:00 to 09:00.
    real = (handoff.astimezone(UTC) - before.since.astimezone(UTC)) / timedelta(hours=1)
    assert real == hours_in_week
    assert before.since.astimezone(zone).hour == 9


def test_who_is_on_call_walks_the_participants_in_order() -> None:
    rotation = weekly("Europe/Berlin", "2026-03-02T09:00")
    zone = ZoneInfo("Europe/Berlin")
    people = [
        rotation.on_call(datetime(2026, 3, 2, 9, tzinfo=zone) + timedelta(weeks=w)).person
        for w in range(7)
    ]
    assert people == PEOPLE * 2 + ["@alice"]
    week4 = rotation.on_call(datetime(2026, 3, 25, 12, tzinfo=UTC))
    assert (week4.person, week4.next_person) == ("@alice", "@bob")
    assert week4.rotation == "ml-oncall"


def test_before_the_anchor_the_rotation_runs_backwards() -> None:
    rotation = weekly("Europe/Berlin", "2026-03-02T09:00")
    earlier = rotation.on_call(datetime(2026, 3, 2, 7, 59, tzinfo=UTC))  # 08:59 Berlin
    assert (earlier.person, earlier.next_person) == ("@carol", "@alice")
    assert earlier.until == datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Europe/Berlin"))


def test_daily_shift_hands_off_at_local_nine_on_the_spring_forward_day() -> None:
    raw = {"participants": ["@a", "@b"], "shift": "1d", "handoff": "2026-03-27T09:00"}
    rotation = parse_roster({"r": {**raw, "tz": "Europe/Berlin"}}, where="w")["r"]
    sunday = rotation.on_call(datetime(2026, 3, 29, 6, 59, tzinfo=UTC))  # 08:59 CEST
    assert sunday.until.astimezone(UTC) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    assert (sunday.until - sunday.since) == timedelta(days=1)  # wall clock
    assert (sunday.until.astimezone(UTC) - sunday.since.astimezone(UTC)) == timedelta(hours=23)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        weekly("UTC", "2026-03-02T09:00").on_call(datetime(2026, 3, 3))


def test_handoff_may_be_a_yaml_datetime_or_carry_an_offset() -> None:
    zone = ZoneInfo("America/New_York")
    base = {"participants": ["@a"], "shift": "12h", "tz": "America/New_York"}
    naive = parse_roster({"r": {**base, "handoff": datetime(2026, 3, 2, 9)}}, where="w")["r"]
    offset = parse_roster({"r": {**base, "handoff": "2026-03-02T14:00+00:00"}}, where="w")["r"]
    assert naive.handoff == offset.handoff == datetime(2026, 3, 2, 9, tzinfo=zone)


def test_resolve_targets_replaces_rotations_with_the_person_on_call() -> None:
    rotations = {"ml-oncall": weekly("Europe/Berlin", "2026-03-02T09:00")}
    now = datetime(2026, 3, 10, tzinfo=UTC)  # week 2: @bob
    assert resolve_targets(("rotation:ml-oncall", "@alice", "@bob"), rotations, now) == (
        "@bob",
        "@alice",
    )
    with pytest.raises(KeyError, match="infra"):
        resolve_targets(("rotation:infra",), rotations, now)
    assert unknown_rotations(("rotation:infra", "rotation:ml-oncall", "@a"), rotations) == [
        "rotation:infra"
    ]


def test_no_rotations_is_an_empty_roster() -> None:
    assert parse_roster(None, where="w") == {}


GOOD = {"participants": ["@a"], "shift": "1w", "handoff": "2026-03-02T09:00", "tz": "UTC"}


@pytest.mark.parametrize(
    ("raw", "key", "message"),
    [
        (["r"], "rotations", "mapping"),
        ({"r": "@a"}, "rotations.r", "mapping"),
        ({"my rota": GOOD}, "rotations.my rota", "bad rotation name"),
        ({"r": {**GOOD, "layers": []}}, "rotations.r.layers", "unknown key"),
        ({"r": {k: v for k, v in GOOD.items() if k != "tz"}}, "rotations.r.tz", "missing"),
        ({"r": {**GOOD, "participants": []}}, "rotations.r.participants", "@person"),
        ({"r": {**GOOD, "participants": ["alice"]}}, "rotations.r.participants", "@person"),
        ({"r": {**GOOD, "shift": 7}}, "rotations.r.shift", "unit"),
        ({"r": {**GOOD, "shift": "30s"}}, "rotations.r.shift", "at least 1m"),
        ({"r": {**GOOD, "tz": "Europe/Atlantis"}}, "rotations.r.tz", "unknown time zone"),
        ({"r": {**GOOD, "handoff": "monday 9am"}}, "rotations.r.handoff", "local date and time"),
        ({"r": {**GOOD, "handoff": "2026-03-02"}}, "rotations.r.handoff", "local date and time"),
    ],
)
def test_parse_errors_name_the_key(raw: object, key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_roster(raw, where="vigil.yaml")
    assert info.value.key == key


def test_a_handoff_in_the_skipped_hour_is_the_instant_the_clocks_jump() -> None:
    """A rotation is a one-layer schedule: 02:30 on the spring-forward day never happens in
    Berlin, so the shift ends when the clocks jump (03:00 CEST), as a schedule's layer does,
    not at a 02:30 CET that does not exist."""
    raw = {"participants": ["@a", "@b"], "shift": "1d", "handoff": "2026-03-27T02:30"}
    rotation = parse_roster({"r": {**raw, "tz": "Europe/Berlin"}}, where="w")["r"]
    saturday = rotation.on_call(datetime(2026, 3, 28, 12, tzinfo=UTC))
    assert saturday.until.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert saturday.until.strftime("%H:%M %Z") == "03:00 CEST"
    sunday = rotation.on_call(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
    assert (sunday.person, sunday.since) == (saturday.next_person, saturday.until)
