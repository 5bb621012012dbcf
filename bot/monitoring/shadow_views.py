"""The JSON of shadow mode, and its plain-text reading: what a tired engineer reads first.

``shadow_json`` answers ``GET /api/v1/models/{model}/shadow?version=V``; ``shadow_post_json``
answers a shadow post; ``shadow_text`` words the answer (from its JSON, so ``vigil model
shadow``, which reads it over HTTP, prints the same lines): the verdict and why first, then
the figures. Pure.
"""

from __future__ import annotations

from typing import Any

from bot.monitoring.shadow_rows import ShadowRows
from bot.quality.compare.shadow import ShadowPost
from bot.rollout.shadow import ShadowComparison, ShadowSettings


def shadow_json(model: str, c: ShadowComparison, s: ShadowSettings) -> dict[str, Any]:
    lat = c.latency
    return {
        "model": model,
        "version": c.version,
        "verdict": c.verdict.value,
        "reasons": list(c.reasons),
        "pairs": c.pairs,
        "unmatched": c.unmatched,
        "waiting": c.waiting,
        "duplicates": c.duplicates,
        "agreement": c.agreement,
        "numeric": {"tolerance": c.tolerance, "mean_abs_diff": c.mean_abs_diff}
        if c.tolerance is not None
        else None,
        "distance": {
            "prediction_psi": c.prediction_psi,
            "prediction_wasserstein": c.prediction_wasserstein,
            "confidence_psi": c.confidence_psi,
        },
        "latency_ms": {
            "pairs": lat.n,
            "live": {"p50": lat.live_p50, "p99": lat.live_p99},
            "shadow": {"p50": lat.shadow_p50, "p99": lat.shadow_p99},
        },
        "accuracy": {
            "labelled_pairs": c.labelled,
            "live": c.live_accuracy,
            "shadow": c.shadow_accuracy,
        },
        "segments": [
            {
                "feature": g.feature,
                "value": g.value,
                "pairs": g.pairs,
                "disagreements": g.disagreements,
                "rate": g.rate,
            }
            for g in c.segments
        ],
        "settings": {
            "max_disagreement": s.max_disagreement,
            "min_pairs": s.min_pairs,
            "min_labels": s.min_labels,
            "min_segment": s.min_segment,
            "accuracy_margin": s.accuracy_margin,
            "latency_margin": s.latency_margin,
            "psi_limit": s.psi_limit,
        },
    }


def shadow_post_json(model: str, parsed: ShadowRows, post: ShadowPost) -> dict[str, Any]:
    accepted = len(parsed.rows) - post.duplicates
    return {
        "model": model,
        "version": post.version,
        "shadow": True,
        "received": len(parsed.rows) + parsed.rejected_total,
        "accepted": accepted,
        "rejected": parsed.rejected_total,
        "duplicates": post.duplicates,
        "paired": post.paired,
        "waiting": post.waiting,
        "errors": [{"row": i, "field": f, "reason": r} for i, f, r in parsed.rejected],
    }


_HEADS = {"ready": "READY to canary", "not_yet": "NOT YET", "disagrees": "DISAGREES"}


def shadow_text(answer: dict[str, Any]) -> str:
    """The answer in lines: verdict and reasons, then agreement, distance, latency,
    accuracy and the segments where the versions differ most."""
    head = _HEADS.get(answer["verdict"], answer["verdict"])
    lines = [f"Shadow {answer['version']} of {answer['model']}: {head}"]
    lines += [f"  - {reason}" for reason in answer["reasons"]]
    lines.append(
        f"Pairs {answer['pairs']:,} (unmatched {answer['unmatched']:,}, "
        f"waiting {answer['waiting']:,}); agreement {_pct(answer['agreement'])}"
    )
    d = answer["distance"]
    parts = [f"prediction PSI {_num(d['prediction_psi'])}"]
    if d["prediction_wasserstein"] is not None:
        parts.append(f"Wasserstein {_num(d['prediction_wasserstein'])}")
    if d["confidence_psi"] is not None:
        parts.append(f"confidence PSI {_num(d['confidence_psi'])}")
    lines.append("Distance: " + ", ".join(parts))
    lat = answer["latency_ms"]
    if lat["pairs"]:
        live, shadow = lat["live"], lat["shadow"]
        lines.append(
            f"Latency p50/p99: shadow {shadow['p50']:.0f}/{shadow['p99']:.0f} ms, "
            f"live {live['p50']:.0f}/{live['p99']:.0f} ms ({lat['pairs']:,} pairs)"
        )
    acc = answer["accuracy"]
    if acc["labelled_pairs"]:
        lines.append(
            f"Accuracy on {acc['labelled_pairs']:,} labelled pairs: shadow "
            f"{_pct(acc['shadow'])}, live {_pct(acc['live'])}"
        )
    for g in answer["segments"]:
        lines.append(
            f"Differs most: {g['feature']}={g['value']}: {g['disagreements']:,} of "
            f"{g['pairs']:,} pairs ({_pct(g['rate'])})"
        )
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
