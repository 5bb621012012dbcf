"""Escalation policies: durations, the page plan, what is due at each boundary, wording, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.durations import format_duration, parse_duration
from bot.core.errors import ConfigError
from bot.oncall.paging.escalation import (
    EscalationPolicy,
    Level,
    describe,
    due,
    plan,
)
from bot.oncall.paging.policy_config import parse_policy

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)

# Level 1 @alice at once, 10 min; level 2 @bob+@carol, 15 min; level 3 rotation, 5 min.
RAW = {
    "levels": [
        {"notify": ["@alice"], "wait": "10m"},
        {"notify": ["@bob", "@carol"], "wait": "15m"},
        {"notify": "rotation:ml-oncall", "wait": "5m"},
    ]
}


def policy(repeat: int = 0) -> EscalationPolicy:
    return parse_policy({**RAW, "repeat": repeat}, where="vigil.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("0m", timedelta()),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2h0m15s", timedelta(hours=2, seconds=15)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        (" 10m ", timedelta(minutes=10)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", [10, 0, "10", "", "m", "1.5h", "10 m", "5M", "30m1h", True, None])
def test_parse_duration_refuses_numbers_and_junk(bad: object) -> None:
    with pytest.raises(ValueError, match="unit"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(), "0 min"),
        (timedelta(seconds=45), "45 s"),
        (timedelta(minutes=10), "10 min"),
        (timedelta(hours=1), "1 h"),
        (timedelta(hours=1, minutes=30), "1 h 30 min"),
        (timedelta(minutes=2, seconds=5), "2 min 5 s"),
    ],
)
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


def test_parse_policy_builds_levels() -> None:
    p = policy(repeat=1)
    assert p == EscalationPolicy(
        "escalation",
        (
            Level(("@alice",), 10 * MIN),
            Level(("@bob", "@carol"), 15 * MIN),
            Level(("rotation:ml-oncall",), 5 * MIN),
        ),
        repeat=1,
    )


def test_plan_times_are_cumulative_waits_and_repeat_restarts_at_level_1() -> None:
    steps = plan(policy(repeat=1), T0)
    assert [(s.index, s.level, s.round, s.at - T0) for s in steps] == [
        (0, 1, 1, 0 * MIN),
        (1, 2, 1, 10 * MIN),
        (2, 3, 1, 25 * MIN),
        (3, 1, 2, 30 * MIN),
        (4, 2, 2, 40 * MIN),
        (5, 3, 2, 55 * MIN),
    ]
    assert steps[1].targets == ("@bob", "@carol")


@pytest.mark.parametrize(
    ("offset", "paged", "due_levels", "next_offset", "exhausted"),
    [
        (0 * MIN, 0, [1], 10 * MIN, False),  # opened: level 1 at once
        (10 * MIN - SEC, 1, [], 10 * MIN, False),  # just before level 2
        (10 * MIN, 1, [2], 25 * MIN, False),  # at level 2
        (25 * MIN - SEC, 2, [], 25 * MIN, False),
        (25 * MIN, 2, [3], 30 * MIN, False),  # at level 3; exhaustion next
        (30 * MIN - SEC, 3, [], 30 * MIN, False),  # last wait not over yet
        (30 * MIN, 3, [], None, True),  # exhausted exactly at the end of the last wait
        (2 * 60 * MIN, 3, [], None, True),
        (26 * MIN, 0, [1, 2, 3], 30 * MIN, False),  # down since the start: all missed at once
        (26 * MIN, 1, [2, 3], 30 * MIN, False),
        (40 * MIN, 0, [1, 2, 3], None, True),  # exhausted and never paged: still due
    ],
)
def test_due_at_every_boundary(
    offset: timedelta,
    paged: int,
    due_levels: list[int],
    next_offset: timedelta | None,
    exhausted: bool,
) -> None:
    state = due(policy(), T0, T0 + offset, acknowledged=False, paged=paged)
    assert [s.level for s in state.due] == due_levels
    assert state.next_at == (None if next_offset is None else T0 + next_offset)
    assert state.exhausted is exhausted
    assert state.levels == 3


def test_acknowledged_stops_everything() -> None:
    state = due(policy(repeat=2), T0, T0 + 11 * MIN, acknowledged=True, paged=1)
    assert state.due == ()
    assert state.next_at is None
    assert state.acknowledged
    assert not state.exhausted


@pytest.mark.parametrize(
    ("offset", "paged", "due_steps", "next_offset", "exhausted"),
    [
        (30 * MIN - SEC, 3, [], 30 * MIN, False),
        (30 * MIN, 3, [(1, 2)], 40 * MIN, False),  # round 2 starts at level 1
        (55 * MIN, 5, [(3, 2)], 60 * MIN, False),
        (60 * MIN - SEC, 6, [], 60 * MIN, False),
        (60 * MIN, 6, [], None, True),
    ],
)
def test_due_with_repeat(
    offset: timedelta,
    paged: int,
    due_steps: list[tuple[int, int]],
    next_offset: timedelta | None,
    exhausted: bool,
) -> None:
    state = due(policy(repeat=1), T0, T0 + offset, acknowledged=False, paged=paged)
    assert [(s.level, s.round) for s in state.due] == due_steps
    assert state.next_at == (None if next_offset is None else T0 + next_offset)
    assert state.exhausted is exhausted


def test_zero_wait_levels_page_together() -> None:
    p = parse_policy(
        {"levels": [{"notify": ["@a"], "wait": "0m"}, {"notify": ["@b"], "wait": "1m"}]},
        where="w",
    )
    state = due(p, T0, T0, acknowledged=False)
    assert [s.level for s in state.due] == [1, 2]
    assert state.next_at == T0 + MIN


def test_describe() -> None:
    assert describe(policy()) == (
        "Level 1: @alice now; level 2: @bob, @carol after 10 min without ack; "
        "level 3: rotation:ml-oncall after 25 min without ack; "
        "nobody acknowledged after 30 min: escalation exhausted."
    )
    assert describe(policy(repeat=2)) == (
        "Level 1: @alice now; level 2: @bob, @carol after 10 min without ack; "
        "level 3: rotation:ml-oncall after 25 min without ack; "
        "then again from level 1 every 30 min, 2 times; "
        "nobody acknowledged after 1 h 30 min: escalation exhausted."
    )


def test_name_defaults_to_the_key_and_may_be_given() -> None:
    assert parse_policy(RAW, where="w", key="policies.ml").name == "ml"
    assert parse_policy({**RAW, "name": "models"}, where="w").name == "models"


@pytest.mark.parametrize(
    ("raw", "key", "message"),
    [
        (None, "escalation", "mapping"),
        ({"levels": []}, "escalation.levels", "at least one level"),
        ({}, "escalation.levels", "at least one level"),
        ({"levels": [], "steps": 1}, "escalation.steps", "unknown key"),
        ({"levels": ["@a"]}, "escalation.levels[0]", "mapping"),
        ({"levels": [{"notify": ["@a"]}]}, "escalation.levels[0].wait", "missing"),
        (
            {"levels": [{"notify": ["@a"], "wait": "1m"}, {"notify": ["@b"], "wait": 10}]},
            "escalation.levels[1].wait",
            "unit",
        ),
        (
            {"levels": [{"notify": ["@a"], "wait": "1m"}, {"notify": ["@b"], "wait": "ten"}]},
            "escalation.levels[1].wait",
            "not a duration",
        ),
        ({"levels": [{"notify": [], "wait": "1m"}]}, "escalation.levels[0].notify", "at least"),
        ({"levels": [{"wait": "1m"}]}, "escalation.levels[0].notify", "at least"),
        (
            {"levels": [{"notify": ["@a", "alice"], "wait": "1m"}]},
            "escalation.levels[0].notify[1]",
            "'@person', 'rotation:NAME' or 'schedule:NAME'",
        ),
        (
            {"levels": [{"notify": ["rotation:"], "wait": "1m"}]},
            "escalation.levels[0].notify[0]",
            "rotation:NAME",
        ),
        (
            {"levels": [{"notify": ["@a", "@a"], "wait": "1m"}]},
            "escalation.levels[0].notify[1]",
            "twice",
        ),
        (
            {"levels": [{"notify": ["@a"], "wait": "1m", "sms": True}]},
            "escalation.levels[0].sms",
            "unknown key",
        ),
        (
            {"levels": [{"notify": ["@a"], "after": "0m"}]},
            "escalation.levels[0].after",
            "use 'wait'",
        ),
        ({**RAW, "repeat": -1}, "escalation.repeat", "0 to 10"),
        ({**RAW, "repeat": "1"}, "escalation.repeat", "0 to 10"),
        ({**RAW, "repeat": True}, "escalation.repeat", "0 to 10"),
        (
            {"levels": [{"notify": ["@a"], "wait": "0s"}], "repeat": 2},
            "escalation.repeat",
            "at least one level with a wait",
        ),
        ({**RAW, "name": ""}, "escalation.name", "non-empty"),
    ],
)
def test_parse_errors_name_the_key(raw: object, key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_policy(raw, where="vigil.yaml")
    assert info.value.key == key
    assert info.value.where == "vigil.yaml"
    assert str(info.value).startswith(f"vigil.yaml: {key}: ")
