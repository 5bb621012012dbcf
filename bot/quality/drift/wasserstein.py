"""Wasserstein-1 distance of two numeric distributions, divided by the reference's spread.

Divided by the reference's population std, floored at ``min_std`` (Evidently's rule), so it
reads alike across features of any scale: 0.1 is the default drift threshold. From binned
counts it is approximate; from two samples it is exact, and ~15x faster than scipy's.

scipy is imported by the functions that use it, on their first call, not with this module:
it takes over half a second to import, and every ``vigil`` command (``vigil demo``, ``vigil
check``) builds the app, which imports this module, whether or not it ever judges drift.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from bot.core.errors import ValidationError
from bot.quality.drift.inputs import (
    DEFAULT_MIN_STD,
    Column,
    Counts,
    FloatArray,
    numeric_values,
    pair,
    positive,
)


def wasserstein_counts(
    reference: Counts,
    current: Counts,
    edges: npt.ArrayLike,
    *,
    low: float,
    high: float,
    ref_std: float,
    min_std: float = DEFAULT_MIN_STD,
) -> float:
    """Wasserstein-1 between binned counts, divided by ``max(ref_std, min_std)`` — approximate.

    Every row of a bin is placed at the bin's midpoint; the open outer bins are clamped to
    the reference range ``[low, high]``, so values far outside it count as if at its edge
    (PSI and KS still see them). ``edges`` are the inner cut points the counts were taken on.
    """
    ref, cur = pair(reference, current)
    cuts = numeric_values(edges, "edges")
    if cuts.size + 1 != ref.size:
        raise ValidationError("edges", f"gives {cuts.size + 1} bins but the counts have {ref.size}")
    if (np.diff(cuts) <= 0).any():
        raise ValidationError("edges", "must be strictly increasing")
    if not (math.isfinite(low) and low <= cuts[0]):
        raise ValidationError("low", f"must be finite and at most the first cut {cuts[0]:g}")
    if not (math.isfinite(high) and high >= cuts[-1]):
        raise ValidationError("high", f"must be finite and at least the last cut {cuts[-1]:g}")
    if not (math.isfinite(ref_std) and ref_std >= 0):
        raise ValidationError("ref_std", f"must be a finite number >= 0, got {ref_std!r}")
    bounds = np.concatenate(([low], cuts, [high]))
    mids = (bounds[:-1] + bounds[1:]) / 2
    gap = np.cumsum(ref)[:-1] / ref.sum() - np.cumsum(cur)[:-1] / cur.sum()
    distance = float(np.sum(np.abs(gap) * np.diff(mids)))
    return distance / max(ref_std, positive(min_std, "min_std"))


def _wasserstein_sorted(u: FloatArray, v: FloatArray) -> float:
    """W1 of two sorted samples as the integral of ``|Q_u(t) - Q_v(t)|`` over quantiles ``t``.

    The quantile functions step at ``k / n`` and ``l / m``: in integer units of
    ``1 / lcm(n, m)``, at ``a_k = k step_u`` and ``b_l = l step_v``. Each interval of the
    merged steps ends at some ``a_k`` or ``b_l``, and its start and the other side's order
    statistic follow by integer division, so nothing is merged or searched. Same value as
    ``scipy.stats.wasserstein_distance``, ~15x faster.
    """
    n, m = u.size, v.size
    if n == m:
        return float(np.mean(np.abs(u - v)))
    lcm = n // math.gcd(n, m) * m
    if lcm > 2**62:  # the integer grid would overflow; fall back to scipy
        from scipy import stats  # type: ignore[import-untyped, unused-ignore]  # deferred: see the docstring

        return float(stats.wasserstein_distance(u, v))
    step_u, step_v = lcm // n, lcm // m
    a = np.arange(step_u, lcm + 1, step_u, dtype=np.int64)
    at_v = (a - 1) // step_v  # v's order statistic on (start, a_k]; starts after the last b < a_k
    width_a = a - np.maximum(a - step_u, at_v * step_v)
    b = np.arange(step_v, lcm + 1, step_v, dtype=np.int64)
    at_u = (b - 1) // step_u  # a tie a_k = b_l ends an a-interval first: b's is then empty
    width_b = b - np.maximum(b - step_v, (b // step_u) * step_u)
    total = np.dot(np.abs(u - v[at_v]), width_a.astype(np.float64))
    total += np.dot(np.abs(u[at_u] - v), width_b.astype(np.float64))
    return float(total) / lcm


def wasserstein_normed(
    reference: Column, current: Column, *, min_std: float = DEFAULT_MIN_STD
) -> float:
    """Wasserstein-1 distance divided by ``max(std(reference), min_std)`` (population std).

    The floor is Evidently's rule for a constant reference: identical data still scores 0,
    and any move away from a value the reference never left scores large (drift).
    """
    ref = np.sort(numeric_values(reference, "reference"))
    cur = np.sort(numeric_values(current, "current"))
    norm = max(float(np.std(ref)), positive(min_std, "min_std"))
    return _wasserstein_sorted(ref, cur) / norm
