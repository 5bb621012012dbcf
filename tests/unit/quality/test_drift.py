"""Drift statistics: hand-computed values, their properties, Evidently's conventions, bad input.

Every expected number is computed here from the formula on small explicit proportions, so a
failure says which convention moved. Evidently itself is not imported (it is a bench-only
dependency); its conventions are checked on hand cases instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats  # type: ignore[import-untyped, unused-ignore]

from bot.core.errors import ValidationError
from bot.quality import evidently_compat as ec
from bot.quality.binning import bin_counts, quantile_edges
from bot.quality.drift.divergence import js, js_counts, kl, kl_counts, psi, psi_counts
from bot.quality.drift.inputs import DEFAULT_MIN_STD, Kind, StatTestResult
from bot.quality.drift.methods import DriftScore, default_method, drift_score, get_method
from bot.quality.drift.samples import category_counts, histogram_counts
from bot.quality.drift.stat_tests import chi_square, chi_square_counts, ks, ks_counts
from bot.quality.drift.wasserstein import wasserstein_counts, wasserstein_normed

RNG_SEED = 20240601


def _psi(p: list[float], q: list[float]) -> float:
    return sum((b - a) * math.log(b / a) for a, b in zip(p, q, strict=True))


def _kl(p: list[float], q: list[float]) -> float:
    return sum(a * math.log(a / b) for a, b in zip(p, q, strict=True) if a > 0)


def _js(p: list[float], q: list[float]) -> float:
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
    return math.sqrt((_kl(p, m) + _kl(q, m)) / 2)


# --- from counts: hand-computed values ---------------------------------------------------------


def test_psi_counts_matches_the_formula() -> None:
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert psi_counts([50, 50], [25, 75]) == pytest.approx(expected)
    assert psi_counts([0.5, 0.5], [0.25, 0.75]) == pytest.approx(expected)  # scale-free


def test_kl_counts_matches_the_formula_and_is_not_symmetric() -> None:
    forward = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    backward = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert kl_counts([1, 3], [1, 1]) == pytest.approx(forward)
    assert kl_counts([1, 1], [1, 3]) == pytest.approx(backward)
    assert forward != pytest.approx(backward)


@pytest.mark.parametrize(
    ("ref", "cur"),
    [([1, 3], [1, 1]), ([2, 1, 1], [1, 1, 2]), ([5, 0], [0, 5])],
)
def test_js_counts_matches_the_formula(ref: list[float], cur: list[float]) -> None:
    p = [x / sum(ref) for x in ref]
    q = [x / sum(cur) for x in cur]
    assert js_counts(ref, cur) == pytest.approx(_js(p, q))


def test_js_of_disjoint_distributions_is_its_bound() -> None:
    assert js_counts([1, 0], [0, 1]) == pytest.approx(math.sqrt(math.log(2)))


@pytest.mark.parametrize(
    ("ref", "cur", "statistic", "p_value"),
    [
        # 1 dof: chi2.sf(x, 1) = erfc(sqrt(x / 2)); expected [50, 50], (10² + 10²) / 50 = 4
        ([50, 50], [40, 60], 4.0, math.erfc(math.sqrt(2.0))),
        # 2 dof: chi2.sf(x, 2) = exp(-x / 2); expected 100 each, (20² + 0 + 20²) / 100 = 8
        ([1, 1, 1], [80, 100, 120], 8.0, math.exp(-4.0)),
        # reference proportions scaled to the current total: expected [20, 80]
        ([10, 40], [30, 70], 10**2 / 20 + 10**2 / 80, math.erfc(math.sqrt(6.25 / 2))),
    ],
)
def test_chi_square_counts_matches_the_formula(
    ref: list[float], cur: list[float], statistic: float, p_value: float
) -> None:
    result = chi_square_counts(ref, cur)
    assert result.statistic == pytest.approx(statistic)
    assert result.p_value == pytest.approx(p_value)


def test_ks_counts_is_the_largest_cdf_gap_at_the_edges() -> None:
    # CDFs [0.25, 0.5, 1] and [0.5, 0.75, 1] → 0.25; Smirnov's p with n m / (n + m) = 2 rows
    result = ks_counts([1, 1, 2], [2, 1, 1])
    assert result.statistic == pytest.approx(0.25)
    assert result.p_value == pytest.approx(stats.kstwo.sf(0.25, 2))


def test_wasserstein_counts_puts_rows_at_bin_midpoints() -> None:
    # bins [0, 1) and [1, 2]: midpoints 0.5 and 1.5; CDF gap 0.5 over a distance of 1
    value = wasserstein_counts([1, 1], [0, 1], [1.0], low=0.0, high=2.0, ref_std=0.5)
    assert value == pytest.approx(0.5 / 0.5)


def test_wasserstein_counts_is_exact_when_values_sit_at_midpoints() -> None:
    reference = np.repeat([0.5, 1.5, 2.5], [10, 30, 10])
    current = np.repeat([0.5, 1.5, 2.5], [25, 20, 5])
    edges = np.array([1.0, 2.0])
    value = wasserstein_counts(
        bin_counts(reference, edges),
        bin_counts(current, edges),
        edges,
        low=0.0,
        high=3.0,
        ref_std=float(np.std(reference)),
    )
    assert value == pytest.approx(wasserstein_normed(reference, current))


def test_wasserstein_counts_floors_a_zero_reference_std() -> None:
    value = wasserstein_counts([1, 1], [0, 1], [1.0], low=0.0, high=2.0, ref_std=0.0)
    assert value == pytest.approx(0.5 / DEFAULT_MIN_STD)


# --- empty bins --------------------------------------------------------------------------------


def test_an_empty_bin_gets_eps_and_the_vector_is_renormalised() -> None:
    eps = 1e-4
    p = [1 / (1 + eps), eps / (1 + eps)]
    q = [0.5, 0.5]
    assert psi_counts([10, 0], [5, 5], eps=eps) == pytest.approx(_psi(p, q))
    assert kl_counts([10, 0], [5, 5], eps=eps) == pytest.approx(_kl(p, q))
    assert math.isfinite(psi_counts([10, 0], [0, 10]))


def test_a_larger_eps_softens_an_empty_bin() -> None:
    assert psi_counts([10, 0], [5, 5], eps=1e-2) < psi_counts([10, 0], [5, 5], eps=1e-6)


def test_a_bin_empty_on_both_sides_is_ignored() -> None:
    assert psi_counts([5, 0, 5], [2, 0, 8]) == pytest.approx(psi_counts([5, 5], [2, 8]))
    assert chi_square_counts([5, 0, 5], [2, 0, 8]) == chi_square_counts([5, 5], [2, 8])


def test_a_category_new_in_current_is_strong_chi_square_evidence() -> None:
    result = chi_square_counts([50, 50, 0], [45, 45, 10])
    assert math.isfinite(result.statistic)
    assert result.p_value < 1e-6


def test_chi_square_with_one_category_on_both_sides_sees_nothing() -> None:
    assert chi_square_counts([10, 0], [7, 0]) == StatTestResult(0.0, 1.0)


# --- properties --------------------------------------------------------------------------------


DISTANCES: list[Callable[[Any, Any], float]] = [psi_counts, kl_counts, js_counts]


@pytest.mark.parametrize("distance", DISTANCES)
def test_identical_counts_score_zero(distance: Callable[[Any, Any], float]) -> None:
    assert distance([3, 0, 7, 10], [3, 0, 7, 10]) == pytest.approx(0.0, abs=1e-12)
    assert distance([3, 7, 10], [30, 70, 100]) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("distance", [psi_counts, js_counts])
def test_psi_and_js_are_symmetric(distance: Callable[[Any, Any], float]) -> None:
    assert distance([1, 3, 6], [4, 4, 2]) == pytest.approx(distance([4, 4, 2], [1, 3, 6]))


def test_identical_samples_are_not_drift() -> None:
    sample = np.random.default_rng(RNG_SEED).normal(size=500)
    assert psi(sample, sample) == pytest.approx(0.0, abs=1e-12)
    assert js(sample, sample) == pytest.approx(0.0, abs=1e-12)
    assert wasserstein_normed(sample, sample) == pytest.approx(0.0, abs=1e-12)
    assert ks(sample, sample) == StatTestResult(0.0, 1.0)
    labels = ["a", "b", "b", "c"] * 25
    assert chi_square(labels, labels).p_value == pytest.approx(1.0)


SHIFTS = [0.0, 0.2, 0.5, 1.0, 2.0]


@pytest.mark.parametrize(
    "score",
    [
        psi,
        kl,
        js,
        wasserstein_normed,
        lambda r, c: psi(r, c, binning="equal_width"),
        lambda r, c: ks(r, c).statistic,
    ],
    ids=["psi", "kl", "js", "wasserstein", "psi-equal-width", "ks-statistic"],
)
def test_scores_grow_with_the_mean_shift(score: Callable[[Any, Any], float]) -> None:
    rng = np.random.default_rng(RNG_SEED)
    reference, current = rng.normal(size=2000), rng.normal(size=1500)
    values = [score(reference, current + shift) for shift in SHIFTS]
    assert values == sorted(values)
    assert len(set(values)) == len(values)


def test_ks_p_value_falls_as_the_shift_grows() -> None:
    rng = np.random.default_rng(RNG_SEED)
    reference, current = rng.normal(size=300), rng.normal(size=200)
    p_values = [ks(reference, current + shift).p_value for shift in SHIFTS]
    assert p_values == sorted(p_values, reverse=True)
    assert p_values[0] > 0.05 > p_values[2]


@pytest.mark.parametrize(("n", "m"), [(7, 7), (7, 3), (40, 61), (1000, 999)])
def test_wasserstein_equals_scipy_divided_by_the_reference_std(n: int, m: int) -> None:
    rng = np.random.default_rng(n * m)
    reference = rng.normal(size=n)
    current = np.round(rng.normal(0.3, 2.0, size=m), 1)  # ties included
    expected = stats.wasserstein_distance(reference, current) / np.std(reference)
    assert wasserstein_normed(reference, current) == pytest.approx(expected, rel=1e-12)


def test_raw_psi_equals_psi_of_the_streaming_counts() -> None:
    rng = np.random.default_rng(RNG_SEED)
    reference, current = rng.normal(size=1000), rng.normal(0.3, 1.0, size=800)
    edges, ref_counts, cur_counts = histogram_counts(reference, current)
    np.testing.assert_array_equal(edges, quantile_edges(reference))
    np.testing.assert_array_equal(ref_counts, bin_counts(reference, edges))
    np.testing.assert_array_equal(cur_counts, bin_counts(current, edges))
    assert psi(reference, current) == pytest.approx(psi_counts(ref_counts, cur_counts))


def test_binned_ks_never_overstates_the_exact_statistic() -> None:
    rng = np.random.default_rng(RNG_SEED)
    reference, current = rng.normal(size=1000), rng.normal(0.2, 1.3, size=700)
    _, ref_counts, cur_counts = histogram_counts(reference, current)
    exact = ks(reference, current).statistic
    assert 0 < ks_counts(ref_counts, cur_counts).statistic <= exact


def test_current_values_beyond_the_reference_range_land_in_the_outer_bins() -> None:
    _, ref_counts, cur_counts = histogram_counts(np.arange(100.0), [-50.0, 500.0, 50.0])
    assert (cur_counts[0], cur_counts[-1], int(cur_counts.sum())) == (1, 1, 3)
    assert int(ref_counts.sum()) == 100


# --- categories --------------------------------------------------------------------------------


def test_categories_align_on_the_union_and_unseen_ones_get_their_own_bucket() -> None:
    categories, ref, cur = category_counts(["a", "a", "b"], ["a", "c"])
    assert categories == ["a", "b", "c"]
    assert ref.tolist() == [2, 1, 0]
    assert cur.tolist() == [1, 0, 1]


def test_object_and_integer_categories_are_counted() -> None:
    assert category_counts(np.array(["x", "y", "x"], dtype=object), ["y"])[0] == ["x", "y"]
    categories, ref, cur = category_counts([3, 1, 3], [1, 2])
    assert (categories, ref.tolist(), cur.tolist()) == ([1, 2, 3], [1, 0, 2], [1, 1, 0])


def test_categorical_psi_and_js_match_the_formula() -> None:
    reference = ["a"] * 50 + ["b"] * 50
    current = ["a"] * 25 + ["b"] * 75
    assert psi(reference, current, kind="categorical") == pytest.approx(
        _psi([0.5, 0.5], [0.25, 0.75])
    )
    assert js(reference, current, kind="categorical") == pytest.approx(
        _js([0.5, 0.5], [0.25, 0.75])
    )
    assert chi_square(reference, current).statistic == pytest.approx(25**2 / 50 * 2)


# --- registry and defaults ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "n_rows", "method"),
    [
        ("numeric", 1, "ks"),
        ("numeric", 1000, "ks"),
        ("numeric", 1001, "wasserstein"),
        ("categorical", 1000, "chi_square"),
        ("categorical", 10**6, "js"),
    ],
)
def test_default_method_by_kind_and_size(kind: Kind, n_rows: int, method: str) -> None:
    assert default_method(kind, n_rows) == method


@pytest.mark.parametrize(
    ("name", "threshold", "is_p_value"),
    [
        ("psi", 0.2, False),
        ("kl", 0.1, False),
        ("js", 0.1, False),
        ("wasserstein", 0.1, False),
        ("ks", 0.05, True),
        ("chi_square", 0.05, True),
    ],
)
def test_registry_knows_thresholds_and_direction(
    name: str, threshold: float, is_p_value: bool
) -> None:
    method = get_method(name)
    assert (method.threshold, method.is_p_value) == (threshold, is_p_value)


@pytest.mark.parametrize(
    ("name", "value", "drifted"),
    [
        ("psi", 0.2, False),  # the product's rule is PSI > 0.2
        ("psi", 0.2001, True),
        ("wasserstein", 0.05, False),
        ("ks", 0.049, True),
        ("ks", 0.05, False),
        ("chi_square", 0.9, False),
    ],
)
def test_judge_compares_in_the_method_direction(name: str, value: float, drifted: bool) -> None:
    score = get_method(name).judge(value)
    assert score == DriftScore(name, value, get_method(name).threshold, drifted)


def test_judge_takes_a_custom_threshold() -> None:
    assert get_method("psi").judge(0.15, 0.1) == DriftScore("psi", 0.15, 0.1, True)


def test_drift_score_picks_the_default_for_the_sample() -> None:
    rng = np.random.default_rng(RNG_SEED)
    big = drift_score(rng.normal(size=2000), rng.normal(1.0, 1.0, 2000), kind="numeric")
    assert (big.method, big.drifted) == ("wasserstein", True)
    small = drift_score(rng.normal(size=200), rng.normal(size=200), kind="numeric")
    assert (small.method, small.drifted) == ("ks", False)
    labels = drift_score(["a", "b"] * 50, ["a", "b"] * 50, kind="categorical")
    assert (labels.method, labels.value, labels.drifted) == ("chi_square", 1.0, False)
    named = drift_score(["a", "b"] * 50, ["a"] * 100, kind="categorical", method="psi")
    assert (named.method, named.drifted) == ("psi", True)


# --- Evidently-compatible mode -----------------------------------------------------------------


def test_sturges_binning_hand_case() -> None:
    # 24 distinct reference values in [0, 6] and 8 current ones: n = 32, log2(32) + 1 = 6, so
    # width 6 / 6 = 1 and edges 0..6; each bin holds 4 of the reference's points 6 i / 23
    reference = np.linspace(0.0, 6.0, 24)
    current = np.full(8, 5.5)
    edges = ec.sturges_edges(reference, current)
    np.testing.assert_array_equal(edges, np.arange(7.0))
    p, q = ec.binned_proportions(reference, current)
    np.testing.assert_allclose(p, np.full(6, 1 / 6))
    # current's empty bins: its smallest nonzero share is 1 > 1e-4, so they get 1e-4
    np.testing.assert_allclose(q, [1e-4] * 5 + [1.0])
    expected = 5 * (1 / 6 - 1e-4) * math.log((1 / 6) / 1e-4) + (1 / 6 - 1) * math.log(1 / 6)
    assert ec.evidently_psi(reference, current) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("reference", "current"),
    [
        (np.linspace(0.0, 1.0, 30), np.linspace(0.5, 3.0, 11)),
        (np.random.default_rng(1).normal(size=999), np.random.default_rng(2).normal(size=77)),
        (np.random.default_rng(3).lognormal(size=500), np.array([1e6])),
        (np.full(3, 2.0), np.full(4, 2.0)),
    ],
)
def test_sturges_edges_equal_numpy_over_the_concatenation(
    reference: np.ndarray[Any, Any], current: np.ndarray[Any, Any]
) -> None:
    expected = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
    np.testing.assert_array_equal(ec.sturges_edges(reference, current), expected)


@pytest.mark.parametrize(
    ("proportions", "filled"),
    [
        ([0.5, 0.5, 0.0], [0.5, 0.5, 1e-4]),  # min nonzero 0.5 > 1e-4 → 1e-4
        ([0.99995, 0.00005, 0.0], [0.99995, 0.00005, 0.00005 / 1e6]),  # <= 1e-4 → min / 1e6
        ([0.9999, 0.0001, 0.0], [0.9999, 0.0001, 1e-10]),  # the boundary divides
        ([0.3, 0.7], [0.3, 0.7]),
    ],
)
def test_evidently_fill_rule(proportions: list[float], filled: list[float]) -> None:
    np.testing.assert_allclose(ec.fill_empty(proportions), filled, rtol=1e-12)


def test_few_distinct_values_are_compared_value_by_value() -> None:
    reference = np.array([0.0, 1.0] * 10)
    current = np.array([0.0, 0.0, 0.0, 1.0, 2.0])  # 2.0 is new: its reference share is filled
    p, q = ec.binned_proportions(reference, current)
    np.testing.assert_allclose(p, [0.5, 0.5, 1e-4])
    np.testing.assert_allclose(q, [0.6, 0.2, 0.2])
    assert ec.evidently_psi(reference, current) == pytest.approx(_psi(list(p), list(q)))


def test_more_than_twenty_distinct_values_switch_to_sturges() -> None:
    reference, current = np.arange(21.0), np.arange(21.0)
    p, _ = ec.binned_proportions(reference, current)
    assert p.size == ec.sturges_edges(reference, current).size - 1
    assert ec.binned_proportions(np.arange(20.0), current)[0].size == 21  # per value


def test_evidently_js_uses_unfilled_proportions() -> None:
    # p = [.5, .5, 0], q = [0, .5, .5], m = [.25, .5, .25]: KL(p‖m) = KL(q‖m) = ln(2) / 2
    value = ec.evidently_js(["a", "b"], ["b", "c"], kind="categorical")
    assert value == pytest.approx(math.sqrt(math.log(2) / 2))


def test_evidently_kl_renormalises_the_filled_proportions() -> None:
    p = [0.5 / (1 + 1e-4), 0.5 / (1 + 1e-4), 1e-4 / (1 + 1e-4)]
    q = [0.6, 0.2, 0.2]
    reference = np.array([0.0, 1.0] * 10)
    current = np.array([0.0, 0.0, 0.0, 1.0, 2.0])
    assert ec.evidently_kl(reference, current) == pytest.approx(_kl(p, q))


def test_evidently_wasserstein_and_ks() -> None:
    assert ec.evidently_wasserstein(np.full(10, 1.0), np.full(5, 1.5)) == pytest.approx(500.0)
    rng = np.random.default_rng(RNG_SEED)
    reference, current = rng.normal(size=300), rng.normal(0.3, 1.0, size=200)
    assert ec.evidently_ks(reference, current) == stats.ks_2samp(reference, current).pvalue
    assert set(ec.EVIDENTLY_METHODS) == {"psi", "kl_div", "jensenshannon", "wasserstein", "ks"}


# --- bad input ---------------------------------------------------------------------------------


NAN, INF = float("nan"), float("inf")
EDGES = [1.0]
BAD_INPUT: list[tuple[str, Callable[[], object], str, str]] = [
    ("no bins", lambda: psi_counts([], [1]), "reference", "has no bins"),
    ("bin mismatch", lambda: js_counts([1, 2], [1, 2, 3]), "current", "has 3 bins but"),
    ("negative", lambda: kl_counts([1, -2], [1, 1]), "reference", "negative count (-2 in bin 1)"),
    ("zero total", lambda: psi_counts([1, 1], [0, 0]), "current", "counts sum to zero"),
    ("nan count", lambda: ks_counts([1, NAN], [1, 1]), "reference", "NaN or infinite counts"),
    ("2-d counts", lambda: psi_counts([[1, 2]], [1, 2]), "reference", "flat list of counts"),
    ("text counts", lambda: psi_counts(["a"], [1]), "reference", "list of counts"),
    ("eps zero", lambda: psi_counts([1], [1], eps=0.0), "eps", "between 0 and 1"),
    ("eps one", lambda: chi_square_counts([1], [1], eps=1.0), "eps", "between 0 and 1"),
    ("empty sample", lambda: psi([], [1.0, 2.0]), "reference", "has no values"),
    ("nan sample", lambda: psi([1, 2, NAN], [1, 2]), "reference", "contains 1 NaN or infinite"),
    ("inf current", lambda: ks([1, 2], [1, INF]), "current", "NaN or infinite values"),
    ("text sample", lambda: wasserstein_normed(["a"], [1]), "reference", "must be numbers"),
    ("constant", lambda: psi([3, 3, 3], [1, 2]), "reference", "is constant (every value is 3)"),
    ("binning", lambda: js([1, 2], [1], binning="log"), "binning", "'quantile' or 'equal_width'"),  # type: ignore[arg-type]
    ("bins", lambda: psi([1, 2], [1], bins=1), "bins", "at least 2"),
    ("min_std", lambda: wasserstein_normed([1], [1], min_std=0.0), "min_std", "positive"),
    (
        "edges count",
        lambda: wasserstein_counts([1], [1], EDGES, low=0, high=2, ref_std=1),
        "edges",
        "gives 2 bins but the counts have 1",
    ),
    (
        "edges order",
        lambda: wasserstein_counts([1] * 3, [1] * 3, [2, 1], low=0, high=2, ref_std=1),
        "edges",
        "strictly increasing",
    ),
    (
        "low",
        lambda: wasserstein_counts([1, 1], [1, 1], EDGES, low=1.5, high=2, ref_std=1),
        "low",
        "at most the first cut 1",
    ),
    (
        "high",
        lambda: wasserstein_counts([1, 1], [1, 1], EDGES, low=0, high=0.5, ref_std=1),
        "high",
        "at least the last cut 1",
    ),
    (
        "ref_std",
        lambda: wasserstein_counts([1, 1], [1, 1], EDGES, low=0, high=2, ref_std=-1),
        "ref_std",
        ">= 0",
    ),
    ("empty categories", lambda: chi_square([], ["a"]), "reference", "has no values"),
    ("missing", lambda: chi_square(["a", None], ["a"]), "reference", "1 missing values"),
    ("nan category", lambda: js([1.0], [NAN], kind="categorical"), "current", "missing"),
    ("mixed", lambda: chi_square(["a", 1], ["a"]), "reference", "mixes category types"),
    ("types differ", lambda: chi_square(["a"], [1, 2]), "current", "another type"),
    ("kind", lambda: psi([1, 2], [1], kind="text"), "kind", "'numeric' or 'categorical'"),  # type: ignore[arg-type]
    ("n_rows", lambda: default_method("numeric", 0), "n_rows", "at least 1"),
    ("unknown", lambda: get_method("t-test"), "method", "unknown 't-test'; known: psi"),
    (
        "kind mismatch",
        lambda: drift_score(["a"], ["b"], kind="categorical", method="ks"),
        "method",
        "'ks' is not for categorical features; use psi, kl, js, chi_square",
    ),
    ("threshold", lambda: get_method("psi").judge(0.1, -1.0), "threshold", "positive"),
    ("fill zeros", lambda: ec.fill_empty([0.0, 0.0]), "proportions", "all zero"),
    ("ev kind", lambda: ec.evidently_psi([1], [1], kind="x"), "kind", "'numeric'"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("call", "field", "message"), [case[1:] for case in BAD_INPUT], ids=[c[0] for c in BAD_INPUT]
)
def test_bad_input_names_the_field_and_the_problem(
    call: Callable[[], object], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        call()
    assert caught.value.field == field
    assert message in caught.value.detail
