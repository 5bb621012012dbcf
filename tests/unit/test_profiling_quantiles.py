"""The engines' quantile cuts, from a few order statistics, are bit-for-bit NumPy's.

DuckDB and Spark cannot hand NumPy every value of a file larger than memory; they fetch the
order statistics ``np.quantile`` reads and interpolate as NumPy does. If that drifted by one
ulp, a value on an edge would change bins and the sketches of two engines would differ.
"""

from __future__ import annotations

import numpy as np
import pytest

from bot.profiling.quantiles import numeric_edges, positions, quantile_cuts
from bot.quality.binning import quantile_edges


@pytest.mark.parametrize("seed", range(6))
def test_cuts_from_order_statistics_equal_numpys(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(150):
        n = int(rng.integers(12, 2000))
        bins = int(rng.integers(2, 25))
        shape = seed % 3
        values = (
            rng.normal(size=n) * 10.0 ** rng.integers(-3, 6)
            if shape == 0
            else rng.integers(0, 40, n).astype(float)
            if shape == 1
            else rng.exponential(size=n)
        )
        ordered = np.sort(values)
        distinct = np.unique(values)
        few = distinct.tolist() if distinct.size <= bins else None
        stats = None if few else {p: float(ordered[p]) for p in positions(n, bins)}
        assert np.array_equal(numeric_edges(n, bins, few, stats), quantile_edges(values, bins))


def test_only_the_neighbours_of_each_cut_are_fetched() -> None:
    wanted = positions(101, 10)
    assert wanted == [10, 11, 20, 21, 30, 31, 40, 41, 50, 51, 60, 61, 70, 71, 80, 81, 90, 91]
    ordered = np.arange(101.0) ** 2
    cuts = quantile_cuts(101, 10, {p: float(ordered[p]) for p in wanted})
    assert np.array_equal(cuts, quantile_edges(ordered, 10))
