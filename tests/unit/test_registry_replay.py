"""Rebuilding a model from Vigil's append-only record of moves: the last known good version
is the previous stable one in the record, whatever the outside registry holds now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.registry import rules
from bot.registry.replay import picture, replay
from bot.registry.serving import Found

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass(frozen=True)
class E:
    version: str
    kind: str
    minute: int
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def at(self) -> datetime:
        return T0 + timedelta(minutes=self.minute)


FOUND = [Found(v, T0 - timedelta(days=4 - int(v))) for v in ("1", "2", "3")]


def test_rollback_after_a_rollback_goes_one_step_further_back() -> None:
    record = [
        E("1", "promoted", 1),
        E("2", "promoted", 2),
        E("3", "canary", 3, {"to": 10}),
        E("3", "promoted", 4),
        E("2", "rollback", 5, {"from": "3", "to": "2"}),
    ]
    state = replay("m", record, FOUND, serving="1")  # MLflow's alias is not consulted
    assert [r.version for r in state.rows] == ["1", "2", "3"]
    assert picture(state.rows) == ("2", {"2": 100})
    assert state.adopted is None
    assert rules.last_known_good(state.rows, rules.stable_of(state.rows)) is state.rows[0]


def test_a_canary_share_comes_out_of_the_stable_one() -> None:
    state = replay("m", [E("1", "promoted", 1), E("2", "canary", 2, {"to": 25})], FOUND, None)
    assert picture(state.rows) == ("1", {"1": 75, "2": 25})
    paused = replay(
        "m",
        [E("1", "promoted", 1), E("2", "canary", 2, {"to": 25}), E("2", "paused", 3)],
        FOUND,
        None,
    )
    assert picture(paused.rows) == ("1", {"1": 100})


def test_until_vigil_moved_the_stable_version_the_outside_one_is_taken() -> None:
    state = replay("m", [], FOUND, serving="2")
    assert state.adopted == "2"
    assert picture(state.rows) == ("2", {"2": 100})
    assert replay("m", [], FOUND, serving=None).adopted is None
