"""One model's label health now, from the panes read: what the samples, the rules and the
quality endpoint report (the statistics themselves: ``bot.quality.labels.stats``).

The *recent labels* are those of the newest minutes whose labels add up to at least the
label window (the rows realized accuracy reads, so both speak of the same labels). Each
figure is None while there is too little to judge it; ``words`` say each in a line a tired
engineer reads at once. Pure: the caller passes the panes and ``now``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.quality.labels.reference import ReferenceLabels
from bot.quality.labels.stats import (
    Coverage,
    EstimateGap,
    LabelDrift,
    LabelNoise,
    SourceAgreement,
    agreement_by_source,
    coverage,
    delay_quantile,
    estimate_gap,
    label_drift,
    label_noise,
)
from bot.quality.labels.tally import LabelTally
from bot.quality.panes import Slice, micros_of, newest_minutes
from bot.quality.sketch import SketchLayout

SERIES_MINUTES = 60
"""The agreement-over-time series is per source and hour."""


@dataclass(frozen=True)
class AgreementPoint:
    """One hour of one source's labels (by their predictions' minute)."""

    minute: int
    """The hour's first minute (minutes since the epoch)."""
    source: str
    n: int
    agreement: float


@dataclass(frozen=True)
class LabelHealth:
    labelled: int
    """Recent labels (see the module docstring)."""
    delay_p50: float | None
    delay_p95: float | None
    coverage: Coverage | None
    drift: LabelDrift | None
    sources: tuple[SourceAgreement, ...]
    series: tuple[AgreementPoint, ...]
    noise: LabelNoise | None
    gap: EstimateGap | None
    reference: ReferenceLabels | None

    def copying(self) -> list[SourceAgreement]:
        """Sources judged (with a ratio), least disagreeing first."""
        judged = [s for s in self.sources if s.ratio is not None]
        return sorted(judged, key=lambda s: s.ratio or 0.0)

    def agreement_words(self, source: SourceAgreement) -> str:
        ref = self.reference.agreement if self.reference is not None else None
        said = f"agreement {source.agreement:.2f} from {source.source} ({source.n} labels)"
        if ref is None or source.ratio is None:
            return said
        said += f" vs {ref:.2f} in the reference"
        if source.ratio < 0.5:
            said = "labels may be copying predictions: " + said
        return said

    def noise_words(self) -> str:
        assert self.noise is not None
        x = self.noise
        return (
            f"about {x.noise:.0%} of recent labels look wrong: {x.disagreement:.1%} of "
            f"{x.n} labels disagree with predictions made at 0.9+ confidence, where the "
            f"model itself errs about {x.expected:.1%}"
        )

    def gap_words(self) -> str:
        assert self.gap is not None
        g = self.gap
        ref = "0 assumed (no reference labels)" if g.reference is None else f"{g.reference:+.2f}"
        said = (
            f"label-free estimate {g.estimated:.2f} vs realized {g.realized:.2f} on "
            f"{g.n} labelled rows (gap {g.gap:+.2f}; reference {ref})"
        )
        return said if g.trusted else f"the estimate is no longer trusted: {said}"


def recent(panes: Sequence[Slice], limit: int) -> tuple[LabelTally, int | None]:
    """The tally of the newest minutes' labels, at least ``limit`` of them when there are,
    and the oldest minute taken."""
    out = LabelTally()
    oldest = None
    for minute, sketches in newest_minutes(panes):
        found = [s.labels for s in sketches if s.labels]
        if not found:
            continue
        for tally in found:
            out += tally
        oldest = minute
        if out.total >= limit:
            break
    return out, oldest


def series(panes: Sequence[Slice]) -> tuple[AgreementPoint, ...]:
    """Agreement per source and hour, oldest first."""
    n: Counter[tuple[int, str]] = Counter()
    hits: Counter[tuple[int, str]] = Counter()
    for minute, sketch in panes:
        hour = minute - minute % SERIES_MINUTES
        for key, count in sketch.labels.n.items():
            n[(hour, key.source)] += count
            hits[(hour, key.source)] += count if key.label == key.predicted else 0
    return tuple(
        AgreementPoint(hour, source, total, hits[(hour, source)] / total)
        for (hour, source), total in sorted(n.items())
        if total
    )


def label_health(
    panes: Sequence[Slice],
    layout: SketchLayout,
    reference: ReferenceLabels | None,
    now: datetime,
    *,
    limit: int,
) -> LabelHealth | None:
    """The model's label health (None: no label with a tally was ever joined here)."""
    tally, oldest = recent(panes, limit)
    if oldest is None:
        return None
    p95 = delay_quantile(tally, 0.95)
    minutes = [(m, layout.rows(s), sum(s.confusion.values())) for m, s in panes]
    covered = coverage(minutes, p95, micros_of(now) / 1e6, oldest)
    ref_counts = dict(reference.counts) if reference is not None else None
    ref_agreement = reference.agreement if reference is not None else None
    return LabelHealth(
        labelled=tally.total,
        delay_p50=delay_quantile(tally, 0.5),
        delay_p95=p95,
        coverage=covered,
        drift=label_drift(tally, ref_counts),
        sources=tuple(agreement_by_source(tally, ref_agreement)),
        series=series(panes),
        noise=label_noise(tally),
        gap=estimate_gap(tally, reference.gap if reference is not None else None),
        reference=reference,
    )
