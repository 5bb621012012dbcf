"""The JSON replies of the prediction and label posts: what the caller's job should log.

A post of predictions is answered 200 even when some rows were bad (the good ones were
counted); the reply says how many, the first bad rows by field and reason, and per feature
how many accepted rows were missing or outside the reference, so the team that owns the
feature pipeline reads the fix in its own log. Pure.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bot.monitoring.watched import LabelResult
from bot.quality.data import RowCheck


def predictions_reply(model: str, check: RowCheck) -> dict[str, Any]:
    return {
        "model": model,
        "received": check.received,
        "accepted": check.accepted,
        "rejected": check.bad_total,
        "clean": check.clean,
        "data_quality": check.quality,
        "summary": check.describe_rejections(),
        "errors": [
            {"row": b.index, "field": b.field, "reason": b.reason, "kind": b.kind}
            for b in check.bad
        ],
        "feature_issues": {
            name: asdict(issues) for name, issues in sorted(check.feature_issues.items())
        },
        "unknown_features": dict(check.unknown_features),
    }


def labels_reply(model: str, result: LabelResult) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "model": model,
        "received": result.received,
        "matched": result.matched,
        "unmatched": result.unknown_total,
        "unmatched_ids": list(result.unknown),
    }
    if result.unknown_total:
        reply["note"] = (
            f"{result.unknown_total} label(s) had no remembered prediction (never posted, "
            "already labelled, or older than quality.label_horizon) and were not counted"
        )
    return reply
