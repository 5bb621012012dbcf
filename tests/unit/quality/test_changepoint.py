"""The inputs' change-point test over a window's panes (``bot.quality.drift.changepoint``).

What a user relies on: reference-like traffic does not alarm beyond the stated rate, a real
shift alarms within three panes of 100 rows, the rows since the change are counted right,
and the alert names the features that moved (and only those)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from bot.quality.batch import ColumnBatch, encode_columns
from bot.quality.drift.changepoint import chi_square, detect_change, log_p_value
from bot.quality.profile import ReferenceProfile, build_profile
from bot.quality.sketch import Sketch, SketchLayout
from bot.quality.windows import ModelWindow, WindowSpec

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
REGIONS = ["north", "south", "east", "west"]
MIX = [0.4, 0.3, 0.2, 0.1]


def _columns(
    n: int, rng: np.random.Generator, *, income: float = 0.0, region: bool = False
) -> dict[str, Any]:
    return {
        "income": rng.normal(55 + income * 18, 18, n),
        "debt": rng.normal(0.35, 0.12, n),
        "age": rng.gamma(3.0, 3.0, n),
        "region": list(rng.choice(REGIONS, n, p=[0.1, 0.1, 0.2, 0.6] if region else MIX)),
    }


@pytest.fixture(scope="module")
def profile() -> ReferenceProfile:
    return build_profile(_columns(20_000, np.random.default_rng(0)))


def _batch(profile: ReferenceProfile, columns: dict[str, Any]) -> ColumnBatch:
    n = len(columns["income"])
    return encode_columns(profile, columns, [None] * n).batch


def _pane(
    profile: ReferenceProfile, layout: SketchLayout, n: int, rng: np.random.Generator, **shift: Any
) -> Sketch:
    return layout.count(_batch(profile, _columns(n, rng, **shift)), 0)


def _panes(
    profile: ReferenceProfile, seed: int, calm: int = 10, moved: int = 0, **shift: Any
) -> list[Sketch]:
    layout = SketchLayout(profile)
    rng = np.random.default_rng(seed)
    return [_pane(profile, layout, 100, rng) for _ in range(calm)] + [
        _pane(profile, layout, 100, rng, **shift) for _ in range(moved)
    ]


def test_reference_like_panes_alarm_no_more_often_than_the_rate_allows(
    profile: ReferenceProfile,
) -> None:
    """300 seeded windows of ten 100-row panes; at alpha 0.05 (to have something to count)
    the alarms stay within the binomial spread of the rate, and at the default none."""
    layout = SketchLayout(profile)
    loose = strict = 0
    for seed in range(300):
        panes = _panes(profile, seed)
        loose += bool((c := detect_change(layout, panes, alpha=0.05)) and c.alarm)
        strict += bool((c := detect_change(layout, panes)) and c.alarm)
    assert loose <= 300 * 0.05 + 3 * (300 * 0.05 * 0.95) ** 0.5  # 15 expected at most, +3 sd
    assert strict == 0


def test_a_shift_alarms_within_three_panes_and_dates_the_change(profile: ReferenceProfile) -> None:
    layout = SketchLayout(profile)
    for seed in range(5):
        for moved in (1, 2, 3):
            change = detect_change(layout, _panes(profile, seed, 10 - moved, moved, income=1.0))
            assert change is not None, (seed, moved)
            assert change.alarm, (seed, moved)
            assert change.rows == 100 * moved
            assert change.panes == moved
            assert [m.feature for m in change.moved] == ["income"]
            assert change.psi is not None
            assert change.psi > 0.5
            assert change.p_value <= change.alpha


def test_a_shifted_category_mix_is_named(profile: ReferenceProfile) -> None:
    change = detect_change(SketchLayout(profile), _panes(profile, 3, 7, 3, region=True))
    assert change is not None
    assert change.alarm
    assert change.top_features().startswith("region ")
    assert {m.feature for m in change.moved} == {"region"}


def test_the_whole_window_moved_reads_as_a_change_of_all_its_rows(
    profile: ReferenceProfile,
) -> None:
    change = detect_change(SketchLayout(profile), _panes(profile, 4, 0, 10, income=1.0))
    assert change is not None
    assert change.alarm
    assert change.rows == 1_000


def test_too_few_rows_test_nothing(profile: ReferenceProfile) -> None:
    layout = SketchLayout(profile)
    rng = np.random.default_rng(1)
    assert detect_change(layout, [_pane(profile, layout, 40, rng, income=3.0)]) is None
    assert detect_change(layout, []) is None
    assert detect_change(layout, [layout.empty()]) is None
    with pytest.raises(ValueError, match="alpha"):
        detect_change(layout, [], alpha=0)


def test_it_reads_a_window_pane_by_pane(profile: ReferenceProfile) -> None:
    """Through ``ModelWindow.pane_sketches``: the same rows, the same answer."""
    window = ModelWindow(profile, WindowSpec(rows=1_000))
    rng = np.random.default_rng(5)
    for minute in range(10):
        shifted = minute >= 8
        columns = _columns(100, rng, income=1.0 if shifted else 0.0)
        window.add_batch(_batch(profile, columns), T0 + timedelta(minutes=minute))
    change = detect_change(window.layout, window.pane_sketches(T0 + timedelta(minutes=10)))
    assert change is not None
    assert change.alarm
    assert (change.rows, change.panes) == (200, 2)


def test_the_chi_square_pools_thin_bins_and_matches_the_textbook_value() -> None:
    reference = np.array([500, 300, 150, 40, 10, 0])
    current = np.array([[50, 30, 15, 3, 1, 1]])
    stat, dof = chi_square(reference, current)
    # Pooled smallest first until the pool expects 5 of 100 rows: 0 + 10 + 40 counts, so
    # bins {0, 10, 40} form one: a 2 x 4 table.
    table = np.array([[500, 300, 150, 50], [50, 30, 15, 5]], dtype=float)
    expected = np.outer(table.sum(1), table.sum(0)) / table.sum()
    assert dof[0] == 3
    assert stat[0] == pytest.approx(float(np.sum((table - expected) ** 2 / expected)))
    assert np.exp(log_p_value(np.array([7.815]), np.array([3])))[0] == pytest.approx(0.05, abs=1e-4)
    assert log_p_value(np.array([1e5]), np.array([9]))[0] < -4e4  # underflow: still ordered
