"""What ``vigil model profile`` says about a batch of production rows judged as one window.

The figures are ``bot.quality.assess.assess`` on the batch's one sketch, so they are what the
live monitor would say for those rows: PSI per feature, output drift (KL), the data-quality
score, the label-free accuracy estimate. The first line says how bad it is, for an engineer
reading it at 2 a.m.; ``as_json`` gives the same figures to a script. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.quality.assess import Assessment

PSI_DRIFT = 0.2
"""PSI above which a feature has drifted (the bundled input-drift rule's threshold)."""
KL_DRIFT = 0.1
"""Output-drift KL above which the prediction mix has shifted (the bundled rule's)."""
QUALITY_FLOOR = 0.95
"""Data-quality score below which the rows are not fit to judge (the bundled rule's)."""


def problems(assessment: Assessment) -> list[str]:
    """Each finding that would fire a bundled model-quality rule, worst first."""
    found = []
    drifted = [d for d in assessment.drift if d.psi > PSI_DRIFT]
    if drifted:
        top = ", ".join(f"{d.feature} PSI {d.psi:.2f}" for d in drifted[:3])
        found.append(f"{len(drifted)} of {len(assessment.drift)} features drifted ({top})")
    if assessment.quality is not None and assessment.quality < QUALITY_FLOOR:
        found.append(f"data quality {assessment.quality:.2f} (below {QUALITY_FLOOR:.2f})")
    if assessment.output_kl is not None and assessment.output_kl > KL_DRIFT:
        found.append(f"prediction mix shifted (KL {assessment.output_kl:.2f})")
    return found


def headline(assessment: Assessment) -> str:
    """The first line: BAD with what is wrong, TOO FEW ROWS, or OK."""
    if assessment.n_rows == 0 or (not assessment.drift and assessment.quality is None):
        return f"TOO FEW ROWS to judge: {assessment.n_received:,} rows"
    found = problems(assessment)
    if found:
        return "BAD: " + "; ".join(found)
    quality = "" if assessment.quality is None else f", data quality {assessment.quality:.2f}"
    return f"OK: no drift over {assessment.n_received:,} rows{quality}"


def report_lines(
    model: str,
    assessment: Assessment,
    *,
    source: str,
    engine: str,
    reference: str,
    absent: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> list[str]:
    """The report: headline, then the figures, worst feature first."""
    a = assessment
    lines = [
        headline(a),
        f"{model}: {a.n_received:,} rows of {source} judged against {reference} ({engine})",
    ]
    if a.quality is not None:
        lines.append(f"  data quality: {a.quality:.3f} (share of rows inside the reference)")
    if a.estimate is not None:
        e = a.estimate
        lines.append(f"  estimated accuracy (no labels): {e.value:.3f} [{e.low:.3f}, {e.high:.3f}]")
    if a.reference_confidence is not None:
        lines.append(f"  reference mean confidence: {a.reference_confidence[0]:.3f}")
    if a.output_kl is not None:
        lines.append(f"  prediction drift (KL): {a.output_kl:.3f}")
    if a.drift:
        lines.append("  feature drift (PSI; missing, outside the reference):")
    for d in a.drift:
        mark = "  DRIFT" if d.psi > PSI_DRIFT else ""
        lines.append(
            f"    {d.feature}: {d.psi:.3f}; {d.missing_share:.1%} missing, "
            f"{d.outside_share:.1%} outside{mark}"
        )
    if absent:
        lines.append(f"  not in the file (missing on every row): {', '.join(absent)}")
    if extra:
        lines.append(f"  not in the reference (not judged): {', '.join(extra)}")
    return lines


def as_json(model: str, assessment: Assessment, **context: Any) -> dict[str, Any]:
    """The same figures for a script: ``status`` is ``bad``, ``ok`` or ``too_few_rows``."""
    a = assessment
    first = headline(a)
    status = (
        "bad" if first.startswith("BAD") else "ok" if first.startswith("OK") else "too_few_rows"
    )
    e = a.estimate
    return {
        "model": model,
        "status": status,
        "headline": first,
        "rows": a.n_received,
        "data_quality": a.quality,
        "estimated_accuracy": None
        if e is None
        else {"value": e.value, "low": e.low, "high": e.high, "n": e.n},
        "mean_confidence": a.mean_confidence,
        "output_kl": a.output_kl,
        "drift": [
            {
                "feature": d.feature,
                "psi": d.psi,
                "missing_share": d.missing_share,
                "outside_share": d.outside_share,
            }
            for d in a.drift
        ],
        **context,
    }
