"""Shadow mode's pure parts: what a pair and a label count, and the comparison's numbers.

Counting (``bot.quality.compare.shadow``): a pair's agreement, bins, latencies and
segments; labels for both sides; tallies counted apart (by two replicas) add up to the
tally of everything, through their stored form. The comparison (``bot.rollout.shadow``):
agreement (classes; numbers within a tolerance), the score distance, latency percentiles
(from histograms, within their precision), segments ranked with a minimum count, and the
verdict. Which rows pair (the window, duplicates, bounds) is the store's:
``tests/integration/test_shadow_store.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from bot.core.errors import ValidationError
from bot.monitoring.shadow_rows import is_shadow, shadow_rows
from bot.quality.compare.shadow import PairRow, ShadowScorer, ShadowTally
from bot.quality.compare.shadow_codec import row_of, row_text, summed, tally_of, tally_values
from bot.quality.profile import OTHER, ReferenceProfile, build_profile
from bot.rollout.shadow import ShadowSettings, ShadowVerdict, compare, top_segments


def classifier() -> ReferenceProfile:
    rng = np.random.default_rng(1)
    n = 2_000
    return build_profile(
        {
            "income": rng.normal(50, 10, n).tolist(),
            "channel": rng.choice(["web", "app", "pos"], n).tolist(),
        },
        prediction=rng.choice(["fraud", "ok"], n, p=[0.1, 0.9]).tolist(),
        confidence=rng.uniform(0.5, 1.0, n).tolist(),
    )


def regressor() -> ReferenceProfile:
    rng = np.random.default_rng(2)
    n = 2_000
    return build_profile(
        {"x": rng.normal(0, 1, n).tolist()}, prediction=rng.normal(100, 10, n).tolist()
    )


def row(i: int, prediction: str | float, **kw: object) -> PairRow:
    return PairRow(f"r{i}", prediction, **kw)  # type: ignore[arg-type]


def test_a_pair_counts_agreement_bins_latency_and_segments() -> None:
    scorer = ShadowScorer(classifier())
    tally = scorer.empty("v8")
    segs = (("channel", "web"),)
    scorer.pair(tally, row(1, "ok", confidence=0.9, latency_ms=20.0, segments=segs), row(1, "ok"))
    scorer.pair(
        tally,
        row(2, "ok", confidence=0.9, latency_ms=20.0, segments=segs),
        row(2, "fraud", confidence=0.6, latency_ms=35.0),
    )
    assert (tally.pairs, tally.agree) == (2, 1)
    assert int(tally.live_counts.sum()) == int(tally.shadow_counts.sum()) == 2
    assert int(tally.live_conf.sum()) == 1  # only the pair with both confidences
    assert tally.latency_pairs == 1
    assert tally.latency_range == [20.0, 20.0, 35.0, 35.0]
    assert tally.segment_pairs[("channel", "web")] == 2
    assert tally.segment_disagree[("channel", "web")] == 1


def test_labels_count_for_both_sides() -> None:
    scorer = ShadowScorer(classifier())
    tally = scorer.empty("v8")
    for live, shadow, label in (
        ("ok", "ok", "ok"),
        ("fraud", "ok", "fraud"),
        ("ok", "fraud", "fraud"),
    ):
        scorer.label(tally, live, shadow, label)
    assert (tally.labelled, tally.live_correct, tally.shadow_correct) == (3, 2, 2)
    assert (tally.live_only, tally.shadow_only) == (1, 1)


def test_tallies_written_apart_add_up_to_the_tally_of_everything() -> None:
    """What two replicas count apart, summed, is what one process given every pair counts:
    the comparison read from the sum is the same."""
    profile = classifier()
    scorer = ShadowScorer(profile)
    whole, one, two = scorer.empty("v8"), scorer.empty("v8"), scorer.empty("v8")
    rng = np.random.default_rng(4)
    for i in range(600):
        segs = (("channel", str(rng.choice(["web", "app", "pos"]))),)
        live = row(i, "ok", confidence=0.9, latency_ms=float(rng.gamma(4, 5)), segments=segs)
        guess = "fraud" if rng.random() < 0.1 else "ok"
        shadow = row(i, guess, confidence=0.8, latency_ms=float(rng.gamma(4, 6)))
        scorer.pair(whole, live, shadow)
        scorer.pair(one if i % 3 else two, live, shadow)
    one.unmatched, two.duplicates = 2, 1
    whole.unmatched, whole.duplicates = 2, 1
    stored = [tally_values(t) for t in (one, two)]
    summed_up = summed(scorer.empty("v8"), stored)
    assert compare(summed_up, profile) == compare(whole, profile)
    assert (summed_up.unmatched, summed_up.duplicates) == (2, 1)
    with pytest.raises(ValueError, match="does not fit"):  # another reference's bins
        tally_of(ShadowScorer(regressor()).empty("v8"), *stored[0])


def test_a_waiting_row_round_trips_as_text() -> None:
    for original in (
        row(1, "ok", confidence=0.5, latency_ms=3.5, segments=(("channel", OTHER),)),
        row(2, 101.25),
    ):
        assert row_of(original.id, row_text(original)) == original


def test_latency_percentiles_come_from_the_histogram_within_its_precision() -> None:
    scorer = ShadowScorer(classifier())
    tally = scorer.empty("v8")
    rng = np.random.default_rng(6)
    live, shadow = rng.lognormal(3.0, 0.5, 5_000), rng.lognormal(3.3, 0.4, 5_000)
    for i, (a, b) in enumerate(zip(live, shadow, strict=True)):
        scorer.pair(tally, row(i, "ok", latency_ms=float(a)), row(i, "ok", latency_ms=float(b)))
    c = compare(tally, classifier())
    assert c.latency.n == 5_000
    for got, values, q in (
        (c.latency.live_p50, live, 0.5),
        (c.latency.live_p99, live, 0.99),
        (c.latency.shadow_p50, shadow, 0.5),
        (c.latency.shadow_p99, shadow, 0.99),
    ):
        assert got == pytest.approx(float(np.quantile(values, q)), rel=0.06)


def test_numeric_predictions_agree_within_the_tolerance() -> None:
    profile = regressor()
    scorer = ShadowScorer(profile, tolerance=0.1)
    assert scorer.tolerance == pytest.approx(0.1 * profile.prediction.std)  # type: ignore[union-attr]
    t = scorer.empty("v8")
    scorer.pair(t, row(1, 100.0), row(1, 100.5))
    scorer.pair(t, row(2, 100.0), row(2, 103.0))
    assert (t.pairs, t.agree) == (2, 1)
    c = compare(t, profile, tolerance=scorer.tolerance)
    assert c.mean_abs_diff == pytest.approx(1.75)
    assert c.prediction_wasserstein is not None


def paired(
    n: int,
    *,
    differ: float,
    seed: int = 0,
    segment_rates: dict[str, float] | None = None,
    latency: tuple[float, float] = (20.0, 20.0),
) -> tuple[Paired, ReferenceProfile]:
    """``n`` pairs, the shadow differing on ``differ`` of them (or by segment)."""
    profile = classifier()
    scorer = ShadowScorer(profile)
    tally = scorer.empty("v8")
    rng = np.random.default_rng(seed)
    channels = rng.choice(["web", "app", "pos"], n)
    predictions = {}
    for i in range(n):
        rate = (segment_rates or {}).get(str(channels[i]), differ)
        flip = rng.random() < rate
        segs = (("channel", str(channels[i])),)
        live = row(i, "ok", confidence=0.9, latency_ms=latency[0], segments=segs)
        shadow = row(i, "fraud" if flip else "ok", confidence=0.9, latency_ms=latency[1])
        scorer.pair(tally, live, shadow)
        predictions[live.id] = ("ok", str(shadow.prediction))
    return Paired(scorer, tally, predictions), profile


@dataclass
class Paired:
    """A tally of pairs, and each pair's two classes until its label comes."""

    scorer: ShadowScorer
    tally: ShadowTally
    predictions: dict[str, tuple[str, str]]

    @property
    def tallies(self) -> dict[str, ShadowTally]:
        return {"v8": self.tally}

    def label(self, labels: list[tuple[str, str]]) -> None:
        for row_id, label in labels:
            found = self.predictions.pop(row_id, None)
            if found is not None:
                self.scorer.label(self.tally, *found, label)


