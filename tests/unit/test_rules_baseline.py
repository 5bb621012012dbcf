"""The robust baseline: spikes stand out, spikes in the window do not blind it, MAD = 0 works."""

from __future__ import annotations

import math

import pytest

from bot.rules.baseline import deviation, is_anomalous

NORMAL = [100.0, 102.0, 98.0, 101.0, 99.0, 103.0, 97.0, 100.0, 104.0, 96.0] * 3


def test_modified_z_matches_the_formula() -> None:
    d = deviation([1, 2, 3, 4, 5], 10, min_samples=3)
    assert d is not None
    # median 3, |x - 3| = 2 1 0 1 2 → MAD 1; z = 0.6745 * 7 / 1
    assert (d.median, d.mad, d.samples) == (3, 1, 5)
    assert d.z == pytest.approx(0.6745 * 7)


@pytest.mark.parametrize(
    ("value", "anomalous"),
    [(100.0, False), (106.0, False), (130.0, True), (60.0, True), (math.nan, False)],
)
def test_spikes_and_drops_fire_normal_values_do_not(value: float, anomalous: bool) -> None:
    assert is_anomalous(deviation(NORMAL, value, min_samples=10)) is anomalous


def test_earlier_spikes_in_the_window_do_not_hide_the_next_one() -> None:
    polluted = [*NORMAL, 5000.0, 4000.0, 6000.0]  # a mean/stddev baseline would be blinded
    d = deviation(polluted, 300.0, min_samples=10)
    assert d is not None
    assert d.median == pytest.approx(100.0, abs=1)
    assert is_anomalous(d)


def test_too_few_points_never_fire() -> None:
    assert deviation([1.0, 1.0], 1e9, min_samples=3) is None
    assert not is_anomalous(None)
    # NaN gaps do not count as samples
    assert deviation([1.0, 2.0, math.nan], 1e9, min_samples=3) is None


def test_mad_zero_falls_back_to_mean_absolute_deviation() -> None:
    history = [10.0] * 8 + [12.0, 8.0, 30.0]  # more than half equal → MAD 0
    d = deviation(history, 40.0, min_samples=5)
    assert d is not None
    assert d.mad == 0
    mean_ad = (2 + 2 + 20) / 11
    assert d.z == pytest.approx(30 / (1.253314 * mean_ad))


@pytest.mark.parametrize(("value", "z"), [(10.0, 0.0), (11.0, math.inf), (9.0, -math.inf)])
def test_perfectly_flat_history(value: float, z: float) -> None:
    d = deviation([10.0] * 20, value, min_samples=5)
    assert d is not None
    assert d.z == z
    assert is_anomalous(d) is (z != 0)


def test_k_is_the_cut() -> None:
    d = deviation([1, 2, 3, 4, 5], 3 + 3.5 / 0.6745, min_samples=3)
    assert d is not None
    assert not is_anomalous(d, 3.5 + 1e-9)
    assert is_anomalous(d, 3.4)
