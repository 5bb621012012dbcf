"""The ``labels`` section of ``GET /api/v1/models/{model}/quality``: label health now. Pure.

Every figure beside the words that say it, and ``null`` with a reason where there is too
little to judge; ``estimate_trusted`` is false once the label-free estimate misses the
labelled rows by more than the reference's gap allows (the estimate above it is then shown
but not to be relied on).
"""

from __future__ import annotations

from typing import Any

from bot.core.timefmt import iso_z
from bot.quality.labels.health import LabelHealth
from bot.quality.panes import EPOCH, MINUTE


def labels_json(h: LabelHealth | None) -> dict[str, Any]:
    if h is None:
        return {"labelled": 0, "note": "no labels joined yet"}
    ref = h.reference
    return {
        "labelled": h.labelled,
        "reference": None
        if ref is None
        else {
            "labelled": ref.labelled,
            "agreement": ref.agreement,
            "estimate_gap": ref.gap,
            "classes": dict(ref.counts),
        },
        "note": None
        if ref is not None
        else "the reference has no label column (vigil model reference --label COLUMN): "
        "no label drift nor feedback-loop check",
        "delay_seconds": {"p50": h.delay_p50, "p95": h.delay_p95},
        "coverage": None
        if h.coverage is None
        else {
            "share": h.coverage.share,
            "labelled": h.coverage.labelled,
            "rows": h.coverage.rows,
            "after_seconds": h.coverage.wait,
        },
        "drift": None
        if h.drift is None
        else {"psi": h.drift.psi, "p_value": h.drift.p_value, "classes": h.drift.mix},
        "sources": [
            {
                "source": s.source,
                "labels": s.n,
                "agreement": s.agreement,
                "disagreement_ratio": s.ratio,
                "says": h.agreement_words(s),
            }
            for s in h.sources
        ],
        "agreement_over_time": [
            {
                "hour": iso_z(EPOCH + p.minute * MINUTE),
                "source": p.source,
                "labels": p.n,
                "agreement": p.agreement,
            }
            for p in h.series
        ],
        "noise": None
        if h.noise is None
        else {
            "health_score": h.noise.score,
            "wrong_share": h.noise.noise,
            "labels": h.noise.n,
            "says": h.noise_words(),
        },
        "estimate_gap": None
        if h.gap is None
        else {
            "estimated": h.gap.estimated,
            "realized": h.gap.realized,
            "gap": h.gap.gap,
            "reference_gap": h.gap.reference,
            "excess": h.gap.excess,
            "labels": h.gap.n,
            "says": h.gap_words(),
        },
        "estimate_trusted": None if h.gap is None else h.gap.trusted,
    }
