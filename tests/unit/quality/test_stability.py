"""Feature-importance stability: tau of the top-k rankings, entries, exits and rank moves."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.errors import ValidationError
from bot.quality.stability import RankMove, importance_stability

REFERENCE = {"income": 0.9, "debt_ratio": 0.7, "age": 0.5, "tenure": 0.3, "region": 0.1}


def test_identical_importances_are_perfectly_stable() -> None:
    result = importance_stability(REFERENCE, dict(REFERENCE))
    assert result.tau == pytest.approx(1.0)
    assert (result.entered, result.left, result.moves) == ((), (), ())
    assert result.k == 5


def test_scale_does_not_matter_only_order() -> None:
    scaled = {name: value * 100 for name, value in REFERENCE.items()}
    assert importance_stability(REFERENCE, scaled).tau == pytest.approx(1.0)


def test_reversed_ranking_gives_minus_one() -> None:
    reversed_ = {name: 1.0 - value for name, value in REFERENCE.items()}
    result = importance_stability(REFERENCE, reversed_)
    assert result.tau == pytest.approx(-1.0)
    assert result.moves[0] == RankMove("income", 1, 5)
    assert result.moves[0].describe() == "income fell from rank 1 to rank 5"
    assert {m.feature for m in result.moves} == {"income", "debt_ratio", "tenure", "region"}


def test_feature_leaving_the_top_k() -> None:
    reference = {f"f{i}": float(10 - i) for i in range(8)}  # f0 first ... f7 last
    current = dict(reference, f0=0.5)  # f0 falls to the bottom (rank 8)
    result = importance_stability(reference, current, k=3)
    assert result.left == ("f0",)
    assert result.entered == ("f3",)
    assert result.moves[0] == RankMove("f0", 1, 8)
    assert result.moves[0].describe() == "f0 fell from rank 1 to rank 8"
    assert result.moves[1].describe() == "f1 rose from rank 2 to rank 1"
    assert -1.0 < result.tau < 1.0


def test_feature_missing_on_one_side() -> None:
    current = {"debt_ratio": 0.9, "age": 0.8, "tenure": 0.3, "region": 0.1, "new": 0.2}
    result = importance_stability(REFERENCE, current, k=2)
    assert result.left == ("income",)
    assert result.entered == ("age",)
    assert result.moves[0] == RankMove("income", 1, None)
    assert result.moves[0].shift is None
    assert result.moves[0].describe() == ("income (rank 1) is missing from the current importances")
    appeared = importance_stability(current, REFERENCE, k=2).moves[0]
    assert appeared.describe() == "income appeared at rank 1"


def test_ties_are_broken_by_name() -> None:
    result = importance_stability({"b": 1.0, "a": 1.0}, {"a": 1.0, "b": 1.0}, k=1)
    assert result.tau == 1.0
    assert result.p_value == 1.0
    assert result.moves == ()


def test_k_larger_than_feature_count_uses_all() -> None:
    result = importance_stability({"a": 2.0, "b": 1.0}, {"a": 1.0, "b": 2.0}, k=10)
    assert result.tau == pytest.approx(-1.0)
    assert result.k == 10


@pytest.mark.parametrize(
    ("reference", "current", "k", "field", "detail"),
    [
        ({}, REFERENCE, 5, "reference", "has no features"),
        (REFERENCE, {}, 5, "current", "has no features"),
        (REFERENCE, REFERENCE, 0, "k", "must be an integer of at least 1, got 0"),
        (
            {"a": 1.0},
            {"b": 1.0},
            5,
            "current",
            "shares no feature with the reference; are these the same model's features?",
        ),
        ({"a": float("nan")}, REFERENCE, 5, "reference.a", "must be finite, got nan"),
        (REFERENCE, {"a": "high"}, 5, "current.a", "must be a number, got 'high'"),
    ],
)
def test_bad_input(reference: Any, current: Any, k: int, field: str, detail: str) -> None:
    with pytest.raises(ValidationError) as info:
        importance_stability(reference, current, k=k)
    assert (info.value.field, info.value.detail) == (field, detail)
