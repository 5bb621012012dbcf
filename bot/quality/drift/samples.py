"""Raw samples into counts: a numeric feature on the reference's cut points, a categorical one
per category.

The reference is sorted once (numpy's SIMD sort beats a bin search per value) and its cuts
and counts are read off the sorted array; categories align on the union of both sides, so
a category the reference never saw is its own bucket. Every statistic of two samples counts
them here, then works on the counts.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from bot.core.errors import ValidationError
from bot.quality.binning import DEFAULT_BINS, equal_width_edges, quantile_edges
from bot.quality.drift.inputs import (
    Binning,
    Column,
    FloatArray,
    IntArray,
    Kind,
    check_kind,
    numeric_values,
)


def open_histogram(values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts on the inner cut points with open outer bins (``binning.bin_counts`` semantics)."""
    bounds = np.concatenate(([-np.inf], edges, [np.inf]))
    return np.histogram(values, bounds)[0].astype(np.int64)


def histogram_counts(
    reference: Column,
    current: Column,
    *,
    bins: int = DEFAULT_BINS,
    binning: Binning = "quantile",
) -> tuple[FloatArray, IntArray, IntArray]:
    """The reference's inner cut points and both sides' counts on them.

    A constant reference has no spread to cut (every current value above it would share its
    bin), so it is refused; compare such a feature with :func:`ks`, :func:`wasserstein_normed`
    or as ``kind="categorical"``.
    """
    ref = np.sort(numeric_values(reference, "reference"))
    cur = numeric_values(current, "current")
    if ref[0] == ref[-1]:
        raise ValidationError(
            "reference",
            f"is constant (every value is {ref[0]:g}), so it cannot be cut into bins; "
            "use ks or wasserstein_normed, or compare it as kind='categorical'",
        )
    if binning == "quantile":
        edges = quantile_edges(ref, bins)
    elif binning == "equal_width":
        edges = equal_width_edges(ref, bins)
    else:
        raise ValidationError("binning", f"must be 'quantile' or 'equal_width', got {binning!r}")
    below = np.searchsorted(ref, edges, side="left")
    ref_counts = np.diff(below, prepend=0, append=ref.size).astype(np.int64)
    return edges, ref_counts, open_histogram(cur, edges)


def _tally(values: Column, field: str) -> dict[Any, int]:
    """Count per category; missing (None, NaN) or mutually unorderable categories are refused.

    Typed arrays go through ``np.unique``; object arrays through a hash ``Counter`` (sorting
    Python objects is ~30x slower). A plain list stays objects, so ``["a", 1]`` is refused
    rather than silently read as ``["a", "1"]``.
    """
    typed = hasattr(values, "dtype")
    array = (np.asarray(values) if typed else np.asarray(values, dtype=object)).ravel()
    if array.size == 0:
        raise ValidationError(field, "has no values")
    if array.dtype.kind == "O":
        tally = dict(Counter(array.tolist()))
    else:
        keys, counts = np.unique(array, return_counts=True)
        tally = dict(zip(keys.tolist(), counts.tolist(), strict=True))
    missing = sum(n for k, n in tally.items() if k is None or (isinstance(k, float) and k != k))
    if missing:
        raise ValidationError(field, f"has {missing} missing values; map them to e.g. '<missing>'")
    try:
        sorted(tally)
    except TypeError:
        raise ValidationError(field, "mixes category types (e.g. str and int); use str") from None
    return tally


def category_counts(reference: Column, current: Column) -> tuple[list[Any], IntArray, IntArray]:
    """Sorted union of both sides' categories and each side's count per category."""
    ref, cur = _tally(reference, "reference"), _tally(current, "current")
    try:
        categories = sorted(ref.keys() | cur.keys())
    except TypeError:
        raise ValidationError(
            "current", "has categories of another type than the reference's; use one type"
        ) from None
    ref_counts = np.array([ref.get(c, 0) for c in categories], dtype=np.int64)
    cur_counts = np.array([cur.get(c, 0) for c in categories], dtype=np.int64)
    return categories, ref_counts, cur_counts


def distribution(
    reference: Column, current: Column, kind: Kind, bins: int, binning: Binning
) -> tuple[IntArray, IntArray]:
    check_kind(kind)
    if kind == "categorical":
        return category_counts(reference, current)[1:]
    return histogram_counts(reference, current, bins=bins, binning=binning)[1:]
