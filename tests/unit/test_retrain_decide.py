"""Retraining's decisions (bot.retrain.decide): K of N drifted windows, the cooldown, one
run in flight, and a dedup key that names the decision, not the moment it was sent."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest

from bot.incidents.subjects import parse_subjects
from bot.retrain.decide import (
    HOLDING,
    DriftWindows,
    PastRun,
    bad_labels,
    dedup_key,
    drifted,
    label_refusal,
    refusal,
    stamp,
    window_start,
)
from bot.rules import default_rules_file, load_rules
from bot.rules.schema import Rule

T0 = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def windows(k: int = 3, n: int = 5) -> DriftWindows:
    return DriftWindows(HOUR, n, k)


def test_k_of_n_drifted_windows_is_due_in_the_window_that_makes_k() -> None:
    w = windows(k=3, n=5)
    for hour, verdict in enumerate([True, False, True]):
        w.observe(T0 + hour * HOUR, verdict)
        assert w.due(T0 + hour * HOUR) is None
    w.observe(T0 + 3 * HOUR + timedelta(minutes=10), True)
    assert w.count(T0 + 3 * HOUR) == 3
    assert w.due(T0 + 3 * HOUR + timedelta(minutes=10)) == T0 + 3 * HOUR


def test_windows_older_than_n_no_longer_count() -> None:
    w = windows(k=3, n=3)
    w.observe(T0, True)
    w.observe(T0 + HOUR, True)
    w.observe(T0 + 3 * HOUR, True)  # T0 has left the last three windows; T0+2h had no poll
    assert w.count(T0 + 3 * HOUR) == 2
    assert w.due(T0 + 3 * HOUR) is None


def test_a_window_drifted_only_when_most_of_its_polls_did() -> None:
    w = windows(k=1, n=1)
    for minute, verdict in enumerate([True, False, False]):
        w.observe(T0 + timedelta(minutes=minute), verdict)
    assert w.due(T0 + timedelta(minutes=3)) is None  # one noisy poll of three
    w.observe(T0 + timedelta(minutes=4), True)
    w.observe(T0 + timedelta(minutes=5), True)
    assert w.due(T0 + timedelta(minutes=5)) == T0


def test_a_calm_current_window_starts_nothing_even_with_k_drifted_before_it() -> None:
    w = windows(k=2, n=4)
    w.observe(T0, True)
    w.observe(T0 + HOUR, True)
    w.observe(T0 + 2 * HOUR, False)
    assert w.due(T0 + 2 * HOUR) is None  # the drift is over: nothing to retrain for now


def test_a_poll_without_drift_figures_is_no_verdict() -> None:
    assert drifted([("accuracy_estimated", 0.7)], psi=0.2, kl=0.1) is None
    assert drifted([("input_drift_psi", 0.19), ("output_drift_kl", 0.05)], psi=0.2, kl=0.1) is False
    assert drifted([("input_drift_psi", 0.1), ("output_drift_kl", 0.3)], psi=0.2, kl=0.1) is True


def test_windows_are_aligned_on_the_epoch() -> None:
    assert window_start(T0 + timedelta(minutes=59, seconds=59), HOUR) == T0
    assert window_start(T0 + timedelta(seconds=7), timedelta(seconds=5)) == T0 + timedelta(
        seconds=5
    )


def test_the_dedup_key_is_the_same_for_the_same_decision_and_safe_for_airflow() -> None:
    a = dedup_key("fraud-scorer", "drift", stamp(T0))
    assert a == "vigil:fraud-scorer:drift:20260105T030000Z"
    assert dedup_key("fraud-scorer", "drift", stamp(window_start(T0 + HOUR / 2, HOUR))) == a
    assert dedup_key("fraud-scorer", "schedule", stamp(T0)) != a
    odd = dedup_key("team/fraud scorer__v2", "manual", "incident-1")
    assert odd == "vigil:team-fraud-scorer_v2:manual:incident-1"
    assert len(dedup_key("m" * 400, "drift", stamp(T0))) == 250


def run(phase: str, at: datetime, ended: datetime | None = None) -> PastRun:
    return PastRun(f"k-{at.isoformat()}", phase, at, ended)


@pytest.mark.parametrize("trigger", ["drift", "schedule", "manual"])
def test_one_run_in_flight_per_model_whoever_asks(trigger: str) -> None:
    runs = [run("running", T0)]
    why = refusal(runs, T0 + 48 * HOUR, cooldown=HOUR, trigger=trigger)  # type: ignore[arg-type]
    assert why == f"run k-{T0.isoformat()} is still running"


def test_the_cooldown_counts_from_the_end_of_the_last_run_and_holds_automatic_runs() -> None:
    runs = [run("succeeded", T0, T0 + 5 * HOUR), run("failed", T0 - 48 * HOUR, T0 - 47 * HOUR)]
    assert refusal(runs, T0 + 28 * HOUR, cooldown=24 * HOUR, trigger="drift") == (
        "cooling down until 20260106T080000Z (the last run ended 20260105T080000Z)"
    )
    assert refusal(runs, T0 + 29 * HOUR, cooldown=24 * HOUR, trigger="schedule") is None
    assert refusal(runs, T0 + 6 * HOUR, cooldown=24 * HOUR, trigger="manual") is None
    assert refusal([], T0, cooldown=24 * HOUR, trigger="drift") is None


def _label_rules() -> list[Rule]:
    return [r for r in load_rules([default_rules_file()]) if r.metric in HOLDING]


def _reading(
    metric: str, value: float, model: str = "fraud"
) -> tuple[str, float, dict[str, str], str]:
    labels = {"model": model, "label_source": "user-feedback"}
    return (metric, value, labels, f"{metric} {value} for {model}")


def test_bad_labels_hold_at_the_label_health_rules_thresholds() -> None:
    rules = _label_rules()
    readings = [_reading("label_disagreement_ratio", 0.4), _reading("label_health_score", 0.85)]
    assert bad_labels(readings, rules, {}) == [
        "label_disagreement_ratio 0.4 for fraud",
        "label_health_score 0.85 for fraud",
    ]
    assert bad_labels([_reading("label_health_score", 0.95)], rules, {}) == []
    assert bad_labels([_reading("label_coverage", 0.01)], rules, {}) == []  # sparse: no hold


def test_a_models_own_label_limits_move_the_hold_as_they_move_its_alerts() -> None:
    rules = _label_rules()
    tolerant = parse_subjects(
        {"fraud": {"label_copying_ratio": 0.3, "label_health_floor": 0.8}}, "vigil.yaml", "models"
    )
    readings = [_reading("label_disagreement_ratio", 0.4), _reading("label_health_score", 0.85)]
    assert bad_labels(readings, rules, tolerant) == []
    other = [_reading("label_health_score", 0.85, model="ranker")]  # not the tuned model
    assert bad_labels(other, rules, tolerant) == ["label_health_score 0.85 for ranker"]


def test_a_label_health_rule_turned_off_or_scoped_elsewhere_holds_nothing() -> None:
    off = [dataclasses.replace(r, enabled=False) for r in _label_rules()]
    assert bad_labels([_reading("label_health_score", 0.5)], off, {}) == []
    elsewhere = [
        dataclasses.replace(r, match=MappingProxyType({"model": "ranker"})) for r in _label_rules()
    ]
    assert bad_labels([_reading("label_health_score", 0.5)], elsewhere, {}) == []
    assert label_refusal([]) is None
    said = label_refusal(["labels look noisy"])
    assert said is not None
    assert said.startswith("label health is bad (labels look noisy)")
