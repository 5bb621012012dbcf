"""Bins fixed by the reference data, so a production window is counted against the same cuts.

A profile stores only the *inner* cut points of each numeric feature. Bin ``0`` holds every
value below the first cut and the last bin every value at or above the last one, so values
outside the reference range are still counted (in the outer bins) instead of dropped: a
feature drifting off the reference's range is exactly what drift statistics must see.

Quantile cuts (the default) give each bin about the same share of the reference, which keeps
PSI stable; repeated quantiles (a feature with few distinct values) collapse to one cut.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from bot.core.errors import ValidationError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_BINS = 10


def _finite(values: npt.ArrayLike, field: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValidationError(field, "has no values")
    if not np.all(np.isfinite(array)):
        raise ValidationError(field, "contains NaN or infinite values; drop or impute them first")
    return array


def quantile_edges(
    reference: npt.ArrayLike, bins: int = DEFAULT_BINS, *, field: str = "reference"
) -> FloatArray:
    """Inner cut points at the reference's quantiles, strictly increasing, at most ``bins``.

    A reference with at most ``bins`` distinct values gets a cut at each value instead (one
    bin per value), so an all-constant reference yields one cut at its value: the result
    always has at least one edge and two bins (below, and at-or-above).
    """
    if bins < 2:
        raise ValidationError("bins", f"must be at least 2, got {bins}")
    array = _finite(reference, field)
    distinct = np.unique(array)
    if distinct.size <= bins:
        # Few distinct values (a 0/1 flag, a star rating): one bin per value. Quantile cuts
        # would collapse (a flag that is 0 in 95 % of rows gets one cut at 0) and hide a
        # shift between the values, exactly the drift that matters.
        return np.asarray(distinct, dtype=np.float64)
    probs = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    cuts: FloatArray = np.asarray(np.unique(np.quantile(array, probs)), dtype=np.float64)
    if cuts.size == 0:
        cuts = np.array([float(array[0])])
    return cuts


def equal_width_edges(
    reference: npt.ArrayLike, bins: int = DEFAULT_BINS, *, field: str = "reference"
) -> FloatArray:
    """Inner cut points splitting the reference's range into ``bins`` equal widths."""
    if bins < 2:
        raise ValidationError("bins", f"must be at least 2, got {bins}")
    array = _finite(reference, field)
    low, high = float(array.min()), float(array.max())
    if low == high:
        return np.array([low])
    return np.linspace(low, high, bins + 1)[1:-1].astype(np.float64)


def bin_index(values: npt.ArrayLike, edges: FloatArray) -> IntArray:
    """The bin of each value: ``0`` below ``edges[0]``, ``len(edges)`` at or above the last."""
    array = np.asarray(values, dtype=np.float64).ravel()
    return np.searchsorted(edges, array, side="right").astype(np.int64)


def bin_counts(values: npt.ArrayLike, edges: FloatArray) -> IntArray:
    """Counts per bin (``len(edges) + 1`` of them) of the finite ``values``; NaN is skipped."""
    array = np.asarray(values, dtype=np.float64).ravel()
    array = array[np.isfinite(array)]
    return np.bincount(bin_index(array, edges), minlength=edges.size + 1).astype(np.int64)


def log_quantile(hist: IntArray, edges: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of values counted on log-spaced ``edges`` (``len(edges) + 1``
    bins, as :func:`bin_counts` counts them), interpolated log-linearly inside its bin (each
    bin spans a constant factor, so this is good to within that factor and usually far
    better); the first bin is read linearly from 0 and the last answers the last edge.
    None when nothing was counted. Label delays (``quality.labels``) and shadow latencies
    (``quality.compare.shadow``) are read this way: a histogram merges by addition."""
    total = int(hist.sum())
    if not total:
        return None
    rank = q * total
    cumulative = np.cumsum(hist)
    b = int(np.searchsorted(cumulative, rank, side="left"))
    if b >= len(edges):
        return float(edges[-1])
    before = int(cumulative[b - 1]) if b else 0
    share = (rank - before) / int(hist[b])
    high = edges[b]
    if b == 0:
        return float(share * high)
    low = edges[b - 1]
    return float(low * (high / low) ** share)
