"""Each test's evidence, vectorised: the arrays the judge reads one row of, the bench a thousand.

A test answers four questions per row, and the verdict follows from them in one place
(:func:`verdicts`): is it judged yet (the minimum sample), is the canary proven worse than
allowed (FAIL: the always-valid p-value of "no worse than allowed" at or under the fail
level), proven within the allowance (PASS: the always-valid p-value of "worse than allowed"
at or under the pass level), and, when neither is proven, does its point estimate sit past
the allowance (MARGINAL, hold) or not (INCONCLUSIVE, keep looking). Below the minimum sample
nothing is judged. The levels and why they are what they are: :class:`JudgeSettings`.

Small counts: the normal approximation behind the mixture is poor on them (40 labels with
no error on one side), so a FAIL on counts also needs Fisher's exact one-sided test at the
same level (asking for both can only lower the false failures), and a PASS on counts uses
the variance at its null's edge (:func:`bot.rollout.counts.variance_at`), not the plug-in
one, which is smallest exactly when a canary happens to look good.
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
    variance_at,
)
from bot.rollout.observations import JudgeSettings, Verdict
from bot.rollout.sequential import chi_square_p, one_sided_p, within_p

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_CODES = (Verdict.PASS, Verdict.MARGINAL, Verdict.FAIL, Verdict.INCONCLUSIVE)


@dataclass(frozen=True)
class Evidence:
    """One test over a batch. ``judged``: the minimum sample is there; ``failed``/``proven``:
    proven worse than / within the allowance; ``past``: the point estimate is past it.
    ``p_value``/``pass_p``: the fail and pass tests' always-valid p-values. ``stable``/
    ``canary``: the headline figure of each arm; ``effect``: the test's own measure (gap,
    share of pairs, PSI), for the words."""

    judged: BoolArray
    failed: BoolArray
    proven: BoolArray
    past: BoolArray
    p_value: FloatArray
    pass_p: FloatArray
    stable: FloatArray
    canary: FloatArray
    effect: FloatArray


def verdicts(e: Evidence) -> npt.NDArray[np.int64]:
    """Index into ``(PASS, MARGINAL, FAIL, INCONCLUSIVE)`` per row."""
    out = np.where(e.past, 1, 3)
    out = np.where(e.proven, 0, out)
    out = np.where(e.failed, 2, out)
    return np.where(e.judged, out, 3).astype(np.int64)


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
    pass_alpha: float,
) -> Evidence:
    """Bad events (errors, wrong labels): FAIL when the canary's rate is proven to exceed
    stable's by more than ``allowance``, PASS when proven not to. ``stable``/``canary`` are
    the bad rates."""
    ns, nc = _arr(n_s), _arr(n_c)
    rate_s = _arr(bad_s) / np.maximum(ns, 1)
    gap, variance = two_proportions(bad_s, ns, bad_c, nc)
    p = one_sided_p(gap, variance, null=allowance, tau=tau)
    q = within_p(gap, variance_at(bad_s, ns, nc, allowance), bound=allowance, tau=tau)
    can = np.minimum(ns, nc) >= minimum
    failed = can & (p <= alpha)
    if np.any(failed):
        failed = failed & (fisher_p(bad_s, ns, bad_c, nc) <= alpha)
    proven = can & (q <= pass_alpha)
    rate_c = _arr(bad_c) / np.maximum(nc, 1)
    return Evidence(can, failed, proven, gap > allowance, p, q, rate_s, rate_c, gap)


def labelled_accuracy(
    wrong_s: npt.ArrayLike,
    n_s: npt.ArrayLike,
    wrong_c: npt.ArrayLike,
    n_c: npt.ArrayLike,
    s: JudgeSettings,
) -> Evidence:
    """Accuracy on labelled rows, as :func:`proportions` of wrong answers with the accuracy
    allowance; the judge and the bench both ask it this way, so they cannot drift apart."""
    return proportions(
        wrong_s,
        n_s,
        wrong_c,
        n_c,
        allowance=s.accuracy_allowance,
        tau=s.accuracy_tau,
        minimum=s.min_labels,
        alpha=s.test_alpha,
        pass_alpha=s.labels_pass_alpha,
    )


def request_errors(
    errors_s: npt.ArrayLike,
    n_s: npt.ArrayLike,
    errors_c: npt.ArrayLike,
    n_c: npt.ArrayLike,
    s: JudgeSettings,
) -> Evidence:
    """Failed requests, as :func:`proportions` with the error allowance."""
    return proportions(
        errors_s,
        n_s,
        errors_c,
        n_c,
        allowance=s.error_allowance,
        tau=s.error_tau,
        minimum=s.min_rows,
        alpha=s.test_alpha,
        pass_alpha=s.pass_alpha,
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
    """Label-free accuracy estimates (value, standard error): FAIL when the canary's is proven
    lower by more than the accuracy allowance, PASS when proven not to. The CBPE standard
    error is that of the realized accuracy around the estimate, wider than the estimate's own
    noise: conservative. It trusts each model's confidence (calibration) as CBPE does; labels
    replace it as soon as both versions have ``min_labels``."""
    vs, vc = _arr(value_s), _arr(value_c)
    gap = vs - vc
    variance = np.maximum(_arr(se_s) ** 2 + _arr(se_c) ** 2, 1e-12)
    allowance = s.accuracy_allowance
    p = one_sided_p(gap, variance, null=allowance, tau=s.accuracy_tau)
    q = within_p(gap, variance, bound=allowance, tau=s.accuracy_tau)
    can = np.minimum(_arr(n_s), _arr(n_c)) >= s.min_rows
    failed, proven = can & (p <= s.test_alpha), can & (q <= s.estimate_pass_alpha)
    return Evidence(can, failed, proven, gap > allowance, p, q, vs, vc, gap)


def _rows(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    return a.sum(axis=-1), b.sum(axis=-1)


def latency_shift(stable: npt.ArrayLike, canary: npt.ArrayLike, s: JudgeSettings) -> Evidence:
    """Mann-Whitney with a tolerance: with every canary latency divided by
    ``1 + latency_tolerance``, FAIL when a canary request is proven still slower than a
    stable one in more than half of the pairs, PASS when proven faster in more than half.
    ``stable``/``canary``: medians (ms); ``effect``: that share."""
    a, b = _arr(stable), _arr(canary)
    grid = s.grid
    m, n = _rows(a, b)
    theta, variance = auc(a, shift_down(b, grid.buckets_for(s.latency_tolerance)))
    med_s, med_c = _quantile_ms(a, grid, 0.5), _quantile_ms(b, grid, 0.5)
    return _ranks(theta, variance, np.minimum(m, n) >= s.min_rows, s, med_s, med_c)


def _ranks(
    theta: FloatArray,
    variance: FloatArray,
    can: BoolArray,
    s: JudgeSettings,
    stable: FloatArray,
    canary: FloatArray,
) -> Evidence:
    """A share of pairs against one half, proven above (FAIL) or below (PASS)."""
    p = one_sided_p(theta - 0.5, variance, null=0.0, tau=s.rank_tau)
    q = within_p(theta - 0.5, variance, bound=0.0, tau=s.rank_tau)
    failed, proven = can & (p <= s.test_alpha), can & (q <= s.pass_alpha)
    return Evidence(can, failed, proven, theta > 0.5, p, q, stable, canary, theta)


def _quantile_ms(counts: FloatArray, grid: LatencyGrid, q: float) -> FloatArray:
    return grid.value_ms(quantile_index(counts, q))


def latency_tail(stable: npt.ArrayLike, canary: npt.ArrayLike, s: JudgeSettings) -> Evidence:
    """The tail (p99): FAIL when more canary requests lie above ``1 + latency_tolerance``
    times stable's p99 than stable's own share above its p99 (about 1 %): the canary's p99
    is then more than the tolerance slower; PASS when proven fewer, once ``min_tail_events``
    canary requests are expected above it. ``effect``: the canary's share above."""
    a, b = _arr(stable), _arr(canary)
    m, n = _rows(a, b)
    q = s.tail_quantile
    t = quantile_index(a, q)
    above_s = count_above(a, t)
    above_c = count_above(b, t + s.grid.buckets_for(s.latency_tolerance))
    gap, variance = two_proportions(above_s, m, above_c, n)
    p = one_sided_p(gap, variance, null=0.0, tau=s.tail_tau)
    r = within_p(gap, variance_at(above_s, m, n, 0.0), bound=0.0, tau=s.tail_tau)
    can = np.minimum(m, n) >= s.min_rows
    failed = can & (p <= s.test_alpha)
    if np.any(failed):
        failed = failed & (fisher_p(above_s, m, above_c, n) <= s.test_alpha)
    proven = can & (n * (1 - q) >= s.min_tail_events) & (r <= s.pass_alpha)
    qs, qc = _quantile_ms(a, s.grid, q), _quantile_ms(b, s.grid, q)
    return Evidence(can, failed, proven, gap > 0, p, r, qs, qc, above_c / np.maximum(n, 1))


