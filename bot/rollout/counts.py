"""Two-sample statistics from counts, vectorised: proportions, ranks, quantiles, histograms.

Each function takes counts with any leading batch axes (one judge call has none; the bench
passes a thousand rollouts at once) and returns arrays of that batch shape. Each statistic
is asymptotically normal with the variance returned beside it, which is what the mixture
tests of :mod:`bot.rollout.sequential` need.

Latencies are counted on one log-spaced grid (:class:`LatencyGrid`): ranks, quantiles and a
"canary may be 10 % slower" tolerance (a shift by a whole number of buckets) are then exact
operations on counts, the database can keep per-version histograms instead of rows, and the
resolution (1.2 % per bucket by default) is finer than any latency difference worth a page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.core.errors import ValidationError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_STEP = math.log(1.1) / 8
"""Bucket width in log-milliseconds: eight buckets per 10 %, so 10 % is an exact shift."""


@dataclass(frozen=True)
class LatencyGrid:
    """Log-spaced latency buckets: bucket ``k`` holds ``[low e^(k step), low e^((k+1) step))``.

    Bucket 0 also holds everything faster than ``low_ms``, the last one everything slower
    than ``high_ms``. Both arms of a comparison must be counted on the same grid.
    """

    low_ms: float = 0.1
    high_ms: float = 600_000.0
    step: float = DEFAULT_STEP

    def __post_init__(self) -> None:
        if not (0 < self.low_ms < self.high_ms and math.isfinite(self.high_ms)):
            raise ValidationError("grid", "needs 0 < low_ms < high_ms, both finite")
        if not (0 < self.step < 1):
            raise ValidationError("grid", f"step must lie in (0, 1), got {self.step!r}")

    @property
    def size(self) -> int:
        return math.ceil(math.log(self.high_ms / self.low_ms) / self.step) + 1

    def counts(self, latencies_ms: npt.ArrayLike) -> IntArray:
        """Counts per bucket of raw latencies (milliseconds, finite, not negative)."""
        values = np.asarray(latencies_ms, dtype=np.float64).ravel()
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValidationError("latencies_ms", "must be finite, non-negative milliseconds")
        ratio = np.log(np.maximum(values, self.low_ms) / self.low_ms) / self.step
        index = np.minimum(np.floor(ratio).astype(np.int64), self.size - 1)
        return np.bincount(index, minlength=self.size).astype(np.int64)

    def value_ms(self, index: npt.ArrayLike) -> FloatArray:
        """The middle (geometric) of bucket ``index``, in milliseconds."""
        k = np.asarray(index, dtype=np.float64)
        out: FloatArray = self.low_ms * np.exp((k + 0.5) * self.step)
        return out

    def buckets_for(self, tolerance: float) -> int:
        """``1 + tolerance`` as a whole number of buckets (rounded: within one bucket)."""
        return round(math.log1p(tolerance) / self.step)


def _float(counts: npt.ArrayLike) -> FloatArray:
    return np.asarray(counts, dtype=np.float64)


def two_proportions(
    bad_s: npt.ArrayLike, n_s: npt.ArrayLike, bad_c: npt.ArrayLike, n_c: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """The gap ``bad_c/n_c - bad_s/n_s`` (positive = canary worse) and its variance.

    The variance uses ``(bad + 0.5) / (n + 1)`` per arm, so an arm with no bad events yet
    (no errors in 40 labels) does not claim zero variance and a certainty it lacks.
    """
    bs, ns, bc, nc = _float(bad_s), _float(n_s), _float(bad_c), _float(n_c)
    ns1, nc1 = np.maximum(ns, 1.0), np.maximum(nc, 1.0)
    gap = bc / nc1 - bs / ns1
    ps, pc = (bs + 0.5) / (ns + 1.0), (bc + 0.5) / (nc + 1.0)
    variance = ps * (1 - ps) / ns1 + pc * (1 - pc) / nc1
    return gap, variance


def fisher_p(
    bad_s: npt.ArrayLike, n_s: npt.ArrayLike, bad_c: npt.ArrayLike, n_c: npt.ArrayLike
) -> FloatArray:
    """Fisher's exact one-sided p-value that the canary has more bad events than stable."""
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]  # heavy: on first use

    bs, ns = np.asarray(bad_s, np.int64), np.asarray(n_s, np.int64)
    bc, nc = np.asarray(bad_c, np.int64), np.asarray(n_c, np.int64)
    p: FloatArray = np.asarray(stats.hypergeom.sf(bc - 1, ns + nc, bs + bc, nc), np.float64)
    return np.clip(p, 0.0, 1.0)


def variance_at(
    bad_s: npt.ArrayLike, n_s: npt.ArrayLike, n_c: npt.ArrayLike, allowance: float
) -> FloatArray:
    """The gap's variance *if the canary's rate were stable's plus* ``allowance`` (the edge of
    "worse than allowed"): the variance of a pass test, as a score test computes it under
    its null (Farrington and Manning, 1990).

    Why not the plug-in variance of :func:`two_proportions`: a canary that happens to show
    few bad events also shows a small variance, exactly when a pass test reads it, so the
    test was fooled at the edge (request errors exactly 0.5 point worse "proven within" the
    allowance in 7-10 % of simulated rollouts at a 2.5 % level, 60 looks each;
    ``tests/unit/test_canary_sequential.py`` keeps the case). At the null's rate it is not.
    """
    ns, nc = _float(n_s), _float(n_c)
    ps = (_float(bad_s) + 0.5) / (ns + 1.0)
    pc = np.clip(ps + allowance, 0.0, 1.0)
    out: FloatArray = ps * (1 - ps) / np.maximum(ns, 1.0) + pc * (1 - pc) / np.maximum(nc, 1.0)
    return out


