"""The CUSUM detector of ``bot.rules.sequential`` on simulated rows with fixed seeds.

Rows are normal with the reference's mean and sd (the detector's own assumption), fed in
batches through running counters as the model monitor exposes them. The bounds are loose
on purpose: they say "false alarms are as rare as ARL0 promises, or rarer" and "a large
shift is caught in tens of rows", not a number that happens to come out of one seed.
"""

from __future__ import annotations

import numpy as np
import pytest

from bot.rules.sequential import (
    REFERENCE_MEAN,
    REFERENCE_SD,
    ROWS_SEEN,
    ROWS_SUM,
    Cusum,
    DetectSpec,
    Reading,
    decision_threshold,
    drift_allowance,
    reading,
    siegmund_arl0,
    update,
)

MEAN, SD, THRESHOLD = 0.94, 0.05, 0.90  # the threshold is 0.8 sd below: k = 0.4


def run_length(
    rng: np.random.Generator, spec: DetectSpec, *, mean: float, batch: int, limit: int
) -> int | None:
    """Rows until the detector alarms on rows of ``mean``, or None within ``limit`` rows."""
    state, seen, total = update(Cusum(), Reading(0, 0.0, MEAN, SD), spec, "<", THRESHOLD), 0, 0.0
    while seen < limit:
        rows = rng.normal(mean, SD, batch)
        seen, total = seen + batch, total + float(rows.sum())
        state = update(state, Reading(seen, total, MEAN, SD), spec, "<", THRESHOLD)
        if state.alarm:
            return seen
    return None


def test_h_gives_the_asked_arl0_by_siegmunds_approximation() -> None:
    for arl0, k in ((1_000, 0.25), (100_000, 0.4), (100_000, 1.5)):
        h = decision_threshold(arl0, k)
        assert h > 0
        assert siegmund_arl0(k, h) == pytest.approx(arl0, rel=1e-6)
    assert decision_threshold(100_000, 0.4) > decision_threshold(1_000, 0.4)


def test_without_a_change_a_row_by_row_detector_alarms_about_every_arl0_rows() -> None:
    spec = DetectSpec(arl0=1_000)
    rng = np.random.default_rng(20)
    runs = [run_length(rng, spec, mean=MEAN, batch=1, limit=20_000) for _ in range(300)]
    mean = np.mean([r if r is not None else 20_000 for r in runs])
    assert 0.7 * spec.arl0 <= mean <= 1.5 * spec.arl0


def test_batches_make_false_alarms_rarer_never_more_frequent() -> None:
    # The statistic is clamped at 0 between batches, not between rows: it never exceeds the
    # row-by-row CUSUM, so ARL0 is a floor on the rows between false alarms.
    spec = DetectSpec(arl0=1_000)
    rng = np.random.default_rng(21)
    runs = [run_length(rng, spec, mean=MEAN, batch=20, limit=20_000) for _ in range(200)]
    assert np.mean([r if r is not None else 20_000 for r in runs]) >= spec.arl0


def test_a_shift_to_the_threshold_is_caught_in_a_few_hundred_rows() -> None:
    spec = DetectSpec()  # ARL0 100,000 rows
    rng = np.random.default_rng(7)
    lengths = [run_length(rng, spec, mean=THRESHOLD, batch=10, limit=5_000) for _ in range(50)]
    assert all(n is not None for n in lengths)
    assert max(n for n in lengths if n is not None) <= 600


def test_the_bench_sized_shift_is_caught_within_the_first_batch_of_100_rows() -> None:
    rng = np.random.default_rng(3)
    lengths = [run_length(rng, DetectSpec(), mean=0.71, batch=100, limit=1_000) for _ in range(20)]
    assert lengths == [100] * 20


def test_a_rise_does_not_trip_a_detector_of_falls() -> None:
    rng = np.random.default_rng(5)
    assert run_length(rng, DetectSpec(arl0=1_000), mean=0.99, batch=50, limit=20_000) is None


def test_restart_clears_the_statistic_but_keeps_the_counters() -> None:
    state = update(Cusum(), Reading(0, 0.0, MEAN, SD), DetectSpec(), "<", THRESHOLD)
    state = update(state, Reading(100, 71.0, MEAN, SD), DetectSpec(), "<", THRESHOLD)
    assert state.alarm
    assert state.rows == 100
    fresh = state.restart()
    assert (fresh.statistic, fresh.rows, fresh.alarm) == (0.0, 0, False)
    assert (fresh.seen, fresh.total) == (100, 71.0)
    # The next rows are judged from there, not from the start of the stream.
    calm = update(fresh, Reading(200, 71.0 + 94.0, MEAN, SD), DetectSpec(), "<", THRESHOLD)
    assert not calm.alarm


def test_counters_going_backwards_start_over_without_a_jump() -> None:
    state = update(Cusum(), Reading(5_000, 4_700.0, MEAN, SD), DetectSpec(), "<", THRESHOLD)
    restarted = update(state, Reading(100, 71.0, MEAN, SD), DetectSpec(), "<", THRESHOLD)
    assert restarted.statistic == 0.0
    assert (restarted.seen, restarted.total) == (100, 71.0)


def test_the_default_shift_is_the_distance_to_the_threshold() -> None:
    assert drift_allowance(DetectSpec(), "<", 0.94, 0.05, 0.90) == pytest.approx(0.4)
    assert drift_allowance(DetectSpec(shift=2.0), "<", 0.94, 0.05, 0.90) == 1.0
    # Reference already past the threshold: nothing to measure, one sd.
    assert drift_allowance(DetectSpec(), "<", 0.85, 0.05, 0.90) == 0.5
    assert drift_allowance(DetectSpec(), ">", 0.1, 0.05, 0.2) == pytest.approx(1.0)


def test_reading_needs_every_counter_and_a_positive_sd() -> None:
    notes = {ROWS_SEEN: "10", ROWS_SUM: "9.4", REFERENCE_MEAN: "0.94", REFERENCE_SD: "0.05"}
    assert reading(notes) == Reading(10, 9.4, 0.94, 0.05)
    assert reading({k: v for k, v in notes.items() if k != ROWS_SUM}) is None
    assert reading(notes | {REFERENCE_SD: "0"}) is None
    assert reading(notes | {ROWS_SEEN: "ten"}) is None
    assert reading(None) is None
