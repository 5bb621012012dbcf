"""The mergeable sketch: any split of the same rows, merged in any order, reads the same."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.quality.batch import ColumnBatch, encode_columns
from bot.quality.profile import ReferenceProfile, build_profile
from bot.quality.sketch import Sketch, SketchLayout, merge
from bot.quality.windows import ModelWindow, WindowSpec, snapshot_of

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MICROS = 1_764_000_000_000_000


def _profile(bins: int = 6) -> ReferenceProfile:
    rng = np.random.default_rng(7)
    return build_profile(
        {"x": rng.normal(size=500), "c": list(rng.choice(["a", "b", "c"], 500))},
        prediction=list(rng.choice(["yes", "no"], 500)),
        confidence=rng.uniform(0.5, 1.0, 500),
        bins=bins,
    )


def _batch(profile: ReferenceProfile, n: int, seed: int) -> ColumnBatch:
    rng = np.random.default_rng(seed)
    xs = rng.normal(0.5, 1.5, n)
    xs[rng.random(n) < 0.05] = np.nan
    cs: list[str | None] = list(rng.choice(["a", "b", "z"], n))
    return encode_columns(
        profile,
        {"x": xs, "c": cs},
        list(rng.choice(["yes", "no", "maybe"], n)),
        confidence=rng.uniform(0.3, 1.0, n),
        rejected=3,
    ).batch


def _same(a: Sketch, b: Sketch) -> None:
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_allclose(a.sums, b.sums, rtol=1e-12)
    assert (a.first, a.last, a.confusion) == (b.first, b.last, b.confusion)


def test_parts_merged_in_any_order_equal_the_whole() -> None:
    profile = _profile()
    layout = SketchLayout(profile)
    whole = _batch(profile, 1_000, seed=1)
    one = layout.count(whole, MICROS)
    cuts = [0, 10, 333, 334, 900, 1_000]
    parts = [layout.count(whole.rows(a, b), MICROS) for a, b in itertools.pairwise(cuts)]
    parts[2].counts[layout.rejected_at] = whole.rejected  # a slice carries none
    rng = np.random.default_rng(3)
    for _ in range(5):
        order = rng.permutation(len(parts))
        merged = merge((parts[i] for i in order), layout)
        _same(merged, one)


def test_a_sketch_counts_what_a_user_would_count() -> None:
    profile = _profile()
    layout = SketchLayout(profile)
    batch = _batch(profile, 400, seed=2)
    sketch = layout.count(batch, MICROS)
    snap = snapshot_of(layout, sketch, T0)
    assert snap.n_rows == 400
    assert snap.n_rejected == 3
    assert snap.missing["x"] == int(np.isnan(batch.features["x"]).sum())
    assert sum(snap.counts["x"]) + snap.missing["x"] == 400
    assert snap.confidence_sum == pytest.approx(float(batch.confidence.sum()))  # type: ignore[union-attr]
    assert snap.first_seen == snap.last_seen  # no timestamps: every row at its arrival


def test_labels_merge_as_counts() -> None:
    layout = SketchLayout(_profile())
    a = layout.labels({("yes", "yes"): 3, ("no", "yes"): 1})
    b = layout.labels({("yes", "yes"): 2})
    assert (a + b).confusion == {("yes", "yes"): 5, ("no", "yes"): 1}
    assert (a + b).labelled == 6
    assert Sketch.confusion_from_json((a + b).confusion_json()) == (a + b).confusion


def test_sketches_counted_on_other_bins_are_refused() -> None:
    four, six = SketchLayout(_profile(4)), SketchLayout(_profile(6))
    assert four.digest != six.digest
    assert SketchLayout(_profile(4)).digest == four.digest  # same edges, same name
    with pytest.raises(ValueError, match="other bins"):
        four.empty() + six.empty()


def test_a_window_is_the_merge_of_its_panes() -> None:
    profile = _profile()
    window = ModelWindow(profile, WindowSpec(duration=timedelta(minutes=10)))
    for minute in range(14):
        window.add_batch(_batch(profile, 50 + minute, seed=minute), T0 + timedelta(minutes=minute))
    now = T0 + timedelta(minutes=13, seconds=30)
    panes = window.pane_sketches(now)
    assert len(panes) == 10
    assert [window.layout.rows(p) for p in panes] == [54 + k for k in range(10)]
    _same(merge(panes, window.layout), window.sketch(now))
