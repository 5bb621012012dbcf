"""Shadow mode's comparison and verdict: is a shadow version ready to go canary?

Reads one shadow version's :class:`~bot.quality.compare.shadow.ShadowTally` (pairs of live and
shadow outputs for the same ids) and says how alike they are: the agreement rate (same
class; numeric predictions within the tolerance), the distance between the two score
distributions on the reference's bins (PSI, and normed Wasserstein for a numeric
prediction: ``quality/drift``'s functions), latency p50/p99 of each, the accuracy of each
on the pairs whose label came, and the category values where they disagree most. The
latency percentiles are read from the tally's log-spaced histograms (good to about 6 %,
exact when one latency is all there is), as tallies of many replicas add.

The verdict, re-read as often as anyone likes, stays honest: agreement is judged with the
canary judge's always-valid tests (``sequential.py``): READY needs the disagreement rate
*proven* below ``max_disagreement``, DISAGREES needs it proven above (or the shadow proven
less accurate on labelled pairs, by the paired difference of the two sides' correctness),
and the score distance and the p99 latency, point estimates as in the judge, add their
reasons once there are ``min_pairs``. Below ``min_pairs`` the answer is NOT_YET, never
DISAGREES: one odd pair is not a verdict. Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from bot.core.errors import ValidationError
from bot.quality.binning import IntArray, log_quantile
from bot.quality.compare.shadow import LATENCY_EDGES, ShadowTally
from bot.quality.drift.divergence import psi_counts
from bot.quality.drift.wasserstein import wasserstein_counts
from bot.quality.profile import NumericProfile, ReferenceProfile
from bot.rollout.sequential import one_sided_p, within_p


class ShadowVerdict(StrEnum):
    READY = "ready"
    """Ready to canary: agreement proven, nothing against it."""
    NOT_YET = "not_yet"
    """Too few pairs, or agreement not proven either way yet: keep shadowing."""
    DISAGREES = "disagrees"


@dataclass(frozen=True)
class ShadowSettings:
    """``max_disagreement``: the share of pairs that may differ; ``min_pairs`` before any
    verdict but NOT_YET (and before the distance and latency count); ``min_labels``
    labelled pairs before accuracy counts; ``min_segment`` pairs before a category value is
    ranked; ``accuracy_margin`` the accuracy points the shadow may lose; ``latency_margin``
    the share its p99 may be slower; ``psi_limit`` the score distance allowed; ``alpha`` the
    budget for a wrong verdict over every look, half to READY, half to DISAGREES."""

    max_disagreement: float = 0.05
    min_pairs: int = 200
    min_labels: int = 100
    min_segment: int = 30
    top_segments: int = 5
    accuracy_margin: float = 0.02
    latency_margin: float = 0.2
    psi_limit: float = 0.2
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if not 0 < self.max_disagreement < 1:
            raise ValidationError("max_disagreement", "must lie in (0, 1)")
        if not 0 < self.alpha < 1:
            raise ValidationError("alpha", "must lie in (0, 1)")
        if min(self.min_pairs, self.min_labels, self.min_segment, self.top_segments) < 1:
            raise ValidationError("min_pairs", "minimum counts must be at least 1")


@dataclass(frozen=True)
class Segment:
    """A category value of a feature and how often the two versions differ on its pairs."""

    feature: str
    value: str
    pairs: int
    disagreements: int

    @property
    def rate(self) -> float:
        return self.disagreements / self.pairs


@dataclass(frozen=True)
class Latency:
    n: int
    live_p50: float | None
    live_p99: float | None
    shadow_p50: float | None
    shadow_p99: float | None


@dataclass(frozen=True)
class ShadowComparison:
    version: str
    pairs: int
    agreement: float | None
    mean_abs_diff: float | None
    """Numeric predictions: the mean absolute difference of the pairs."""
    tolerance: float | None
    prediction_psi: float | None
    prediction_wasserstein: float | None
    confidence_psi: float | None
    latency: Latency
    labelled: int
    live_accuracy: float | None
    shadow_accuracy: float | None
    segments: tuple[Segment, ...]
    unmatched: int
    waiting: int
    duplicates: int
    verdict: ShadowVerdict
    reasons: tuple[str, ...]


def compare(
    tally: ShadowTally,
    profile: ReferenceProfile,
    *,
    waiting: int = 0,
    tolerance: float | None = None,
    settings: ShadowSettings | None = None,
) -> ShadowComparison:
    """Everything the shadow answer says about one version, with its verdict in words;
    ``waiting``: its shadow rows still waiting for their live row."""
    s = settings or ShadowSettings()
    n = tally.pairs
    agreement = tally.agree / n if n else None
    pred_psi = psi_counts(tally.live_counts, tally.shadow_counts) if n else None
    wasserstein = _wasserstein(tally, profile) if n else None
    conf_n = int(tally.live_conf.sum())
    conf_psi = psi_counts(tally.live_conf, tally.shadow_conf) if conf_n else None
    latency = _latency(tally)
    labelled = tally.labelled
    live_acc = tally.live_correct / labelled if labelled else None
    shadow_acc = tally.shadow_correct / labelled if labelled else None
    against: list[str] = []
    verdict, reasons = ShadowVerdict.NOT_YET, []
    if n < s.min_pairs:
        reasons.append(f"only {n:,} pairs so far, {s.min_pairs:,} needed for a verdict")
    else:
        against = _against(tally, s, pred_psi, conf_psi, latency)
        proven = _agreement_within(tally, s)
        if against:
            verdict, reasons = ShadowVerdict.DISAGREES, against
        elif proven:
            verdict = ShadowVerdict.READY
            reasons.append(
                f"agrees on {_pct(agreement)} of {n:,} pairs, proven above "
                f"{_pct(1 - s.max_disagreement)}: ready to canary"
            )
        else:
            reasons.append(
                f"agrees on {_pct(agreement)} of {n:,} pairs, not yet proven above "
                f"{_pct(1 - s.max_disagreement)}: keep shadowing"
            )
    return ShadowComparison(
        version=tally.version,
        pairs=n,
        agreement=agreement,
        mean_abs_diff=tally.abs_diff / n if n and tolerance is not None else None,
        tolerance=tolerance,
        prediction_psi=pred_psi,
        prediction_wasserstein=wasserstein,
        confidence_psi=conf_psi,
        latency=latency,
        labelled=labelled,
        live_accuracy=live_acc,
        shadow_accuracy=shadow_acc,
        segments=top_segments(tally, s.min_segment, s.top_segments),
        unmatched=tally.unmatched,
        waiting=waiting,
        duplicates=tally.duplicates,
        verdict=verdict,
        reasons=tuple(reasons),
    )


def top_segments(tally: ShadowTally, min_count: int, top: int) -> tuple[Segment, ...]:
    """The category values with at least ``min_count`` pairs where the versions disagree
    most often (rate, then count), at most ``top``; values with no disagreement are left out."""
    found = [
        Segment(feature, value, pairs, tally.segment_disagree[(feature, value)])
        for (feature, value), pairs in tally.segment_pairs.items()
        if pairs >= min_count and tally.segment_disagree[(feature, value)] > 0
    ]
    found.sort(key=lambda g: (-g.rate, -g.disagreements, g.feature, g.value))
    return tuple(found[:top])


def _agreement_within(tally: ShadowTally, s: ShadowSettings) -> bool:
    """Disagreement proven below the allowance (variance at the allowance: the edge of the
    null, so a run of lucky agreement does not prove it early)."""
    rate = 1 - tally.agree / tally.pairs
    edge = s.max_disagreement * (1 - s.max_disagreement) / tally.pairs
    p = within_p(rate, edge, bound=s.max_disagreement, tau=s.max_disagreement)
    return bool(p <= s.alpha / 2)


def _against(
    tally: ShadowTally,
    s: ShadowSettings,
    pred_psi: float | None,
    conf_psi: float | None,
    latency: Latency,
) -> list[str]:
    """Each reason, in words, the shadow is not like the live version."""
    out: list[str] = []
    n = tally.pairs
    rate = 1 - tally.agree / n
    edge = s.max_disagreement * (1 - s.max_disagreement) / n
    if one_sided_p(rate, edge, null=s.max_disagreement, tau=s.max_disagreement) <= s.alpha / 4:
        out.append(
            f"disagrees on {_pct(rate)} of {n:,} pairs, proven above the "
            f"{_pct(s.max_disagreement)} allowed"
        )
    if tally.labelled >= s.min_labels:
        m = tally.labelled
        harm = (tally.live_only - tally.shadow_only) / m
        variance = max((tally.live_only + tally.shadow_only) / m - harm * harm, 1.0 / m) / m
        if one_sided_p(harm, variance, null=s.accuracy_margin, tau=s.accuracy_margin) <= (
            s.alpha / 4
        ):
            out.append(
                f"less accurate on {m:,} labelled pairs: {_pct(tally.shadow_correct / m)} "
                f"vs {_pct(tally.live_correct / m)} live"
            )
    for name, value in (("prediction", pred_psi), ("confidence", conf_psi)):
        if value is not None and value > s.psi_limit:
            out.append(f"its {name} distribution moved: PSI {value:.2f} > {s.psi_limit:g}")
    live, shadow = latency.live_p99, latency.shadow_p99
    if latency.n >= s.min_pairs and live is not None and shadow is not None and live > 0:
        slower = shadow / live - 1
        if slower > s.latency_margin:
            out.append(
                f"slower: p99 {shadow:.0f} ms vs {live:.0f} ms live "
                f"(+{slower:.0%}, {s.latency_margin:.0%} allowed)"
            )
    return out


def _latency(tally: ShadowTally) -> Latency:
    """p50 and p99 of each side from its latency histogram (``quality.binning.log_quantile``),
    kept within the latencies seen: one latency throughout reads exactly."""
    n = tally.latency_pairs
    if not n:
        return Latency(0, None, None, None, None)
    low_live, high_live, low_shadow, high_shadow = tally.latency_range

    def at(hist: IntArray, q: float, low: float, high: float) -> float:
        value = log_quantile(hist, LATENCY_EDGES, q)
        return float(min(max(value if value is not None else low, low), high))

    return Latency(
        n,
        at(tally.live_latency, 0.5, low_live, high_live),
        at(tally.live_latency, 0.99, low_live, high_live),
        at(tally.shadow_latency, 0.5, low_shadow, high_shadow),
        at(tally.shadow_latency, 0.99, low_shadow, high_shadow),
    )


def _wasserstein(tally: ShadowTally, profile: ReferenceProfile) -> float | None:
    prediction = profile.prediction
    if not isinstance(prediction, NumericProfile) or not prediction.edges:
        return None
    return wasserstein_counts(
        tally.live_counts,
        tally.shadow_counts,
        prediction.edges,
        low=min(prediction.min, prediction.edges[0]),
        high=max(prediction.max, prediction.edges[-1]),
        ref_std=prediction.std,
    )


def _pct(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.1%}"
