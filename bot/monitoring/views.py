"""The JSON answer of ``GET /api/v1/models/{model}/quality``: one model's figures now.

The label-free estimate and its interval sit next to the realized accuracy, so a reader sees
at once whether the estimate ran ahead of the labels, and by how much it missed. Figures a
window too small to judge has no value for are ``null``, with ``judged`` saying why. Pure.
"""

from __future__ import annotations

from typing import Any

from bot.core.timefmt import iso_z
from bot.monitoring.label_views import labels_json
from bot.quality.assess import Assessment
from bot.quality.performance import Metrics
from bot.quality.windows import WindowSnapshot


def _realized(m: Metrics | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {
        "accuracy": m.accuracy,
        "precision": m.precision,
        "recall": m.recall,
        "f1": m.f1,
        "average": m.average,
        "positive": m.positive,
        "n": m.n,
    }


def quality_json(
    a: Assessment,
    snapshot: WindowSnapshot,
    *,
    version: str,
    window: str,
    min_rows: int,
    reference: dict[str, Any],
    sla: float | None,
) -> dict[str, Any]:
    """The model's quality now, as the endpoint returns it."""
    judged = a.n_rows >= min_rows
    estimate = a.estimate
    return {
        "model": a.model,
        "version": version,
        "at": iso_z(a.at),
        "reference": reference,
        "window": {
            "spec": window,
            "rows": a.n_rows,
            "received": a.n_received,
            "rejected": snapshot.n_rejected,
            "first_seen": iso_z(snapshot.first_seen),
            "last_seen": iso_z(snapshot.last_seen),
        },
        "judged": judged,
        "needs": None
        if judged
        else f"{min_rows} rows in the window to judge drift, has {a.n_rows}",
        "data_quality": a.quality,
        "drift": {
            "psi": a.input_psi,
            "features": [
                {
                    "feature": d.feature,
                    "psi": d.psi,
                    "missing_share": d.missing_share,
                    "outside_share": d.outside_share,
                }
                for d in a.drift
            ],
        },
        "output_drift_kl": a.output_kl,
        "confidence_mean": a.mean_confidence,
        "accuracy": {
            "sla": sla,
            "estimated": None
            if estimate is None
            else {
                "value": estimate.value,
                "low": estimate.low,
                "high": estimate.high,
                "std_error": estimate.std_error,
                "n": estimate.n,
                "method": "confidence-based (CBPE): mean calibrated confidence",
            },
            "realized": _realized(a.realized),
        },
        "importance_stability": None
        if a.stability is None
        else {
            "kendall_tau": a.stability.tau,
            "moves": [m.describe() for m in a.stability.moves],
        },
        "labels": labels_json(a.labels),
    }


def version_json(version: str, a: Assessment, min_rows: int) -> dict[str, Any]:
    """One version's line in the model's quality answer (``?version=`` gives it all)."""
    estimate = a.estimate
    return {
        "version": version,
        "rows": a.n_rows,
        "received": a.n_received,
        "judged": a.n_rows >= min_rows,
        "data_quality": a.quality,
        "drift_psi": a.input_psi,
        "output_drift_kl": a.output_kl,
        "accuracy_estimated": None
        if estimate is None
        else {
            "value": estimate.value,
            "low": estimate.low,
            "high": estimate.high,
            "std_error": estimate.std_error,
            "n": estimate.n,
        },
        "accuracy_realized": None
        if a.realized is None
        else {"accuracy": a.realized.accuracy, "n": a.realized.n},
    }
