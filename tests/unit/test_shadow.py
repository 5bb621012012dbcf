"""Shadow mode's pure parts: pairing by id within a window, and the comparison's numbers.

Pairing (``bot.quality.compare.shadow``): a shadow row meets the live row of its id whichever comes
first, within the window; one whose partner never comes is unmatched; live rows are kept
only while a shadow is active; re-sent rows count once; labels join pairs by id. The
comparison (``bot.rollout.shadow``): agreement (classes; numbers within a tolerance), the
score distance, latency percentiles, segments ranked with a minimum count, and the verdict.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.core.errors import ValidationError
from bot.monitoring.shadow_rows import is_shadow, shadow_rows
from bot.quality.compare.shadow import MAX_SHADOWS, PairRow, ShadowBook
from bot.quality.profile import OTHER, ReferenceProfile, build_profile
from bot.rollout.shadow import ShadowSettings, ShadowVerdict, compare, top_segments

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


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


def test_a_shadow_pairs_with_its_live_row_whichever_comes_first() -> None:
    book = ShadowBook(classifier())
    # Shadow first (nothing live remembered yet): it waits.
    post = book.add_shadow("v8", [row(1, "ok"), row(2, "fraud")], T0)
    assert (post.paired, post.waiting) == (0, 2)
    # The live rows arrive later within the window: both pair, one agrees.
    made = book.add_live([row(1, "ok"), row(2, "ok")], T0 + timedelta(minutes=5))
    assert made == 2
    # Live first this time: remembered (a shadow is active), the shadow pairs on arrival.
    book.add_live([row(3, "ok")], T0 + timedelta(minutes=6))
    post = book.add_shadow("v8", [row(3, "ok")], T0 + timedelta(minutes=7))
    assert (post.paired, post.waiting) == (1, 0)
    tally = book.tallies["v8"]
    assert (tally.pairs, tally.agree, tally.unmatched) == (3, 2, 0)


def test_a_shadow_row_whose_live_row_never_comes_within_the_window_is_unmatched() -> None:
    book = ShadowBook(classifier(), window=timedelta(hours=1))
    book.add_shadow("v8", [row(1, "ok"), row(2, "ok")], T0)
    book.add_live([row(1, "ok")], T0 + timedelta(minutes=59))
    # r2's live row comes after the hour: r2 was forgotten as unmatched, never paired.
    book.add_live([row(2, "ok")], T0 + timedelta(minutes=61))
    tally = book.tallies["v8"]
    assert (tally.pairs, tally.unmatched, len(tally.waiting)) == (1, 1, 0)


def test_live_rows_are_remembered_only_while_a_shadow_is_active() -> None:
    book = ShadowBook(classifier(), window=timedelta(hours=1))
    assert book.add_live([row(1, "ok")], T0) == 0
    assert not book.active
    # r1 was not remembered (no shadow then): its shadow waits, then goes unmatched.
    book.add_shadow("v8", [row(1, "ok")], T0 + timedelta(minutes=1))
    assert book.active
    book.expire(T0 + timedelta(hours=2))
    assert not book.active
    assert book.tallies["v8"].unmatched == 1


def test_memory_is_bounded_and_a_row_pushed_out_unpaired_counts_as_unmatched() -> None:
    book = ShadowBook(classifier(), max_rows=3)
    post = book.add_shadow("v8", [row(i, "ok") for i in range(5)], T0)
    assert post.waiting == 3
    assert book.tallies["v8"].unmatched == 2
    book.add_live([row(i, "ok") for i in range(10, 20)], T0)
    assert len(book._live) == 3


def test_a_resent_shadow_row_counts_once() -> None:
    book = ShadowBook(classifier())
    book.add_shadow("v8", [], T0)
    book.add_live([row(1, "ok")], T0)
    book.add_shadow("v8", [row(1, "ok")], T0)
    post = book.add_shadow("v8", [row(1, "ok")], T0)
    assert post.duplicates == 1
    assert book.tallies["v8"].pairs == 1


def test_shadow_versions_are_bounded() -> None:
    book = ShadowBook(classifier())
    for v in range(MAX_SHADOWS):
        book.add_shadow(f"v{v}", [], T0)
    with pytest.raises(ValidationError) as caught:
        book.add_shadow("extra", [], T0 + timedelta(hours=1))
    assert caught.value.field == "version"
    # A day later the idle ones make room.
    book.add_shadow("extra", [], T0 + timedelta(hours=25))
    assert "extra" in book.tallies


def test_labels_join_pairs_by_id_and_count_for_both_sides() -> None:
    book = ShadowBook(classifier())
    book.add_shadow("v8", [], T0)
    book.add_live([row(1, "ok"), row(2, "fraud"), row(3, "ok")], T0)
    book.add_shadow("v8", [row(1, "ok"), row(2, "ok"), row(3, "fraud")], T0)
    book.label([("r1", "ok"), ("r2", "fraud"), ("r3", "fraud"), ("r9", "ok")])
    t = book.tallies["v8"]
    assert (t.labelled, t.live_correct, t.shadow_correct) == (3, 2, 2)
    assert (t.live_only, t.shadow_only) == (1, 1)
    book.label([("r1", "ok")])  # a label counts once
    assert t.labelled == 3


def test_numeric_predictions_agree_within_the_tolerance() -> None:
    profile = regressor()
    book = ShadowBook(profile, tolerance=0.1)
    assert book.tolerance == pytest.approx(0.1 * profile.prediction.std)  # type: ignore[union-attr]
    book.add_shadow("v8", [], T0)
    book.add_live([row(1, 100.0), row(2, 100.0)], T0)
    book.add_shadow("v8", [row(1, 100.5), row(2, 103.0)], T0)
    t = book.tallies["v8"]
    assert (t.pairs, t.agree) == (2, 1)
    c = compare(t, profile, tolerance=book.tolerance)
    assert c.mean_abs_diff == pytest.approx(1.75)
    assert c.prediction_wasserstein is not None


def paired(
    n: int,
    *,
    differ: float,
    seed: int = 0,
    segment_rates: dict[str, float] | None = None,
    latency: tuple[float, float] = (20.0, 20.0),
) -> tuple[ShadowBook, ReferenceProfile]:
    """A book with ``n`` pairs, the shadow differing on ``differ`` of them (or by segment)."""
    profile = classifier()
    book = ShadowBook(profile)
    rng = np.random.default_rng(seed)
    channels = rng.choice(["web", "app", "pos"], n)
    live, shadow = [], []
    for i in range(n):
        rate = (segment_rates or {}).get(str(channels[i]), differ)
        flip = rng.random() < rate
        segs = (("channel", str(channels[i])),)
        live.append(row(i, "ok", confidence=0.9, latency_ms=latency[0], segments=segs))
        shadow.append(row(i, "fraud" if flip else "ok", confidence=0.9, latency_ms=latency[1]))
    book.add_shadow("v8", [], T0)
    book.add_live(live, T0)
    book.add_shadow("v8", shadow, T0)
    return book, profile


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
