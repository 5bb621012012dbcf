"""The reference's quantile cut points from a few order statistics, exactly as NumPy gives
them from all the values.

``bot.quality.binning.quantile_edges`` (the in-process path) calls ``np.quantile`` (method
``linear``) on every value. An engine that cannot hold the values (DuckDB out of core, Spark
across a cluster) sorts them instead and fetches only the order statistics that definition
reads: for each probability ``p``, the values at sorted positions ``floor((n - 1) p)`` and the
next one. The interpolation between them is then done here with NumPy's very arithmetic
(``_lerp``: ``a + (b - a) t``, or ``b - (b - a)(1 - t)`` when ``t >= 0.5``), so the cut points are
bit-for-bit those of the in-process path (``tests/unit/test_profiling_quantiles.py`` checks it
against ``np.quantile``). The few-distinct-values rule (one bin per value) and the de-duplication
of equal cuts follow ``quantile_edges`` too. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bot.core.errors import ValidationError
from bot.quality.binning import FloatArray, IntArray


def probabilities(bins: int) -> FloatArray:
    """The inner probabilities ``quantile_edges`` cuts at."""
    if bins < 2:
        raise ValidationError("bins", f"must be at least 2, got {bins}")
    return np.linspace(0.0, 1.0, bins + 1)[1:-1]


def _neighbours(n: int, bins: int) -> tuple[FloatArray, IntArray, IntArray]:
    """NumPy's virtual indexes, and the positions below and above each (``_get_indexes``)."""
    virtual = (n - 1) * probabilities(bins)
    below = np.floor(virtual)
    above = below + 1
    top = virtual >= n - 1
    below[top] = -1
    above[top] = -1
    return virtual, below.astype(np.int64), above.astype(np.int64)


def positions(n: int, bins: int) -> list[int]:
    """The 0-based sorted positions (of ``n`` present values) whose values the cuts need."""
    if n < 1:
        raise ValueError("no values")
    _, below, above = _neighbours(n, bins)
    wanted = {int(i) % n for i in (*below.tolist(), *above.tolist())}
    return sorted(wanted)


def quantile_cuts(n: int, bins: int, order_statistics: Mapping[int, float]) -> FloatArray:
    """``np.unique(np.quantile(values, probabilities(bins)))`` from ``order_statistics``
    (sorted position → value, for every position of ``positions(n, bins)``)."""
    virtual, below, above = _neighbours(n, bins)
    a = np.array([order_statistics[int(i) % n] for i in below], dtype=np.float64)
    b = np.array([order_statistics[int(i) % n] for i in above], dtype=np.float64)
    gamma = virtual - below  # as NumPy's _get_gamma, from the clipped index
    diff = np.subtract(b, a)
    result = np.asarray(np.add(a, diff * gamma))
    np.subtract(b, diff * (1 - gamma), out=result, where=gamma >= 0.5)
    cuts: FloatArray = np.asarray(np.unique(result), dtype=np.float64)
    return cuts


def numeric_edges(
    n: int,
    bins: int,
    distinct: Sequence[float] | None,
    order_statistics: Mapping[int, float] | None,
) -> FloatArray:
    """The edges ``quantile_edges`` gives: the distinct values themselves when there are at
    most ``bins`` of them (``distinct``, else None), otherwise the quantile cuts."""
    if distinct is not None:
        if len(distinct) > bins:
            raise ValueError("more distinct values than bins: use the order statistics")
        return np.asarray(sorted(distinct), dtype=np.float64)
    if order_statistics is None:
        raise ValueError("neither distinct values nor order statistics")
    return quantile_cuts(n, bins, order_statistics)
