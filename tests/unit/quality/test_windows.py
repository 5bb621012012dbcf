"""Streaming windows: reference bins, eviction by rows and by time, bounded memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.core.errors import ValidationError
from bot.quality.batch import ColumnBatch, encode_columns
from bot.quality.profile import ReferenceProfile, build_profile
from bot.quality.windows import ModelWindow, WindowSpec

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # on a 6-minute pane boundary


def _profile() -> ReferenceProfile:
    # x = 0..99 in 4 bins: cut points 24.75, 49.5, 74.25; range [0, 99].
    return build_profile(
        {"x": np.arange(100.0), "c": ["a", "b"] * 50},
        prediction=["yes"] * 60 + ["no"] * 40,
        confidence=np.linspace(0.5, 1.0, 100),
        bins=4,
    )


def _batch(
    profile: ReferenceProfile,
    xs: Sequence[float | None],
    *,
    cs: Sequence[str | None] | None = None,
    confidence: Sequence[float] | None = None,
    stamps: Sequence[str] | None = None,
    rejected: int = 0,
) -> ColumnBatch:
    n = len(xs)
    return encode_columns(
        profile,
        {"x": np.array(xs, dtype=np.float64), "c": list(cs or ["a"] * n)},
        ["yes"] * n,
        confidence=None if confidence is None else np.array(confidence),
        timestamps=None if stamps is None else np.array(stamps, dtype="datetime64[us]"),
        rejected=rejected,
    ).batch


def test_counts_land_on_reference_bins() -> None:
    profile = _profile()
    window = ModelWindow(profile, WindowSpec(rows=1000))
    window.add_batch(
        _batch(profile, [0, 30, 60, 90, 200, None], cs=["a", "b", "z", None, "a", "a"]), T0
    )
    snap = window.snapshot(T0)
    assert snap.counts["x"].tolist() == [1, 1, 1, 2]  # 200 lands in the last bin
    assert snap.missing == {"x": 1, "c": 1}
    assert snap.outside == {"x": 1, "c": 1}  # 200 > max 99; "z" never seen
    assert snap.counts["c"].tolist() == [3, 1, 1]  # a, b, then the unseen bucket
    assert snap.prediction_counts.tolist() == [6, 0, 0]
    assert (snap.n_rows, snap.n_clean) == (6, 2)  # rows 0 and 30 only
    assert snap.clean_share == pytest.approx(2 / 6)


def test_rejected_rows_count_against_the_clean_share() -> None:
    profile = _profile()
    window = ModelWindow(profile, WindowSpec(rows=1000))
    window.add_batch(_batch(profile, [10, 20, 30], rejected=1), T0)
    snap = window.snapshot(T0)
    assert (snap.n_rows, snap.n_rejected, snap.n_received) == (3, 1, 4)
    assert snap.clean_share == pytest.approx(3 / 4)


def test_confidence_sums_give_expected_accuracy_and_its_variance() -> None:
    profile = _profile()
    window = ModelWindow(profile, WindowSpec(rows=1000))
    window.add_batch(_batch(profile, [10, 20], confidence=[0.9, 0.6]), T0)
    snap = window.snapshot(T0)
    assert snap.mean_confidence == pytest.approx(0.75)
    assert snap.confidence_variance_sum == pytest.approx(0.9 * 0.1 + 0.6 * 0.4)
    assert snap.expected_accuracy_variance == pytest.approx(0.33 / 4)
    assert snap.n_confidence == 2


def test_empty_window_reads_as_none() -> None:
    snap = ModelWindow(_profile(), WindowSpec(rows=10)).snapshot(T0)
    assert snap.n_rows == 0
    assert snap.clean_share is None
    assert snap.mean_confidence is None
    assert snap.span is None


def test_row_window_drops_the_oldest_pane() -> None:
    profile = _profile()
    window = ModelWindow(profile, WindowSpec(rows=100), panes=10)  # 10 rows a pane
    window.add_batch(_batch(profile, [10.0] * 100), T0)
    assert window.snapshot(T0).counts["x"].tolist() == [100, 0, 0, 0]
    window.add_batch(_batch(profile, [90.0] * 10), T0)
    assert window.snapshot(T0).counts["x"].tolist() == [90, 0, 0, 10]
    window.add_batch(_batch(profile, [90.0] * 5), T0)  # a new pane starts: the oldest leaves
    snap = window.snapshot(T0)
    assert snap.counts["x"].tolist() == [80, 0, 0, 15]
    assert snap.n_rows == 95  # "last 100 rows, to within one pane"


def test_batch_larger_than_the_row_window_keeps_only_its_newest_rows() -> None:
    profile = _profile()
    window = ModelWindow(profile, WindowSpec(rows=100), panes=10)
    window.add_batch(_batch(profile, [10.0] * 150 + [90.0] * 100, rejected=7), T0)
    snap = window.snapshot(T0)
    # 257 rows received: panes of 10 from row 160 survive, the 7 rejected rows last.
    assert snap.counts["x"].tolist() == [0, 0, 0, 90]
    assert (snap.n_rejected, snap.n_received) == (7, 97)


def test_time_window_evicts_rows_older_than_the_duration() -> None:
    profile = _profile()
    window = ModelWindow(profile, WindowSpec(duration=timedelta(hours=1)), panes=10)
    window.add_batch(_batch(profile, [10.0, 10.0]), T0)
    window.add_batch(_batch(profile, [90.0]), T0 + timedelta(minutes=30))
    assert window.snapshot(T0 + timedelta(minutes=59)).n_rows == 3
    snap = window.snapshot(T0 + timedelta(minutes=61))
    assert snap.counts["x"].tolist() == [0, 0, 0, 1]
    assert window.snapshot(T0 + timedelta(hours=2)).n_rows == 0


def test_time_never_goes_backwards() -> None:
    profile = _profile()
    window = ModelWindow(profile, WindowSpec(duration=timedelta(hours=1)))
    window.add_batch(_batch(profile, [10.0]), T0 + timedelta(minutes=30))
    window.add_batch(_batch(profile, [10.0]), T0)  # a late clock: counted in the newest pane
    assert window.snapshot(T0 + timedelta(minutes=80)).n_rows == 2
    assert window.snapshot(T0 + timedelta(minutes=91)).n_rows == 0


def test_span_uses_row_timestamps_or_arrival_time() -> None:
    profile = _profile()
    window = ModelWindow(profile, WindowSpec(rows=1000))
    window.add_batch(
        _batch(profile, [1.0, 2.0], stamps=["2026-11-24T11:00:00", "2026-11-24T11:30:00"]), T0
    )
    window.add_batch(_batch(profile, [3.0]), T0 + timedelta(minutes=5))
    snap = window.snapshot(T0 + timedelta(minutes=5))
    assert snap.first_seen == datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    assert snap.last_seen == T0 + timedelta(minutes=5)
    assert snap.span == timedelta(hours=1, minutes=5)


def test_snapshot_is_a_read_only_copy() -> None:
    profile = _profile()
    window = ModelWindow(profile, WindowSpec(rows=1000))
    window.add_batch(_batch(profile, [10.0]), T0)
    snap = window.snapshot(T0)
    window.add_batch(_batch(profile, [10.0]), T0)
    assert snap.counts["x"].tolist() == [1, 0, 0, 0]
    with pytest.raises(ValueError, match="read-only"):
        snap.counts["x"][0] = 5


def test_memory_does_not_grow_with_traffic() -> None:
    rng = np.random.default_rng(7)
    names = [f"f{i}" for i in range(20)]
    profile = build_profile({name: rng.normal(size=500) for name in names}, bins=10)
    window = ModelWindow(profile, WindowSpec(rows=5000))
    batch = encode_columns(
        profile, {name: rng.normal(size=1000) for name in names}, [0.0] * 1000
    ).batch
    window.add_batch(batch, T0)
    after_thousand = window.nbytes
    for _ in range(99):
        window.add_batch(batch, T0)
    assert window.nbytes == after_thousand
    assert window.snapshot(T0).n_rows == 5000
    assert after_thousand < 64 * 1024  # 20 features x 10 bins x 10 panes, not rows


def test_window_spec_needs_exactly_one_bound() -> None:
    with pytest.raises(ValidationError):
        WindowSpec()
    with pytest.raises(ValidationError):
        WindowSpec(rows=10, duration=timedelta(minutes=1))
    with pytest.raises(ValidationError):
        WindowSpec(rows=0)
    assert WindowSpec(rows=500).describe() == "last 500 rows"


def test_naive_time_and_incomplete_batches_are_programming_errors() -> None:
    profile = _profile()
    window = ModelWindow(profile, WindowSpec(rows=10))
    with pytest.raises(ValueError, match="timezone"):
        window.add_batch(_batch(profile, [1.0]), datetime(2026, 1, 1))
    partial = ColumnBatch(
        features={"x": np.array([1.0])}, prediction=np.array([0]), clean=np.array([True])
    )
    with pytest.raises(ValueError, match="lacks features"):
        window.add_batch(partial, T0)


def test_a_feature_named_prediction_keeps_its_own_bins() -> None:
    profile = build_profile({"prediction": np.arange(10.0)}, prediction=["a", "b"] * 5, bins=2)
    window = ModelWindow(profile, WindowSpec(rows=10))
    batch = encode_columns(profile, {"prediction": np.array([1.0, 8.0])}, ["b", "b"]).batch
    window.add_batch(batch, T0)
    snap = window.snapshot(T0)
    assert snap.counts["prediction"].tolist() == [1, 1]
    assert snap.prediction_counts.tolist() == [0, 2, 0]


def test_running_totals_match_a_recount_of_the_live_rows() -> None:
    profile = _profile()
    window = ModelWindow(profile, WindowSpec(rows=100), panes=10)
    rng = np.random.default_rng(3)
    seen: list[float] = []
    for _ in range(40):
        xs = rng.uniform(-10, 110, size=int(rng.integers(0, 37))).tolist()
        window.add_batch(_batch(profile, xs), T0)
        seen += xs
        first_live = ((len(seen) - 1) // 10 - 9) * 10  # the 10 newest panes of 10 rows
        live = np.array(seen[max(0, first_live) :])
        expected = np.bincount(
            np.searchsorted([24.75, 49.5, 74.25], live, side="right"), minlength=4
        )
        snap = window.snapshot(T0)
        assert snap.counts["x"].tolist() == expected.tolist()
        assert snap.outside["x"] == int(((live < 0) | (live > 99)).sum())
