"""Reference cut points: quantiles for continuous features, one bin per value for few values."""

from __future__ import annotations

import numpy as np

from bot.quality.binning import bin_counts, quantile_edges
from bot.quality.drift.divergence import psi_counts


def test_a_rare_flag_gets_a_bin_per_value_so_its_shift_shows() -> None:
    reference = np.array([0.0] * 95 + [1.0] * 5)
    edges = quantile_edges(reference)
    assert edges.tolist() == [0.0, 1.0]
    current = np.array([0.0] * 50 + [1.0] * 50)
    psi = psi_counts(bin_counts(reference, edges), bin_counts(current, edges))
    assert psi > 0.2  # 5 % → 50 % ones: quantile cuts would have collapsed and said 0


def test_continuous_values_get_quantile_cuts() -> None:
    edges = quantile_edges(np.arange(1000.0), bins=4)
    assert edges.tolist() == [249.75, 499.5, 749.25]
    assert bin_counts(np.array([-5.0, 300.0, 5000.0]), edges).tolist() == [1, 1, 0, 1]