def test_agreement_distance_and_latency_figures() -> None:
    book, profile = paired(1_000, differ=0.0, latency=(20.0, 30.0))
    c = compare(book.tallies["v8"], profile)
    assert c.pairs == 1_000
    assert c.agreement == 1.0
    assert c.prediction_psi == pytest.approx(0.0)
    assert c.confidence_psi == pytest.approx(0.0)
    assert (c.latency.live_p50, c.latency.shadow_p99) == (20.0, 30.0)
    assert c.latency.n == 1_000


def test_identical_outputs_are_ready_to_canary() -> None:
    book, profile = paired(1_000, differ=0.0)
    c = compare(book.tallies["v8"], profile)
    assert c.verdict is ShadowVerdict.READY
    assert "ready to canary" in c.reasons[0]


def test_too_few_pairs_is_not_yet_never_disagrees() -> None:
    book, profile = paired(50, differ=1.0)
    c = compare(book.tallies["v8"], profile)
    assert c.verdict is ShadowVerdict.NOT_YET
    assert c.reasons == ("only 50 pairs so far, 200 needed for a verdict",)


def test_a_shadow_that_often_differs_disagrees_and_says_why() -> None:
    book, profile = paired(1_000, differ=0.3)
    c = compare(book.tallies["v8"], profile)
    assert c.verdict is ShadowVerdict.DISAGREES
    assert any("proven above the 5.0% allowed" in r for r in c.reasons)
    assert any("prediction distribution moved" in r for r in c.reasons)


