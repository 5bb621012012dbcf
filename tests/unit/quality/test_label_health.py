"""Label health's statistics on tallies whose answers a user can check by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from bot.quality.labels.health import label_health
from bot.quality.labels.reference import ReferenceLabels, reference_labels
from bot.quality.labels.stats import (
    agreement_by_source,
    coverage,
    delay_quantile,
    estimate_gap,
    label_drift,
    label_noise,
)
from bot.quality.labels.tally import LabelKey, LabelTally, conf_bin, delay_bin
from bot.quality.panes import minute_of
from bot.quality.profile import build_profile
from bot.quality.sketch import SketchLayout

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def tally(
    rows: list[tuple[str, str, str, float | None, float | None]], times: int = 1
) -> LabelTally:
    """(label, predicted, source, confidence, delay seconds), each ``times`` times."""
    out = LabelTally()
    for label, predicted, source, conf, delay in rows:
        key = LabelKey(label, predicted, source, conf_bin(conf), delay_bin(delay))
        out.add(key, conf, times)
    return out


def test_a_tally_adds_in_any_order_and_survives_its_json() -> None:
    a = tally([("ok", "ok", "human-review", 0.95, 60.0)], 3)
    b = tally([("fraud", "ok", "chargeback", None, None), ("ok", "ok", "human-review", 0.95, 60)])
    assert (a + b).n == (b + a).n
    assert (a + b).total == 5
    back = LabelTally.from_json((a + b).to_json())
    assert back.n == (a + b).n
    assert back.conf == pytest.approx((a + b).conf)
    assert not LabelTally.from_json(None)  # a pane stored before 0019


def test_delay_quantiles_are_read_from_the_log_bins_within_their_width() -> None:
    rows = [("ok", "ok", "s", 0.9, 600.0)] * 50 + [("ok", "ok", "s", 0.9, 4 * 3600.0)] * 50
    t = LabelTally()
    for r in rows:
        t += tally([r])
    p50, p95 = delay_quantile(t, 0.5), delay_quantile(t, 0.95)
    assert p50 is not None
    assert p95 is not None
    assert 600 / 1.78 <= p50 <= 600 * 1.78  # ten minutes, to a bin's width
    assert 4 * 3600 / 1.78 <= p95 <= 4 * 3600 * 1.78  # four hours
    assert delay_quantile(tally([("ok", "ok", "s", 0.9, None)]), 0.5) is None


def test_coverage_counts_only_minutes_whose_labels_are_due() -> None:
    now = 1_000 * 60.0
    minutes = [(990, 100, 50), (995, 100, 40), (999, 100, 0)]  # the last one is too young
    found = coverage(minutes, wait=120.0, now_seconds=now, since=990)
    assert found is not None
    assert (found.rows, found.labelled, found.share) == (200, 90, 0.45)
    assert coverage(minutes, wait=None, now_seconds=now, since=0) is None


def test_label_drift_is_the_psi_of_the_label_mix() -> None:
    same = tally([("ok", "ok", "s", 0.9, 1.0)], 900) + tally([("fraud", "ok", "s", 0.9, 1)], 100)
    moved = tally([("ok", "ok", "s", 0.9, 1.0)], 500) + tally([("fraud", "ok", "s", 0.9, 1)], 500)
    reference = {"ok": 9_000, "fraud": 1_000}
    calm, drifted = label_drift(same, reference), label_drift(moved, reference)
    assert calm is not None
    assert drifted is not None
    assert calm.psi == pytest.approx(0.0, abs=1e-9)
    assert drifted.psi > 0.5  # half fraud against a tenth
    assert drifted.p_value < 1e-6
    assert drifted.mix == {"fraud": 500, "ok": 500}


def test_a_source_copying_the_predictions_has_a_disagreement_ratio_near_zero() -> None:
    honest = tally([("ok", "ok", "human-review", 0.9, 1.0)], 930) + tally(
        [("fraud", "ok", "human-review", 0.9, 1.0)], 70
    )
    copied = tally([("ok", "ok", "user-feedback", 0.9, 1.0)], 990) + tally(
        [("fraud", "ok", "user-feedback", 0.9, 1.0)], 10
    )
    by = {s.source: s for s in agreement_by_source(honest + copied, reference=0.93)}
    assert by["human-review"].agreement == pytest.approx(0.93)
    assert by["human-review"].ratio == pytest.approx(1.0)
    assert by["user-feedback"].agreement == pytest.approx(0.99)
    assert by["user-feedback"].ratio == pytest.approx(0.01 / 0.07)
    few = agreement_by_source(tally([("ok", "ok", "x", 0.9, 1.0)], 50), reference=0.93)
    assert few[0].ratio is None  # 50 labels expect 3.5 disagreements: nothing to judge


def test_noise_is_the_disagreement_beyond_what_confidence_explains() -> None:
    # 1,000 predictions at 0.97: the model errs 3 %; a fifth of the labels flipped.
    rng = np.random.default_rng(7)
    right = rng.random(1_000) < 0.97
    flipped = rng.random(1_000) < 0.2
    t = LabelTally()
    for r, f in zip(right, flipped, strict=True):
        agrees = r != f
        t += tally([("ok" if agrees else "fraud", "ok", "s", 0.97, 1.0)])
    noise = label_noise(t)
    assert noise is not None
    assert noise.expected == pytest.approx(0.03)
    assert noise.noise == pytest.approx(0.2, abs=0.04)
    assert noise.score == pytest.approx(0.8, abs=0.04)
    clean = label_noise(tally([("ok", "ok", "s", 0.97, 1.0)], 200))
    assert clean is not None
    assert clean.score == 1.0


def test_the_estimate_gap_is_judged_against_the_references() -> None:
    good = tally([("ok", "ok", "s", 0.9, 1.0)], 900) + tally([("fraud", "ok", "s", 0.9, 1.0)], 100)
    gap = estimate_gap(good, reference=0.01)
    assert gap is not None
    assert gap.trusted
    assert gap.gap == pytest.approx(0.0)
    worse = tally([("ok", "ok", "s", 0.9, 1.0)], 700) + tally([("fraud", "ok", "s", 0.9, 1.0)], 300)
    untrusted = estimate_gap(worse, reference=0.01)
    assert untrusted is not None
    assert not untrusted.trusted
    assert untrusted.excess == pytest.approx(0.19)


def test_reference_labels_from_pair_counts() -> None:
    found = reference_labels([("ok", "ok", 90), ("ok", "fraud", 10), (None, "ok", 5)], 0.95)
    assert found == ReferenceLabels({"fraud": 10, "ok": 95}, 100, 0.9, pytest.approx(0.05))


def test_label_health_reads_the_recent_labels_of_the_panes() -> None:
    profile = build_profile({"x": [1.0, 2.0, 3.0] * 100}, prediction=["ok"] * 300)
    layout = SketchLayout(profile)
    minute = minute_of(NOW) - 30
    copied = tally([("ok", "ok", "user-feedback", 0.95, 300.0)], 400)
    panes = [(minute, layout.labels({("ok", "ok"): 400}, copied))]
    ref = ReferenceLabels({"ok": 930, "fraud": 70}, 1_000, 0.93, 0.01)
    health = label_health(panes, layout, ref, NOW, limit=5_000)
    assert health is not None
    (source,) = health.sources
    assert source.ratio == 0.0
    said = health.agreement_words(source)
    assert said == (
        "labels may be copying predictions: agreement 1.00 from user-feedback (400 labels) "
        "vs 0.93 in the reference"
    )
    assert label_health([], layout, ref, NOW, limit=5_000) is None