def latency_spread(stable: npt.ArrayLike, canary: npt.ArrayLike, s: JudgeSettings) -> Evidence:
    """Spread (a scale test on log latency): FAIL when canary requests are proven to lie
    further from the canary's own median than stable's from stable's, beyond
    ``spread_tolerance``, in more than half the pairs (a bimodal or widened canary with the
    same median fails here); PASS when proven closer in more than half.
    ``stable``/``canary``: the p90/p10 ratio of each arm; ``effect``: the share of pairs."""
    a, b = _arr(stable), _arr(canary)
    m, n = _rows(a, b)
    dev_a, dev_b = deviations(a), deviations(b)
    used = (
        int(np.max(np.nonzero((dev_a + dev_b).reshape(-1, a.shape[-1]).sum(axis=0))[0], initial=0))
        + 1
    )
    theta, variance = _scaled_auc(dev_a[..., :used], dev_b[..., :used], 1 + s.spread_tolerance)
    width_s, width_c = _width(a, s.grid), _width(b, s.grid)
    return _ranks(theta, variance, np.minimum(m, n) >= s.min_rows, s, width_s, width_c)


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
    PASS is not proven here: a PSI within the threshold with the test not failing is
    accepted (``pass_p`` is NaN). ``effect``: the PSI
    (:func:`bot.quality.drift.divergence.psi_counts`, the same one)."""
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
    failed = can & (p <= s.test_alpha) & past
    nan = np.full(m.shape, np.nan)
    return Evidence(can, failed, can & ~past & ~failed, past, p, nan, nan, nan, psi)
