"""Model-quality samples from the monitor's windows, polled like any other source.

Each watched model yields, when its window holds enough rows to judge: the worst feature's
input drift PSI (noted with the top drifting features, so the alert names them, and with the
change point of the inputs when the monitor's pane test found one, for ``detect:
changepoint``), output
drift KL, mean prediction confidence, the label-free accuracy estimate, the data-quality
score, realized accuracy (and precision, recall, F1) once labels have arrived, and
importance stability when the model pushed current importances, and label health once
labels joined (``label_samples``). Metric names are those of ``rules/default.yaml``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from bot.monitoring.monitor import ModelMonitor
from bot.quality.assess import Assessment
from bot.rules.sequential import (
    CHANGE_FEATURES,
    CHANGE_ROWS,
    CHANGE_VALUE,
    REFERENCE_MEAN,
    REFERENCE_SD,
    ROWS_ARE_VALUE,
    ROWS_SEEN,
    ROWS_SUM,
)
from bot.sources.base import Sample, SourceUnavailable


def assessment_samples(a: Assessment, version: str, now: datetime) -> list[Sample]:
    """The samples of one model's assessment (pure; the source below only gathers them)."""
    labels = {"model": a.model, "model_version": version}
    out: list[Sample] = []

    def add(metric: str, value: float | None, notes: dict[str, str] | None = None) -> None:
        if value is not None:
            out.append(Sample(metric, float(value), labels, now, notes or {}))

    if a.drift:
        top = a.top_features()
        notes = {"detail": f"top drift (PSI): {top}", "top": top} | change_notes(a)
        add("input_drift_psi", a.input_psi, notes)
    add("output_drift_kl", a.output_kl)
    rows = row_counters(a)
    confidence = rows | {ROWS_ARE_VALUE: "true"} if rows else rows  # its value is the rows' mean
    add(
        "prediction_confidence_mean",
        a.mean_confidence if a.estimate is not None else None,
        confidence,
    )
    if a.estimate is not None:
        add("accuracy_estimated", a.estimate.value, {"detail": estimate_detail(a)} | rows)
    add("data_quality_score", a.quality if a.n_received else None)
    if a.realized is not None:
        r = a.realized
        detail = {"detail": f"{r.n} labelled rows"}
        add("accuracy", r.accuracy, detail)
        # Binary: of the positive class; multi-class: macro averages. No bundled rule (the
        # brief sets no threshold); a rules file can alert on them like on accuracy.
        for metric, value in (("precision", r.precision), ("recall", r.recall), ("f1", r.f1)):
            add(metric, value, detail)
    if a.stability is not None:
        moves = "; ".join(m.describe() for m in a.stability.moves[:2])
        add("feature_importance_rank_corr", a.stability.tau, {"detail": moves} if moves else None)
    return out + label_samples(a, version, now)


def label_samples(a: Assessment, version: str, now: datetime) -> list[Sample]:
    """Label health as samples: delay p50/p95 (seconds), coverage, label drift PSI, per
    source the disagreement ratio (label ``label_source``), the noise score and the
    estimate's excess gap; each only once there is enough to judge it."""
    h = a.labels
    if h is None:
        return []
    labels = {"model": a.model, "model_version": version}
    out: list[Sample] = []

    def add(metric: str, value: float | None, detail: str, **extra: str) -> None:
        if value is not None:
            out.append(Sample(metric, float(value), labels | extra, now, {"detail": detail}))

    delays = f"{h.labelled} recent labels"
    add("label_delay_p50_seconds", h.delay_p50, delays)
    add("label_delay_p95_seconds", h.delay_p95, delays)
    if h.coverage is not None:
        c = h.coverage
        add(
            "label_coverage",
            c.share,
            f"{c.labelled} of {c.rows} rows labelled, of minutes over {c.wait:.0f}s ago "
            "(the p95 label delay)",
        )
    if h.drift is not None:
        mix = ", ".join(f"{k} {v}" for k, v in h.drift.mix.items())
        said = f"recent labels: {mix} (chi-square p {h.drift.p_value:.3g})"
        add("label_drift_psi", h.drift.psi, said)
    for source in h.sources:
        add(
            "label_disagreement_ratio",
            source.ratio,
            h.agreement_words(source),
            label_source=source.source,
        )
    if h.noise is not None:
        add("label_health_score", h.noise.score, h.noise_words())
    if h.gap is not None:
        add("label_estimate_gap_excess", h.gap.excess, h.gap_words())
    return out


def row_counters(a: Assessment) -> dict[str, str]:
    """The running confidence counters and the reference row mean/sd, as notes for the
    rules' sequential detector (``detect: cusum``); empty when either is unknown. Both the
    mean confidence and the estimate are means of each row's confidence, so both carry them."""
    if a.confidence_seen is None or a.reference_confidence is None:
        return {}
    (seen, total), (mean, sd) = a.confidence_seen, a.reference_confidence
    return {
        ROWS_SEEN: str(seen),
        ROWS_SUM: repr(total),
        REFERENCE_MEAN: repr(mean),
        REFERENCE_SD: repr(sd),
    }


def change_notes(a: Assessment) -> dict[str, str]:
    """The inputs' change point, when the pane test alarmed: rows since it, the worst moved
    feature's PSI on those rows, and the moved features (``detect: changepoint``)."""
    c = a.change
    if c is None or not c.alarm or c.psi is None:
        return {}
    return {
        CHANGE_ROWS: str(c.rows),
        CHANGE_VALUE: repr(c.psi),
        CHANGE_FEATURES: c.top_features(),
    }


def estimate_detail(a: Assessment) -> str:
    """What the estimate rests on, and where the labels stand: an alert said "no labels
    yet" after 600 had arrived, so the words follow the labels, not the rule's name."""
    assert a.estimate is not None
    e = a.estimate
    said = f"estimated from confidence, 95% interval {e.low:.2f} to {e.high:.2f}, n={e.n}"
    if a.realized is None:
        return f"{said}; too few labels yet to measure it"
    return f"{said}; measured on labels: {a.realized.accuracy:.2%} over {a.realized.n} rows"


class ModelQualitySource:
    """Polls ``ModelMonitor`` for every watched model; ``sync`` runs first (the service's
    reference reload, so a reference stored by another process is judged from this poll)."""

    def __init__(
        self,
        monitor: ModelMonitor,
        *,
        name: str = "models",
        sync: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._monitor = monitor
        self._name = name
        self._sync = sync

    @property
    def name(self) -> str:
        return self._name

    async def collect(self, now: datetime) -> list[Sample]:
        if self._sync is not None:
            try:
                await self._sync()
            except (SQLAlchemyError, OSError) as exc:  # this poll reports why; the next retries
                raise SourceUnavailable(
                    f"could not read the reference profiles: {type(exc).__name__}",
                    source=self._name,
                ) from exc
        samples: list[Sample] = []
        for model in self._monitor.models():
            watched = self._monitor.watched(model)
            samples += assessment_samples(
                self._monitor.assessment(model, now), watched.version, now
            )
        return samples
