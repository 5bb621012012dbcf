"""Statistical tests of two distributions: chi-square (categorical) and Kolmogorov-Smirnov
(numeric), each a statistic and its two-sided p-value.

On small samples a p-value below 0.05 is the default drift verdict (``methods.py``); on large
ones a p-value flags trivial shifts, so effect sizes are used instead.

scipy is imported by the functions that use it, on their first call, not with this module:
it takes over half a second to import, and every ``vigil`` command (``vigil demo``, ``vigil
check``) builds the app, which imports this module, whether or not it ever judges drift.
"""

from __future__ import annotations

import numpy as np

from bot.quality.drift.inputs import (
    DEFAULT_EPS,
    Column,
    Counts,
    StatTestResult,
    check_eps,
    informative,
    numeric_values,
    pair,
    proportions,
)
from bot.quality.drift.samples import category_counts


def chi_square_counts(
    reference: Counts, current: Counts, *, eps: float = DEFAULT_EPS
) -> StatTestResult:
    """Chi-square goodness of fit of the current counts to the reference's proportions.

    As Evidently does, the expected counts are the reference proportions scaled to the
    current total. A category the reference never saw would expect 0 rows (an infinite
    statistic), so its proportion is ``eps`` instead. Degrees of freedom: informative
    categories - 1; with a single one there is nothing to compare (statistic 0, p 1).
    """
    check_eps(eps)
    ref, cur = informative(*pair(reference, current))
    if ref.size < 2:
        return StatTestResult(0.0, 1.0)
    expected = proportions(ref, eps) * cur.sum()
    statistic = float(np.sum((cur - expected) ** 2 / expected))
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]  # deferred: see the docstring

    return StatTestResult(statistic, float(stats.chi2.sf(statistic, ref.size - 1)))


def ks_counts(reference: Counts, current: Counts) -> StatTestResult:
    """Two-sample Kolmogorov-Smirnov on binned counts (ordered bins only) — an approximation.

    The statistic is the largest CDF difference *at the bin edges*; the true one (over every
    value) can only be larger, so this never overstates drift and coarse bins understate it.
    The p-value is Smirnov's asymptotic one with the counts' totals as sample sizes.
    """
    ref, cur = pair(reference, current)
    gap = np.cumsum(ref) / ref.sum() - np.cumsum(cur) / cur.sum()
    statistic = float(np.max(np.abs(gap)))
    n, m = ref.sum(), cur.sum()  # as ks_2samp(method="asymp"): kstwo with n m / (n + m) rows
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]  # deferred: see the docstring

    p_value = stats.kstwo.sf(statistic, max(1.0, float(np.round(n * m / (n + m)))))
    return StatTestResult(statistic, float(np.clip(p_value, 0.0, 1.0)))


def chi_square(reference: Column, current: Column) -> StatTestResult:
    """Chi-square test of two categorical samples (see :func:`chi_square_counts`)."""
    return chi_square_counts(*category_counts(reference, current)[1:])


def ks(reference: Column, current: Column) -> StatTestResult:
    """Two-sample Kolmogorov-Smirnov test: ``scipy.stats.ks_2samp``, two-sided.

    Its "auto" method: an exact p-value up to 10,000 rows a side, Smirnov's asymptotic above.
    """
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]  # deferred: see the docstring

    result = stats.ks_2samp(
        numeric_values(reference, "reference"), numeric_values(current, "current")
    )
    return StatTestResult(float(result.statistic), float(result.pvalue))
