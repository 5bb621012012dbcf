"""One model's window judged against its reference: the numbers the rules and the card quote.

``assess`` turns a ``WindowSnapshot`` (counts only) and the reference profile into the
brief's model-quality metrics: input drift PSI per feature (the model's figure is the worst
feature, so one drifting input is enough to alert, and the alert names it), output drift KL
of the prediction mix, mean confidence, the label-free accuracy estimate with its interval,
the data-quality score, and, when given, realized metrics and importance stability, and
from the window's panes the change point of its inputs (``drift.changepoint``: the rows since
the inputs stopped looking like the reference, and the features that moved).

Windows too small to judge yield ``None`` rather than a number: PSI over 20 rows swings
past 0.2 on noise alone, and a false drift page at 2 a.m. costs more than a late one.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from bot.quality.drift.changepoint import ChangePoint, detect_change
from bot.quality.drift.divergence import kl_counts, psi_counts
from bot.quality.estimate import AccuracyEstimate, estimate_from_sums
from bot.quality.labels.health import LabelHealth
from bot.quality.performance import Metrics
from bot.quality.profile import ReferenceProfile
from bot.quality.sketch import Sketch, SketchLayout
from bot.quality.spec import MIN_LABELS
from bot.quality.spec import MIN_ROWS as MIN_ROWS  # its home is spec; monitor reads it here
from bot.quality.stability import Stability, importance_stability
from bot.quality.windows import WindowSnapshot


@dataclass(frozen=True)
class FeatureDrift:
    """PSI of one feature's window histogram against its reference bins."""

    feature: str
    psi: float
    missing_share: float
    outside_share: float


@dataclass(frozen=True)
class Assessment:
    """Everything measured about one model's window; ``None`` where there was too little."""

    model: str
    at: datetime
    n_rows: int
    n_received: int
    quality: float | None
    drift: tuple[FeatureDrift, ...]  # worst first
    output_kl: float | None
    mean_confidence: float | None
    estimate: AccuracyEstimate | None
    realized: Metrics | None = None
    stability: Stability | None = None
    confidence_seen: tuple[int, float] | None = None
    """Rows with a confidence and their sum since the model was watched: running counters
    (never a window) that a sequential detector differences between readings; set by the
    monitor, None from ``assess`` alone."""
    reference_confidence: tuple[float, float] | None = None
    """The reference's per-row confidence mean and standard deviation, when it has them."""
    change: ChangePoint | None = None
    """The panes' change-point test of the inputs (None: no panes given, or too few rows)."""
    labels: LabelHealth | None = None
    """The recent labels' health (``bot.quality.labels``); set by the monitor."""

    @property
    def input_psi(self) -> float | None:
        """The worst feature's PSI: the model's input drift figure."""
        return self.drift[0].psi if self.drift else None

    def top_features(self, k: int = 3) -> str:
        """``income 0.61, debt_ratio 0.44``: the most drifted features, for alerts and cards."""
        return ", ".join(f"{d.feature} {d.psi:.2f}" for d in self.drift[:k])


def assess(
    model: str,
    profile: ReferenceProfile,
    snapshot: WindowSnapshot,
    *,
    realized: Metrics | None = None,
    current_importances: Mapping[str, float] | None = None,
    min_rows: int = MIN_ROWS,
    panes: Sequence[Sketch] | None = None,
    layout: SketchLayout | None = None,
) -> Assessment:
    """Judge ``snapshot`` against ``profile``; drift needs at least ``min_rows`` rows.
    ``panes``: the same window's panes, oldest first, counted on ``profile``'s layout
    (``layout``, when the caller holds it), for the change-point test (which sets its own
    minimum rows per tested suffix)."""
    enough = snapshot.n_rows >= min_rows
    drift: list[FeatureDrift] = []
    if enough:
        n = snapshot.n_rows
        for feature in profile.features:
            current = snapshot.counts[feature.name]
            if int(current.sum()) == 0:
                continue  # every value missing: the quality score says so, PSI cannot
            drift.append(
                FeatureDrift(
                    feature.name,
                    psi_counts(np.asarray(feature.histogram), current),
                    snapshot.missing.get(feature.name, 0) / n,
                    snapshot.outside.get(feature.name, 0) / n,
                )
            )
        drift.sort(key=lambda d: (-d.psi, d.feature))
    output_kl = None
    if enough and profile.prediction is not None and int(snapshot.prediction_counts.sum()):
        reference = np.asarray(profile.prediction.histogram)
        output_kl = kl_counts(reference, snapshot.prediction_counts)
    estimate = None
    if snapshot.n_confidence >= min_rows:
        estimate = estimate_from_sums(
            snapshot.n_confidence, snapshot.confidence_sum, snapshot.confidence_variance_sum
        )
    stability = None
    if current_importances and profile.importances:
        stability = importance_stability(profile.importances, current_importances)
    if realized is not None and realized.n < MIN_LABELS:
        realized = None
    return Assessment(
        model=model,
        at=snapshot.at,
        n_rows=snapshot.n_rows,
        n_received=snapshot.n_received,
        quality=snapshot.clean_share,
        drift=tuple(drift),
        output_kl=output_kl,
        mean_confidence=snapshot.mean_confidence,
        estimate=estimate,
        realized=realized,
        stability=stability,
        reference_confidence=_reference_confidence(profile),
        change=detect_change(layout or SketchLayout(profile), panes) if panes else None,
    )


def _reference_confidence(profile: ReferenceProfile) -> tuple[float, float] | None:
    c = profile.confidence
    return None if c is None or not c.std > 0 else (c.mean, c.std)