def shift_down(counts: npt.ArrayLike, buckets: int) -> FloatArray:
    """Counts of values divided by ``e^(buckets step)``: every bucket moves ``buckets`` down."""
    c = _float(counts)
    if buckets <= 0:
        return c
    out = np.zeros_like(c)
    out[..., 0] = c[..., : buckets + 1].sum(axis=-1)
    out[..., 1 : c.shape[-1] - buckets] = c[..., buckets + 1 :]
    return out


def auc(stable: npt.ArrayLike, canary: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Mann-Whitney's ``P(canary > stable) + P(tie) / 2`` on a shared grid, and its variance.

    The variance is DeLong's (from the placement values), which stays right when the two
    distributions differ in shape, not only under "the same distribution" as the textbook
    null variance assumes. Floored at ``1 / (n m)`` so a perfect separation stays finite.
    """
    a, b = _float(stable), _float(canary)
    m, n = a.sum(axis=-1), b.sum(axis=-1)
    m1, n1 = np.maximum(m, 1.0)[..., None], np.maximum(n, 1.0)[..., None]
    below_a = np.cumsum(a, axis=-1) - a
    below_b = np.cumsum(b, axis=-1) - b
    v10 = (below_a + 0.5 * a) / m1  # for a canary value: share of stable below it
    v01 = (n1 - below_b - 0.5 * b) / n1  # for a stable value: share of canary above it
    theta = (b * v10).sum(axis=-1) / n1[..., 0]
    var10 = (b * (v10 - theta[..., None]) ** 2).sum(axis=-1) / np.maximum(n - 1, 1) / n1[..., 0]
    var01 = (a * (v01 - theta[..., None]) ** 2).sum(axis=-1) / np.maximum(m - 1, 1) / m1[..., 0]
    floor = 1.0 / (m1[..., 0] * n1[..., 0])
    return theta, np.maximum(var10 + var01, floor)


def quantile_index(counts: npt.ArrayLike, q: float) -> IntArray:
    """The bucket holding the ``q`` quantile: the first whose cumulative share reaches ``q``."""
    c = _float(counts)
    cum = np.cumsum(c, axis=-1)
    reached = cum >= q * cum[..., -1:]
    out: IntArray = np.argmax(reached, axis=-1).astype(np.int64)
    return out


def count_above(counts: npt.ArrayLike, index: npt.ArrayLike) -> FloatArray:
    """How many counts lie in buckets strictly above ``index`` (per batch row)."""
    c = _float(counts)
    k = np.arange(c.shape[-1])
    above = k > np.asarray(index)[..., None]
    out: FloatArray = (c * above).sum(axis=-1)
    return out


def count_outside(counts: npt.ArrayLike, low: npt.ArrayLike, high: npt.ArrayLike) -> FloatArray:
    """How many counts lie in buckets strictly below ``low`` or strictly above ``high``."""
    c = _float(counts)
    k = np.arange(c.shape[-1])
    outside = (k < np.asarray(low)[..., None]) | (k > np.asarray(high)[..., None])
    out: FloatArray = (c * outside).sum(axis=-1)
    return out


def deviations(counts: npt.ArrayLike) -> FloatArray:
    """Counts of ``|k - median bucket|``: each value's distance to its own arm's median.

    In buckets of the log grid, so the spread is measured in ratios (a request twice as slow
    as the median is as far as one twice as fast), whatever the median itself is.
    """
    c = _float(counts)
    size = c.shape[-1]
    median = quantile_index(c, 0.5)
    distance = np.abs(np.arange(size) - median[..., None])
    flat = c.reshape(-1, size)
    rows = np.arange(flat.shape[0])[:, None] * size
    out = np.bincount((rows + distance.reshape(-1, size)).ravel(), flat.ravel(), flat.size)
    shaped: FloatArray = out.astype(np.float64).reshape(c.shape)
    return shaped


def homogeneity(
    stable: npt.ArrayLike, canary: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Pearson's chi-square of "same distribution" for two histograms on the same bins.

    Returns ``chi2``, the effective rows ``n_s n_c / (n_s + n_c)`` and the degrees of freedom
    (bins seen in either arm, minus 1). ``chi2 = rows * sum (p_c - p_s)**2 / pooled``.
    """
    a, b = _float(stable), _float(canary)
    m, n = a.sum(axis=-1), b.sum(axis=-1)
    pooled = a + b
    seen = pooled > 0
    share = np.where(seen, pooled / np.maximum(m + n, 1.0)[..., None], 1.0)
    diff = a / np.maximum(m, 1.0)[..., None] - b / np.maximum(n, 1.0)[..., None]
    rows = m * n / np.maximum(m + n, 1.0)
    chi2 = rows * np.where(seen, diff * diff / share, 0.0).sum(axis=-1)
    dof = np.maximum(seen.sum(axis=-1) - 1, 0).astype(np.float64)
    return chi2, rows, dof
