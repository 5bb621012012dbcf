"""Each test's evidence, vectorised: the arrays the judge reads one row of, the bench a thousand.

A test answers four questions per row, and the verdict follows from them in one place
(:func:`verdicts`): may it fail yet (the minimum sample), has it failed (its always-valid
p-value at or under its share of alpha, plus Fisher's exact test where counts are small),
does it know enough to pass, and does its point estimate sit past the allowance (MARGINAL:
looks worse than allowed, not proven). Below the minimum sample nothing fails.

Fisher's guard: the normal approximation behind the mixture is poor on small counts (40
labels with no error on one side), so a FAIL on counts also needs Fisher's exact one-sided
test at the same level. Asking for both can only lower the false failures, never raise them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.quality.drift.divergence import psi_counts
from bot.rollout.counts import (
    LatencyGrid,
    auc,
    count_above,
    deviations,
    fisher_p,
    homogeneity,
    quantile_index,
    shift_down,
    two_proportions,
)
from bot.rollout.observations import JudgeSettings, Verdict
from bot.rollout.sequential import chi_square_p, one_sided_p

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_CODES = (Verdict.PASS, Verdict.MARGINAL, Verdict.FAIL, Verdict.INCONCLUSIVE)


@dataclass(frozen=True)
class Evidence:
    """One test over a batch. ``stable``/``canary``: the headline figure of each arm;
    ``effect``: the test's own measure (gap, share of pairs, PSI), for the words."""

    can_fail: BoolArray
    failed: BoolArray
    enough: BoolArray
    past: BoolArray
    p_value: FloatArray
    stable: FloatArray
    canary: FloatArray
    effect: FloatArray


def verdicts(e: Evidence) -> npt.NDArray[np.int64]:
    """Index into ``(PASS, MARGINAL, FAIL, INCONCLUSIVE)`` per row."""
    out = np.where(e.past, 1, 0)
    out = np.where(e.enough, out, 3)
    out = np.where(e.failed & e.can_fail, 2, np.where(e.can_fail, out, 3))
    return out.astype(np.int64)


def verdict_of(code: int) -> Verdict:
    return _CODES[code]


