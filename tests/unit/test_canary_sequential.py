"""The always-valid p-values: checking every minute does not fail equal versions more often
than alpha, where the fixed-horizon test re-checked does."""

from __future__ import annotations

import numpy as np

from bot.rollout.counts import LatencyGrid, auc, shift_down, two_proportions, variance_at
from bot.rollout.sequential import chi_square_p, fixed_horizon_p, one_sided_p, within_p


def test_no_information_is_no_evidence_and_more_gap_is_more() -> None:
    assert one_sided_p(0.5, 1e9, null=0.0, tau=0.05) > 0.999
    ps = one_sided_p(np.array([0.0, 0.01, 0.02, 0.04]), 1e-4, null=0.0, tau=0.02)
    assert np.all(np.diff(ps) < 0)
    assert ps[-1] < 0.01
    assert chi_square_p(0.0, 1_000, 9, tau2=0.02) == 1.0


def test_peeking_every_look_keeps_false_failures_under_alpha() -> None:
    rng = np.random.default_rng(0)
    rollouts, looks, per_look = 2_000, 60, 100
    a = rng.binomial(per_look * 19, 0.06, (rollouts, looks)).cumsum(axis=1)
    b = rng.binomial(per_look, 0.06, (rollouts, looks)).cumsum(axis=1)
    n_s = np.arange(1, looks + 1) * per_look * 19
    n_c = np.arange(1, looks + 1) * per_look
    gap, var = two_proportions(a, n_s, b, n_c)
    ever_valid = (one_sided_p(gap, var, null=0.0, tau=0.02) <= 0.05).any(axis=1).mean()
    ever_naive = (fixed_horizon_p(gap, var, null=0.0) <= 0.05).any(axis=1).mean()
    assert ever_valid <= 0.05
    assert ever_naive > 0.15  # the usual mistake: several times alpha


def test_mann_whitney_on_counts_matches_the_textbook_share_of_pairs() -> None:
    rng = np.random.default_rng(1)
    grid = LatencyGrid()
    x, y = rng.lognormal(4, 0.3, 400), rng.lognormal(4.1, 0.3, 300)
    theta, var = auc(grid.counts(x), grid.counts(y))
    exact = (y[:, None] > x[None, :]).mean()
    assert abs(float(theta) - exact) < 0.01
    assert 0 < float(var) < 0.01
    shifted, _ = auc(grid.counts(x), shift_down(grid.counts(y), grid.buckets_for(0.10)))
    assert abs(float(shifted) - (y[:, None] / 1.1 > x[None, :]).mean()) < 0.01


def test_proving_within_the_allowance_is_the_mirror_test() -> None:
    assert within_p(0.0, 1e9, bound=0.01, tau=0.01) > 0.999
    ps = within_p(np.array([0.01, 0.005, 0.0, -0.01]), 1e-6, bound=0.01, tau=0.01)
    assert np.all(np.diff(ps) < 0)
    assert ps[0] > 0.5
    assert ps[-1] < 0.001


def test_a_canary_on_the_allowance_is_rarely_proven_within_it_however_often_we_look() -> None:
    """Request errors 0.5 % on stable, 1.0 % on the canary: exactly the 0.5-point allowance.
    With the variance at the null's edge the pass test is fooled at most at its level over
    60 looks; with the plug-in variance (small exactly when the canary looks good) it is not."""
    rng = np.random.default_rng(2)
    rollouts, looks, allowance, level = 2_000, 60, 0.005, 0.025
    a = rng.binomial(1_900, 0.005, (rollouts, looks)).cumsum(axis=1)
    b = rng.binomial(100, 0.010, (rollouts, looks)).cumsum(axis=1)
    n_s, n_c = np.arange(1, looks + 1) * 1_900, np.arange(1, looks + 1) * 100
    gap, plug_in = two_proportions(a, n_s, b, n_c)
    at_edge = variance_at(a, n_s, n_c, allowance)
    honest = (within_p(gap, at_edge, bound=allowance, tau=0.01) <= level).any(axis=1).mean()
    fooled = (within_p(gap, plug_in, bound=allowance, tau=0.01) <= level).any(axis=1).mean()
    assert honest <= level
    assert fooled > 2 * level
