"""One version's ledger summary as the judge's observations. Pure.

:class:`bot.quality.compare.ledger.VersionSummary` is what the model monitor keeps per version
(rows, the labels joined to them, the label-free estimate, latencies, the prediction
histogram on the reference's bins); :class:`ArmObservations` is what the judge reads. The
driver reads both versions over the same range, since the rollout began, and hands them
here: cumulative counts, as the judge's error bounds need.
"""

from __future__ import annotations

from bot.quality.compare.ledger import VersionSummary
from bot.rollout.observations import ArmObservations


def arm_of(version: str, summary: VersionSummary | None) -> ArmObservations:
    """The judge's view of ``summary`` (no rows yet when ``summary`` is None). Request errors
    are not in the ledger, so that metric is left out rather than read as zero."""
    if summary is None:
        return ArmObservations(version)
    predictions = summary.prediction_counts if summary.prediction_counts.size else None
    return ArmObservations(
        version,
        rows=summary.rows,
        labelled=summary.labelled,
        correct=summary.correct,
        estimate=summary.estimate,
        latencies_ms=summary.latency_ms if summary.latency_ms else None,
        predictions=predictions,
    )
