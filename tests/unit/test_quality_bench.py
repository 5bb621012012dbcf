"""bench/quality_bench.py on a tiny stream: which model-quality rules fire, and in what order.

A shortened profile (500 rows a minute, a 1,000-row window, labels 15 minutes late) keeps
this to a couple of seconds; the full benchmark's figures live in bench/README.md.
"""

from __future__ import annotations

import pytest

from bench.quality_bench import (
    RULES,
    TODAY,
    Run,
    Setup,
    Study,
    model_quality_rules,
    report,
    shifted_run,
    unshifted_run,
)

SETUP = Setup(rate=500, window=1_000, label_delay=15)
ESTIMATE, PSI, REALIZED = "accuracy-estimated-below-sla", "input-drift-psi", "accuracy-below-sla"
CONFIDENCE = "confidence-below-floor"


@pytest.fixture(scope="module")
def shifted() -> Run:
    return shifted_run(SETUP, seed=0, after=40, rules=model_quality_rules())


@pytest.fixture(scope="module")
def unshifted() -> Run:
    return unshifted_run(SETUP, seed=1, windows=10, rules=model_quality_rules())


def test_the_rules_under_study_are_the_bundled_ones() -> None:
    names = {rule.name for rule in model_quality_rules()}
    assert set(RULES) <= names


def test_a_shift_fires_psi_and_the_estimate_long_before_the_labels_confirm_it(
    shifted: Run,
) -> None:
    estimate = shifted.after_shift(shifted.firings[ESTIMATE])
    psi = shifted.after_shift(shifted.firings[PSI])
    realized = shifted.after_shift(shifted.firings[REALIZED])
    assert estimate is not None
    assert psi is not None
    assert realized is not None
    # Realized accuracy waits its 10m (the labels add their delay on top); the estimate's
    # CUSUM and PSI's change point fire on the first minutes of shifted rows.
    assert estimate <= 2
    assert psi <= 1 < realized
    assert realized >= SETUP.label_delay + 10
    assert all(t > SETUP.warmup for rule in shifted.tracked for t in shifted.firings[rule])


@pytest.mark.parametrize("rule", [ESTIMATE, CONFIDENCE, PSI])
def test_each_detector_fires_far_sooner_than_the_old_for_wait(shifted: Run, rule: str) -> None:
    old = shifted.after_shift(shifted.firings[rule + TODAY])
    new = shifted.after_shift(shifted.firings[rule])
    assert old is not None
    assert new is not None
    assert old >= 10
    assert new * SETUP.rate <= 1_000 < old * SETUP.rate


def test_the_estimate_lands_near_the_accuracy_the_labels_later_show(shifted: Run) -> None:
    shift = SETUP.warmup
    estimate_after = shifted.values[ESTIMATE][shift + 5]
    realized_after = shifted.values[REALIZED][shift + 40]
    assert estimate_after == pytest.approx(0.71, abs=0.03)
    assert realized_after == pytest.approx(0.71, abs=0.03)


def test_an_unshifted_stream_fires_nothing(unshifted: Run) -> None:
    assert unshifted.counted_windows >= 10
    names = unshifted.tracked
    assert {ESTIMATE + TODAY, CONFIDENCE + TODAY, PSI + TODAY} <= set(names)
    assert {rule: unshifted.firings[rule] for rule in names} == {rule: [] for rule in names}
    assert unshifted.other_firings == []
    assert all(unshifted.evaluations(rule) > 0 for rule in RULES)


def test_the_report_prints_both_tables(shifted: Run, unshifted: Run) -> None:
    text = "\n".join(report(Study(SETUP, [shifted], [unshifted], 0.0, model_quality_rules())))
    assert "| estimate, for 10m (today) (`accuracy-estimated-below-sla`) | 1/1 |" in text
    assert "| estimate, detect: cusum (`accuracy-estimated-below-sla`) | 1/1 |" in text
    assert "| PSI, for 10m (today) (`input-drift-psi`) | 0 | 0.00 |" in text
    assert "| PSI, detect: changepoint (`input-drift-psi`) | 0 | 0.00 |" in text
    assert "| PSI, detect: changepoint (`input-drift-psi`) | 5,500 / 5,500 | 500 / 500 |" in text
    assert "Firings of these rules before the shift: 0." in text