def test_agreement_near_the_allowance_is_not_yet() -> None:
    book, profile = paired(400, differ=0.05, seed=3)
    c = compare(book.tallies["v8"], profile, settings=ShadowSettings(psi_limit=10))
    assert c.verdict is ShadowVerdict.NOT_YET
    assert "keep shadowing" in c.reasons[0]


def test_a_slower_shadow_disagrees_on_latency() -> None:
    book, profile = paired(1_000, differ=0.0, latency=(20.0, 40.0))
    c = compare(book.tallies["v8"], profile)
    assert c.verdict is ShadowVerdict.DISAGREES
    assert c.reasons == ("slower: p99 40 ms vs 20 ms live (+100%, 20% allowed)",)


def test_a_less_accurate_shadow_disagrees_on_labelled_pairs() -> None:
    book, profile = paired(1_000, differ=0.04, seed=5)
    t = book.tallies["v8"]
    # Live always right: every pair where the shadow differs, the shadow is wrong.
    book.label([(f"r{i}", "ok") for i in range(1_000)])
    c = compare(t, profile, settings=ShadowSettings(max_disagreement=0.2, accuracy_margin=0.01))
    assert c.labelled == 1_000
    assert c.live_accuracy == 1.0
    assert c.shadow_accuracy is not None
    assert c.shadow_accuracy < 0.97
    assert c.verdict is ShadowVerdict.DISAGREES
    assert any(r.startswith("less accurate on 1,000 labelled pairs") for r in c.reasons)


def test_segments_rank_by_rate_with_a_minimum_count() -> None:
    book, _ = paired(900, differ=0.0, segment_rates={"pos": 0.5, "app": 0.1, "web": 0.0})
    t = book.tallies["v8"]
    found = top_segments(t, min_count=30, top=5)
    assert [(g.feature, g.value) for g in found] == [("channel", "pos"), ("channel", "app")]
    assert found[0].pairs == t.segment_pairs[("channel", "pos")]
    assert 0.35 < found[0].rate < 0.65
    # A value below the minimum count is not a segment, however bad.
    assert top_segments(t, min_count=10_000, top=5) == ()
    assert len(top_segments(t, min_count=30, top=1)) == 1


def test_shadow_rows_contract() -> None:
    profile = classifier()
    body: dict[str, object] = {"shadow": True, "version": "v8"}
    rows: list[object] = [
        {"id": "r1", "prediction": "ok", "latency_ms": 12, "features": {"channel": "kiosk"}},
        {"id": "", "prediction": "ok"},
        {"id": 3},
    ]
    parsed = shadow_rows(body, rows, profile)
    assert [r.id for r in parsed.rows] == ["r1"]
    assert parsed.rows[0].latency_ms == 12.0
    assert parsed.rows[0].segments == (("channel", OTHER),)
    assert parsed.rejected == [
        (1, "id", parsed.rejected[0][2]),
        (2, "prediction", parsed.rejected[1][2]),
    ]
    with pytest.raises(ValidationError) as caught:
        shadow_rows({"shadow": True}, rows, profile)
    assert caught.value.field == "version"
    with pytest.raises(ValidationError) as caught:
        shadow_rows(body, [{"id": "r1", "prediction": "ok", "version": "v1"}], profile)
    assert caught.value.field == "rows[0].version"
    with pytest.raises(ValidationError) as caught:
        is_shadow({"shadow": "yes"})
    assert caught.value.field == "shadow"