def _arr(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def proportions(
    bad_s: npt.ArrayLike,
    n_s: npt.ArrayLike,
    bad_c: npt.ArrayLike,
    n_c: npt.ArrayLike,
    *,
    allowance: float,
    tau: float,
    minimum: int,
    alpha: float,
) -> Evidence:
    """Bad events (errors, wrong labels): FAIL when the canary's rate exceeds stable's by
    more than ``allowance``. ``stable``/``canary`` are the bad rates."""
    ns, nc = _arr(n_s), _arr(n_c)
    gap, variance = two_proportions(bad_s, ns, bad_c, nc)
    p = one_sided_p(gap, variance, null=allowance, tau=tau)
    can = np.minimum(ns, nc) >= minimum
    failed = p <= alpha
    if np.any(failed & can):
        failed = failed & (fisher_p(bad_s, ns, bad_c, nc) <= alpha)
    return Evidence(
        can,
        failed,
        can,
        gap > allowance,
        p,
        _arr(bad_s) / np.maximum(ns, 1),
        _arr(bad_c) / np.maximum(nc, 1),
        gap,
    )


def estimate_gap(
    value_s: npt.ArrayLike,
    se_s: npt.ArrayLike,
    n_s: npt.ArrayLike,
    value_c: npt.ArrayLike,
    se_c: npt.ArrayLike,
    n_c: npt.ArrayLike,
    s: JudgeSettings,
) -> Evidence:
    """Label-free accuracy estimates (value, standard error): FAIL when the canary's is lower
    by more than the accuracy allowance. The CBPE standard error is that of the realized
    accuracy around the estimate, wider than the estimate's own noise: conservative."""
    vs, vc = _arr(value_s), _arr(value_c)
    gap = vs - vc
    variance = np.maximum(_arr(se_s) ** 2 + _arr(se_c) ** 2, 1e-12)
    p = one_sided_p(gap, variance, null=s.accuracy_allowance, tau=s.accuracy_tau)
    can = np.minimum(_arr(n_s), _arr(n_c)) >= s.min_rows
    past = gap > s.accuracy_allowance
    return Evidence(can, p <= s.test_alpha, can, past, p, vs, vc, gap)


def _rows(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    return a.sum(axis=-1), b.sum(axis=-1)


def latency_shift(stable: npt.ArrayLike, canary: npt.ArrayLike, s: JudgeSettings) -> Evidence:
    """Mann-Whitney with a tolerance: FAIL when, with every canary latency divided by
    ``1 + latency_tolerance``, a canary request is still slower than a stable one in more
    than half of the pairs. ``stable``/``canary``: medians (ms); ``effect``: that share."""
    a, b = _arr(stable), _arr(canary)
    grid = s.grid
    m, n = _rows(a, b)
    theta, variance = auc(a, shift_down(b, grid.buckets_for(s.latency_tolerance)))
    p = one_sided_p(theta - 0.5, variance, null=0.0, tau=s.rank_tau)
    can = np.minimum(m, n) >= s.min_rows
    med_s, med_c = _quantile_ms(a, grid, 0.5), _quantile_ms(b, grid, 0.5)
    return Evidence(can, p <= s.test_alpha, can, theta > 0.5, p, med_s, med_c, theta)


def _quantile_ms(counts: FloatArray, grid: LatencyGrid, q: float) -> FloatArray:
    return grid.value_ms(quantile_index(counts, q))


def latency_tail(stable: npt.ArrayLike, canary: npt.ArrayLike, s: JudgeSettings) -> Evidence:
    """The tail (p99): FAIL when more canary requests lie above ``1 + latency_tolerance``
    times stable's p99 than stable's own share above its p99 (about 1 %): the canary's p99
    is then more than the tolerance slower. ``effect``: the canary's share above."""
    a, b = _arr(stable), _arr(canary)
    m, n = _rows(a, b)
    q = s.tail_quantile
    t = quantile_index(a, q)
    above_s = count_above(a, t)
    above_c = count_above(b, t + s.grid.buckets_for(s.latency_tolerance))
    gap, variance = two_proportions(above_s, m, above_c, n)
    p = one_sided_p(gap, variance, null=0.0, tau=s.tail_tau)
    can = np.minimum(m, n) >= s.min_rows
    failed = p <= s.test_alpha
    if np.any(failed & can):
        failed = failed & (fisher_p(above_s, m, above_c, n) <= s.test_alpha)
    enough = can & (n * (1 - q) >= s.min_tail_events)
    qs, qc = _quantile_ms(a, s.grid, q), _quantile_ms(b, s.grid, q)
    return Evidence(can, failed, enough, gap > 0, p, qs, qc, above_c / np.maximum(n, 1))


def latency_spread(stable: npt.ArrayLike, canary: npt.ArrayLike, s: JudgeSettings) -> Evidence:
    """Spread (a scale test on log latency): FAIL when canary requests lie further from the
    canary's own median than stable's from stable's, beyond ``spread_tolerance``, in more
    than half the pairs: a bimodal or widened canary with the same median fails here.
    ``stable``/``canary``: the p90/p10 ratio of each arm; ``effect``: the share of pairs."""
    a, b = _arr(stable), _arr(canary)
    m, n = _rows(a, b)
    dev_a, dev_b = deviations(a), deviations(b)
    used = (
        int(np.max(np.nonzero((dev_a + dev_b).reshape(-1, a.shape[-1]).sum(axis=0))[0], initial=0))
        + 1
    )
    theta, variance = _scaled_auc(dev_a[..., :used], dev_b[..., :used], 1 + s.spread_tolerance)
    p = one_sided_p(theta - 0.5, variance, null=0.0, tau=s.rank_tau)
    can = np.minimum(m, n) >= s.min_rows
    width_s, width_c = _width(a, s.grid), _width(b, s.grid)
    return Evidence(can, p <= s.test_alpha, can, theta > 0.5, p, width_s, width_c, theta)


def _width(counts: FloatArray, grid: LatencyGrid) -> FloatArray:
    spread = quantile_index(counts, 0.9) - quantile_index(counts, 0.1)
    out: FloatArray = np.exp(spread * grid.step)
    return out


def _scaled_auc(a: FloatArray, b: FloatArray, scale: float) -> tuple[FloatArray, FloatArray]:
    """Mann-Whitney of ``b``'s values divided by ``scale`` against ``a``'s (both 0, 1, 2...)."""
    size = a.shape[-1]
    values_a = np.arange(size, dtype=np.float64)
    values_b = values_a / scale
    merged = np.unique(np.concatenate([values_a, values_b]))
    on_a = np.zeros((*a.shape[:-1], merged.size))
    on_b = np.zeros((*b.shape[:-1], merged.size))
    on_a[..., np.searchsorted(merged, values_a)] = a
    on_b[..., np.searchsorted(merged, values_b)] = b
    return auc(on_a, on_b)


def prediction_drift(stable: npt.ArrayLike, canary: npt.ArrayLike, s: JudgeSettings) -> Evidence:
    """Prediction drift on the reference's prediction bins: FAIL when the canary's histogram
    differs from stable's (always-valid chi-square) *and* the PSI between them is past the
    input-drift threshold (0.2), so a trivial but certain shift does not stop a rollout.
    ``effect``: the PSI (:func:`bot.quality.drift.divergence.psi_counts`, the same one)."""
    a, b = _arr(stable), _arr(canary)
    m, n = a.sum(axis=-1), b.sum(axis=-1)
    chi2, rows, dof = homogeneity(a, b)
    p = chi_square_p(chi2, rows, dof, tau2=s.drift_threshold / np.maximum(dof, 1.0))
    can = np.minimum(m, n) >= s.min_rows
    psi = np.zeros(m.shape)
    flat_a, flat_b, flat_psi = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1]), psi.ravel()
    for i in np.flatnonzero(can.ravel()):
        flat_psi[i] = psi_counts(flat_a[i], flat_b[i])
    psi = flat_psi.reshape(m.shape)
    past = psi > s.drift_threshold
    failed = (p <= s.test_alpha) & past
    nan = np.full(m.shape, np.nan)
    return Evidence(can, failed, can, past, p, nan, nan, psi)
