"""A reference profile built from an engine's answers (``bot.profiling.table.Table``), equal
to what ``build_profile`` gives over the same file in memory.

Every count, edge, category, min and max is exactly the in-process one: the edges come from
order statistics with NumPy's interpolation (``bot.profiling.quantiles``), bin counts from
"how many at or above each edge" (``searchsorted(side="right")`` puts a value in the bin after
every edge it reaches), category keys from ``category_key`` on each distinct value, ranked as
``build_profile`` ranks them. The mean and std are the engine's sums: another summation
order than NumPy's pairwise one, so they agree to about 1e-12 relative, not to the last bit.
Pure: the engine does the I/O.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.errors import ValidationError
from bot.profiling.quantiles import numeric_edges, positions
from bot.profiling.table import NumericSummary, Source, Table
from bot.quality.profile import (
    CLASS_LIMIT,
    CategoricalProfile,
    FeatureProfile,
    Kind,
    NumericProfile,
    ReferenceProfile,
    category_key,
    ranked_categories,
)

_BOOLEANS = {"true", "false"}


@dataclass(frozen=True)
class Column:
    """A column to profile: its name in the file and its name in the profile."""

    source: str
    name: str
    field: str
    kind: Kind | None
    """None: decide (the prediction: class labels or a regression output)."""


def keyed_counts(pairs: Sequence[tuple[object, int]], source: Source, field: str) -> Counter[str]:
    """Value counts as category-key counts, the keys live rows get (``category_key``); a
    CSV text column of only true/false spellings is keyed as booleans are."""
    if source == "csv-text" and pairs and {str(v).lower() for v, _ in pairs} <= _BOOLEANS:
        pairs = [(str(v).lower(), n) for v, n in pairs]
    out: Counter[str] = Counter()
    for value, count in pairs:
        key = category_key(value)
        if key is None:
            continue
        out[key] += int(count)
    if not out:
        raise ValidationError(field, "has no values (every row is missing)")
    return out


def categorical(
    name: str, counts: Counter[str], missing: int, max_categories: int
) -> CategoricalProfile:
    """Kept categories ranked as ``build_profile`` ranks them (most rows, then by key)."""
    return ranked_categories(name, counts, missing, max_categories)


def _check_numeric(summary: NumericSummary, field: str) -> None:
    if summary.infinite:
        raise ValidationError(field, f"holds {summary.infinite} infinite value(s)")
    if summary.present == 0:
        raise ValidationError(field, "has no values (every row is missing)")


def _is_classes(summary: NumericSummary) -> bool:
    return summary.whole and summary.distinct <= CLASS_LIMIT


def profile_table(
    table: Table,
    columns: Sequence[Column],
    sources: Mapping[str, Source],
    *,
    prediction: Column | None,
    confidence: Column | None,
    importances: Mapping[str, float] | None,
    bins: int,
    max_categories: int,
    file_name: str,
) -> ReferenceProfile:
    """The reference profile of ``table``: features ``columns``, then the prediction and the
    confidence, with ``build_profile``'s checks and results."""
    if max_categories < 1:
        raise ValidationError("max_categories", f"must be at least 1, got {max_categories}")
    n_rows = table.n_rows()
    everything = [*columns, *(c for c in (prediction, confidence) if c is not None)]
    numeric = [c.source for c in everything if sources[c.source] == "number"]
    summaries = table.numeric_summaries(numeric)
    for column in columns:
        if column.source in summaries and summaries[column.source].present == 0:
            raise ValidationError(
                column.field,
                f"is empty on every row of {file_name}; pass --ignore {column.source}",
            )
    kinds: dict[str, Kind] = {}
    for column in everything:
        kind = column.kind
        if kind is None and sources[column.source] != "number":
            kind = "categorical"
        elif kind is None:
            _check_numeric(summaries[column.source], column.field)
            kind = "categorical" if _is_classes(summaries[column.source]) else "numeric"
        kinds[column.source] = kind
    edges: dict[str, list[float]] = {}
    for column in everything:
        if kinds[column.source] != "numeric":
            continue
        summary = summaries[column.source]
        _check_numeric(summary, column.field)
        few = table.distinct_values(column.source) if summary.distinct <= bins else None
        stats = (
            None
            if few is not None
            else table.order_statistics(column.source, positions(summary.present, bins))
        )
        edges[column.source] = [float(e) for e in numeric_edges(summary.present, bins, few, stats)]
    above = table.at_or_above(edges)
    built: dict[str, FeatureProfile] = {}
    for column in everything:
        if kinds[column.source] == "numeric":
            built[column.source] = _numeric(column, summaries[column.source], edges, above)
            continue
        pairs = table.value_counts(column.source)
        if not pairs and column in columns:
            raise ValidationError(
                column.field,
                f"is empty on every row of {file_name}; pass --ignore {column.source}",
            )
        counts = keyed_counts(pairs, sources[column.source], column.field)
        missing = n_rows - sum(int(n) for _, n in pairs)
        built[column.source] = categorical(column.name, counts, missing, max_categories)
    confident = None if confidence is None else built[confidence.source]
    if confident is not None and not isinstance(confident, NumericProfile):
        raise ValidationError("confidence", "must be numeric")
    if confident is not None and (confident.min < 0.0 or confident.max > 1.0):
        raise ValidationError("confidence", "values must lie between 0 and 1")
    weights: dict[str, float] = {}
    for name, weight in (importances or {}).items():
        if not math.isfinite(weight):
            raise ValidationError(f"importances.{name}", "must be a finite number")
        weights[name] = float(weight)
    return ReferenceProfile(
        n_rows=n_rows,
        features=tuple(built[c.source] for c in columns),
        prediction=None if prediction is None else built[prediction.source],
        confidence=confident,
        importances=weights,
    )


def _numeric(
    column: Column,
    summary: NumericSummary,
    edges: Mapping[str, list[float]],
    above: Mapping[str, list[int]],
) -> NumericProfile:
    ge = above[column.source]
    counts = [summary.present - ge[0]]
    counts += [ge[i - 1] - ge[i] for i in range(1, len(ge))]
    counts.append(ge[-1])
    return NumericProfile(
        name=column.name,
        edges=tuple(edges[column.source]),
        counts=tuple(counts),
        missing=summary.missing,
        min=summary.min,
        max=summary.max,
        mean=summary.mean,
        std=summary.std,
    )


def agreement(pairs: Sequence[tuple[object, object, int]]) -> tuple[float | None, int]:
    """The reference accuracy from (prediction, label, rows): keys compared as live rows'."""
    labelled = hits = 0
    for predicted, label, count in pairs:
        a, b = category_key(predicted), category_key(label)
        if a is None or b is None:
            continue
        labelled += int(count)
        hits += int(count) if a == b else 0
    return (hits / labelled if labelled else None), labelled
