"""What the reference says about its labels: the yardstick of live label health.

Built by ``vigil model reference`` when the file has a label column beside a class
prediction (``bot.monitoring.reference.load``, and the DuckDB/Spark engines' pair counts):
the label class counts (what label drift compares the recent labels with), the agreement
(share of rows whose prediction equals the label: a live label source agreeing with the
model far more than this is suspected of copying its predictions), and the estimate's gap
(mean confidence minus that agreement: how far the label-free estimate missed on the
reference; the live gap is judged against it). Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ReferenceLabels:
    """The reference's labels, reduced (see the module docstring)."""

    counts: Mapping[str, int]
    """Rows per label class (category keys, as live labels are keyed)."""
    labelled: int
    """Rows with both a prediction and a label."""
    agreement: float | None
    """Share of those rows whose prediction equals the label."""
    gap: float | None = None
    """The reference's mean confidence minus ``agreement`` (None without a confidence)."""


def reference_labels(
    pairs: Iterable[tuple[str | None, str | None, int]], confidence_mean: float | None
) -> ReferenceLabels | None:
    """From (prediction key, label key, rows) counts; None when no row has a label. Rows
    with a label and no prediction count in the label mix, not in the agreement."""
    counts: Counter[str] = Counter()
    labelled = hits = 0
    for predicted, label, n in pairs:
        if label is None:
            continue
        counts[label] += int(n)
        if predicted is not None:
            labelled += int(n)
            hits += int(n) if predicted == label else 0
    if not counts:
        return None
    agreement = hits / labelled if labelled else None
    gap = None
    if agreement is not None and confidence_mean is not None:
        gap = confidence_mean - agreement
    return ReferenceLabels(dict(sorted(counts.items())), labelled, agreement, gap)


def labels_to_dict(labels: ReferenceLabels) -> dict[str, object]:
    return {
        "counts": dict(labels.counts),
        "labelled": labels.labelled,
        "agreement": labels.agreement,
        "gap": labels.gap,
    }


def labels_from_dict(data: Mapping[str, object]) -> ReferenceLabels:
    """The stored form back (``profile_dict`` validates the shape around it)."""
    raw = data.get("counts")
    counts = {str(k): int(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    labelled = data.get("labelled")
    agreement, gap = data.get("agreement"), data.get("gap")
    return ReferenceLabels(
        counts,
        int(labelled) if isinstance(labelled, int) else 0,
        float(agreement) if isinstance(agreement, int | float) else None,
        float(gap) if isinstance(gap, int | float) else None,
    )
