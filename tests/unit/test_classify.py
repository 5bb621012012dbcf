"""The P1-P4 policy as an on-call engineer sees it: severity, rule and the reason line."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from bot.core.errors import ConfigError
from bot.incidents.policy.classify import (
    DEFAULT_POLICY,
    Policy,
    Signal,
    SubjectPolicy,
    classify,
    signal_from_alert,
)
from bot.incidents.policy.conditions import AnyOf, Condition
from bot.incidents.severity import Severity, highest

FRAUD = "model fraud-scorer"
PAYMENTS = "service payments"


def sig(
    kind: str,
    value: float | None = None,
    threshold: float | None = None,
    *,
    subject: str = FRAUD,
    critical: bool = False,
    severity_hint: str | None = None,
) -> Signal:
    return Signal(kind, subject, value, threshold, critical, severity_hint=severity_hint)


# --- default policy -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signals", "severity", "rule"),
    [
        ([sig("service_down", subject=PAYMENTS)], "P1", "service-down"),
        ([sig("error_rate", 0.06, subject=PAYMENTS)], "P1", "error-rate-high"),
        ([sig("accuracy", 0.71, 0.90, critical=True)], "P1", "model-below-sla-critical"),
        ([sig("accuracy", 0.71, 0.90)], "P2", "model-below-sla"),
        ([sig("psi", 0.31), sig("accuracy", 0.71, 0.90)], "P2", "drift-with-quality"),
        ([sig("psi", 0.31), sig("confidence", 0.5, 0.6)], "P2", "drift-with-quality"),
        ([sig("psi", 0.31), sig("data_quality", 0.90)], "P2", "drift-with-quality"),
        # Before the labels: drift plus the model's own estimate below its SLA is a P2 ...
        ([sig("psi", 0.31), sig("accuracy_estimated", 0.72, 0.90)], "P2", "drift-with-quality"),
        # ... the estimate alone is an early warning, left to its hint, never a page.
        ([sig("accuracy_estimated", 0.72, 0.90)], "P4", None),
        ([sig("psi", 0.31), sig("accuracy_estimated", 0.93, 0.90)], "P3", "drift"),
        ([sig("latency_p95", 812, 500, subject=PAYMENTS)], "P2", "latency-above-sla"),
        ([sig("gpu_memory", 0.97, subject="gpu 0")], "P2", "gpu-memory-critical"),
        ([sig("psi", 0.31)], "P3", "drift"),
        ([sig("psi", 0.31), sig("accuracy", 0.93, 0.90)], "P3", "drift"),
        ([sig("psi", 0.31), sig("data_quality", 0.97)], "P3", "drift"),
        ([sig("cache_hit", 0.35, subject=PAYMENTS)], "P3", "cache-hit-low"),
        ([sig("gpu_memory", 0.90, subject="gpu 0")], "P3", "gpu-memory-high"),
        ([sig("error_rate", 0.02, subject=PAYMENTS)], "P3", "error-rate-elevated"),
        ([sig("error_rate", 0.005, subject=PAYMENTS)], "P4", None),
        ([sig("psi", 0.2)], "P4", None),  # threshold itself is not "above"
        ([sig("latency_p95", 400, 500)], "P4", None),
        ([sig("gpu_temperature_high", 88.0, subject="gpu 0")], "P4", None),
    ],
)
def test_default_policy_levels(signals: list[Signal], severity: Severity, rule: str | None) -> None:
    result = classify(signals)
    assert (result.severity, result.rule) == (severity, rule)
    assert result.reason.startswith(f"{severity}: ")


@pytest.mark.parametrize(
    ("signals", "reason"),
    [
        (
            [sig("psi", 0.31), sig("accuracy", 0.71, 0.90)],
            "P2: input drift PSI 0.31 > 0.2 on model fraud-scorer "
            "with accuracy 0.71 below SLA 0.90",
        ),
        (
            [sig("error_rate", 0.075, subject=PAYMENTS)],
            "P1: error rate 7.5% > 5% on service payments",
        ),
        (
            [sig("accuracy", 0.71, 0.90, critical=True)],
            "P1: accuracy 0.71 below SLA 0.90 on critical model fraud-scorer",
        ),
        (
            [sig("latency_p95", 812, 500, subject=PAYMENTS)],
            "P2: p95 latency 812 ms above SLA 500 ms on service payments",
        ),
        ([sig("service_down", subject=PAYMENTS)], "P1: service payments is down"),
        ([sig("gpu_memory", 0.9, subject="gpu 0")], "P3: GPU memory 90% > 85% on gpu 0"),
        (
            [sig("cache_hit", 0.35, subject=PAYMENTS)],
            "P3: cache hit rate 35% < 40% on service payments",
        ),
        (
            [sig("psi", 0.31), sig("accuracy_estimated", 0.72, 0.90)],
            "P2: input drift PSI 0.31 > 0.2 on model fraud-scorer with estimated accuracy "
            "0.72 below SLA 0.90",
        ),
        # Drift on one model and a quality drop on another: both subjects are named.
        (
            [sig("psi", 0.31, subject="model ranker"), sig("data_quality", 0.9)],
            "P2: input drift PSI 0.31 > 0.2 on model ranker with data quality 0.90 < 0.95 "
            "on model fraud-scorer",
        ),
    ],
)
def test_reason_names_each_condition_with_its_value(signals: list[Signal], reason: str) -> None:
    assert classify(signals).reason == reason


def test_reason_prefers_the_subject_already_named() -> None:
    signals = [
        sig("accuracy", 0.80, 0.90, subject="model ranker"),
        sig("psi", 0.31),
        sig("accuracy", 0.71, 0.90),
    ]
    assert classify(signals).reason == (
        "P2: input drift PSI 0.31 > 0.2 on model fraud-scorer with accuracy 0.71 below SLA 0.90"
    )


@pytest.mark.parametrize(
    ("signals", "severity"),
    [
        ([sig("cache_hit", 0.3), sig("error_rate", 0.1, subject=PAYMENTS)], "P1"),
        ([sig("error_rate", 0.02), sig("gpu_memory", 0.99), sig("psi", 0.3)], "P2"),
        ([sig("psi", 0.31), sig("error_rate", 0.001), sig("cache_hit", 0.9)], "P3"),
    ],
)
def test_several_alerts_raise_the_incident_to_the_highest(
    signals: list[Signal], severity: Severity
) -> None:
    assert classify(signals).severity == severity
    assert classify(list(reversed(signals))).severity == severity


@pytest.mark.parametrize(
    "signal",
    [
        sig("error_rate", None, subject=PAYMENTS),
        sig("accuracy", 0.5, None),  # no SLA known: cannot be "below SLA"
        sig("accuracy", None, 0.9),
        sig("latency_p95", None, 500),
    ],
)
def test_signals_without_value_or_sla_cannot_match_numeric_rules(signal: Signal) -> None:
    assert classify([signal]).severity == "P4"


# --- hints and default ----------------------------------------------------------------------------


def test_hint_used_when_no_rule_matches() -> None:
    signal = Signal("error_rate", PAYMENTS, alertname="HighErrorRate", severity_hint="critical")
    result = classify([signal])
    assert result.severity == "P1"
    assert result.rule == "hint"
    assert result.reason == (
        "P1: HighErrorRate on service payments is labelled severity=critical "
        "(no value to check against the policy)"
    )


@pytest.mark.parametrize(
    ("hints", "severity"),
    [
        (["warning"], "P3"),
        (["info", "WARNING"], "P3"),
        (["low", "error"], "P2"),
        (["high"], "P2"),
        (["p1", "info"], "P1"),
        (["P4"], "P4"),
        (["low"], "P4"),
        (["Info"], "P4"),
        (["warning", "critical", "error"], "P1"),
    ],
)
def test_highest_hint_wins(hints: list[str], severity: Severity) -> None:
    signals = [Signal("something", PAYMENTS, severity_hint=h, alertname="X") for h in hints]
    result = classify(signals)
    assert (result.severity, result.rule) == (severity, "hint")


def test_rule_beats_hint() -> None:
    # The sender says warning, but the measured value crosses the P1 line.
    result = classify([sig("error_rate", 0.2, subject=PAYMENTS, severity_hint="warning")])
    assert (result.severity, result.rule) == ("P1", "error-rate-high")


def test_unknown_hint_falls_to_default_listing_the_signals() -> None:
    signals = [
        sig("error_rate", 0.005, subject=PAYMENTS, severity_hint="page-someone"),
        Signal("disk_full", "instance db-1", alertname="DiskFull"),
    ]
    result = classify(signals)
    assert (result.severity, result.rule) == ("P4", None)
    assert result.reason == (
        "P4: informational — no rule matched "
        "(signals: error rate 0.5% on service payments, DiskFull on instance db-1)"
    )


def test_no_signals_is_informational() -> None:
    result = classify([])
    assert (result.severity, result.reason, result.rule) == (
        "P4",
        "P4: informational — no alerts yet",
        None,
    )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("P1", "P4", "P1"), ("P3", "P2", "P2"), ("P4", "P4", "P4"), ("P4", "P3", "P3")],
)
def test_highest(a: Severity, b: Severity, expected: Severity) -> None:
    assert highest(a, b) == expected


# --- conditions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "signal", "holds"),
    [
        (Condition("psi", ">=", 0.2), sig("psi", 0.2), True),
        (Condition("psi", ">", 0.2), sig("psi", 0.2), False),
        (Condition("cache_hit", "<=", 0.4), sig("cache_hit", 0.4), True),
        (Condition("accuracy", "above_sla"), sig("accuracy", 0.95, 0.9), True),
        (Condition("psi", "present"), sig("psi"), True),
        (Condition("psi", "present"), sig("accuracy"), False),
        (Condition("quality", "below_sla"), sig("confidence", 0.4, 0.6), True),
        (Condition("quality", "<", 0.95), sig("data_quality", 0.9), True),
        (Condition("quality", "present"), sig("psi", 0.9), False),
        (Condition("accuracy", "below_sla", critical=False), sig("accuracy", 0.5, 0.9), True),
        (
            Condition("accuracy", "below_sla", critical=False),
            sig("accuracy", 0.5, 0.9, critical=True),
            False,
        ),
    ],
)
def test_condition_semantics(condition: Condition, signal: Signal, holds: bool) -> None:
    assert condition.holds_for(signal) is holds


# --- signal_from_alert ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alertname", "kind"),
    [
        ("ServiceDown", "service_down"),
        ("InstanceDown", "service_down"),
        ("targetdown", "service_down"),
        ("HighErrorRate", "error_rate"),
        ("ErrorRateHigh", "error_rate"),
        ("ModelAccuracyBelowSLA", "accuracy"),
        ("AccuracyBelowSLA", "accuracy"),
        ("LowAccuracy", "accuracy"),
        ("InputDrift", "psi"),
        ("FeatureDrift", "psi"),
        ("DATADRIFT", "psi"),
        ("HighLatencyP95", "latency_p95"),
        ("LatencyP95AboveSLA", "latency_p95"),
        ("GPUMemoryHigh", "gpu_memory"),
        ("HighGPUMemory", "gpu_memory"),
        ("LowCacheHitRate", "cache_hit"),
        ("CacheHitRateLow", "cache_hit"),
        ("GPUTemperatureHigh", "gpu_temperature_high"),
        ("disk-full", "disk_full"),
        ("", "unknown"),
    ],
)
def test_kind_from_alertname(alertname: str, kind: str) -> None:
    assert signal_from_alert({"alertname": alertname}, {}, None).kind == kind


def test_signal_label_overrides_alertname() -> None:
    labels = {"alertname": "ServiceDown", "signal": "psi", "model": "m"}
    assert signal_from_alert(labels, {}, 0.3).kind == "psi"


@pytest.mark.parametrize(
    ("labels", "subject"),
    [
        ({"model": "fraud-scorer", "service": "payments"}, "model fraud-scorer"),
        ({"service": "payments", "instance": "10.0.0.1:9100"}, "service payments"),
        ({"gpu": "0", "instance": "node-1"}, "gpu 0"),
        ({"instance": "node-1"}, "instance node-1"),
        ({}, "unknown subject"),
    ],
)
def test_subject_from_labels(labels: dict[str, str], subject: str) -> None:
    assert signal_from_alert({"alertname": "X", **labels}, {}, None).subject == subject


@pytest.mark.parametrize(
    ("value", "labels", "annotations", "expected"),
    [
        (0.4, {"value": "0.9"}, {"value": "0.8"}, 0.4),
        (None, {"value": "0.9"}, {"value": "0.8"}, 0.8),
        (None, {"value": "0.9"}, {}, 0.9),
        (None, {}, {"value": "71%"}, None),
        (None, {}, {"value": "nan"}, None),
        (None, {}, {}, None),
    ],
)
def test_value_sources(
    value: float | None, labels: dict[str, str], annotations: dict[str, str], expected: float | None
) -> None:
    signal = signal_from_alert({"signal": "psi", **labels}, annotations, value)
    assert signal.value == expected


@pytest.mark.parametrize(
    ("kind", "value", "threshold", "expected_value", "expected_threshold"),
    [
        ("error_rate", 7.5, None, 0.075, None),
        ("gpu_memory", 97.0, None, 0.97, None),
        ("cache_hit", 35.0, None, 0.35, None),
        ("accuracy", 71.0, "90", 0.71, 0.90),
        ("accuracy", 0.71, "0.9", 0.71, 0.90),
        ("error_rate", 1.0, None, 1.0, None),  # exactly 1 is read as a fraction (100 %)
        ("psi", 3.5, None, 3.5, None),  # not a percentage kind
        ("latency_p95", 812.0, "500", 812.0, 500.0),
    ],
)
def test_percent_values_are_normalised_to_fractions(
    kind: str,
    value: float,
    threshold: str | None,
    expected_value: float,
    expected_threshold: float | None,
) -> None:
    labels = {"signal": kind, **({"sla": threshold} if threshold else {})}
    signal = signal_from_alert(labels, {}, value)
    assert signal.value == pytest.approx(expected_value)
    assert signal.threshold == pytest.approx(expected_threshold)


def test_percent_error_rate_classifies_like_a_fraction() -> None:
    signal = signal_from_alert({"alertname": "HighErrorRate", "service": "payments"}, {}, 7.5)
    assert classify([signal]).reason == "P1: error rate 7.5% > 5% on service payments"


MODELS = MappingProxyType(
    {
        "fraud-scorer": SubjectPolicy(critical=True, accuracy_sla=0.90),
        "ranker": SubjectPolicy(accuracy_sla=0.80, latency_p95_sla_ms=300),
    }
)
SERVICES = MappingProxyType({"payments": SubjectPolicy(critical=True, latency_p95_sla_ms=500)})


def test_model_policy_supplies_sla_and_critical() -> None:
    labels = {"alertname": "ModelAccuracyBelowSLA", "model": "fraud-scorer"}
    signal = signal_from_alert(labels, {"value": "0.71"}, None, models=MODELS)
    assert (signal.kind, signal.threshold, signal.critical) == ("accuracy", 0.90, True)
    result = classify([signal])
    assert result.reason == "P1: accuracy 0.71 below SLA 0.90 on critical model fraud-scorer"


def test_same_alert_on_non_critical_model_is_p2() -> None:
    labels = {"alertname": "ModelAccuracyBelowSLA", "model": "ranker"}
    signal = signal_from_alert(labels, {}, 0.71, models=MODELS)
    assert (signal.threshold, signal.critical) == (0.80, False)
    assert classify([signal]).severity == "P2"


def test_alert_threshold_beats_policy_and_unknown_model_has_none() -> None:
    labels = {"alertname": "LowAccuracy", "model": "ranker"}
    assert (
        signal_from_alert({**labels, "threshold": "0.75"}, {}, 0.7, models=MODELS).threshold == 0.75
    )
    assert signal_from_alert({**labels, "model": "other"}, {}, 0.7, models=MODELS).threshold is None


@pytest.mark.parametrize(
    ("labels", "threshold", "critical"),
    [
        ({"service": "payments"}, 500, True),
        ({"model": "ranker", "service": "payments"}, 300, True),  # model SLA first
        ({"service": "search"}, None, False),
        ({"service": "search", "critical": "yes"}, None, True),
        ({"service": "search", "critical": "no"}, None, False),
    ],
)
def test_service_policy_latency_sla_and_critical(
    labels: dict[str, str], threshold: float | None, critical: bool
) -> None:
    signal = signal_from_alert(
        {"alertname": "HighLatencyP95", **labels}, {}, 812, models=MODELS, services=SERVICES
    )
    assert (signal.threshold, signal.critical) == (threshold, critical)


def test_severity_hint_falls_back_to_severity_label() -> None:
    labels = {"alertname": "X", "severity": "warning"}
    assert signal_from_alert(labels, {}, None).severity_hint == "warning"
    assert signal_from_alert(labels, {}, None, "critical").severity_hint == "critical"


# --- Policy.from_config -----------------------------------------------------------------------


def test_from_config_none_or_empty_keeps_defaults() -> None:
    assert Policy.from_config(None) is DEFAULT_POLICY
    policy = Policy.from_config({})
    assert policy.rules == DEFAULT_POLICY.rules
    assert dict(policy.hint_map) == dict(DEFAULT_POLICY.hint_map)


def test_from_config_rules_replace_the_defaults() -> None:
    policy = Policy.from_config(
        {
            "rules": [
                {
                    "severity": "P2",
                    "name": "drift-with-quality",
                    "all_of": [
                        {"signal": "psi", "op": ">", "value": 0.2},
                        {
                            "any_of": [
                                {"signal": "accuracy", "op": "below_sla"},
                                {"signal": "data_quality", "op": "<", "value": 0.95},
                            ]
                        },
                    ],
                },
                {
                    "severity": "p1",
                    "name": "err",
                    "all_of": [{"signal": "error_rate", "op": ">", "value": 0.02}],
                },
            ],
            "hints": {"Critical": "P2", "page": "P1"},
            "default": "P3",
        }
    )
    assert [r.severity for r in policy.rules] == ["P2", "P1"]
    assert isinstance(policy.rules[0].all_of[1], AnyOf)
    # 3% errors: P1 under the team's stricter rule (P3 under the defaults).
    assert classify([sig("error_rate", 0.03, subject=PAYMENTS)], policy).severity == "P1"
    assert classify([sig("error_rate", 0.03, subject=PAYMENTS)]).severity == "P3"
    # Defaults are gone: a service down alert is not a rule any more, only its hint counts.
    down = Signal("service_down", PAYMENTS, alertname="ServiceDown", severity_hint="critical")
    assert (classify([down], policy).severity, classify([down], policy).rule) == ("P2", "hint")
    page = Signal("x", PAYMENTS, alertname="X", severity_hint="page")
    assert classify([page], policy).severity == "P1"
    assert classify([Signal("x", PAYMENTS)], policy).reason.startswith("P3: ")
    drift = [sig("psi", 0.31), sig("accuracy", 0.71, 0.90)]
    assert classify(drift, policy).rule == "drift-with-quality"


def test_from_config_hints_merge_over_defaults() -> None:
    policy = Policy.from_config({"hints": {"warning": "P2"}})
    assert policy.hint_map["warning"] == "P2"
    assert policy.hint_map["critical"] == "P1"
    assert policy.rules == DEFAULT_POLICY.rules


def _rule(**condition: object) -> dict[str, object]:
    return {"severity": "P2", "name": "r", "all_of": [condition]}


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (["not", "a", "mapping"], "classification"),
        ({"rule": []}, "classification.rule"),
        ({"rules": {"severity": "P1"}}, "classification.rules"),
        ({"rules": ["P1"]}, "classification.rules[0]"),
        (
            {"rules": [{"name": "r", "all_of": [{"signal": "psi", "op": "present"}]}]},
            "classification.rules[0].severity",
        ),
        (
            {"rules": [{**_rule(signal="psi", op="present"), "severity": "P5"}]},
            "classification.rules[0].severity",
        ),
        (
            {"rules": [{**_rule(signal="psi", op="present"), "name": ""}]},
            "classification.rules[0].name",
        ),
        (
            {"rules": [{**_rule(signal="psi", op="present"), "all_of": []}]},
            "classification.rules[0].all_of",
        ),
        (
            {"rules": [_rule(signal="psi", op="present"), _rule(signal="psi", op="present")]},
            "classification.rules[1].name",
        ),
        ({"rules": [_rule(op="present")]}, "classification.rules[0].all_of[0].signal"),
        ({"rules": [_rule(signal="psi")]}, "classification.rules[0].all_of[0].op"),
        (
            {"rules": [_rule(signal="psi", op="=>", value=0.2)]},
            "classification.rules[0].all_of[0].op",
        ),
        ({"rules": [_rule(signal="psi", op=">")]}, "classification.rules[0].all_of[0].value"),
        (
            {"rules": [_rule(signal="psi", op=">", value="0.2")]},
            "classification.rules[0].all_of[0].value",
        ),
        (
            {"rules": [_rule(signal="psi", op=">", value=True)]},
            "classification.rules[0].all_of[0].value",
        ),
        (
            {"rules": [_rule(signal="error_rate", op=">", value=5)]},
            "classification.rules[0].all_of[0].value",
        ),
        (
            {"rules": [_rule(signal="accuracy", op="below_sla", value=0.9)]},
            "classification.rules[0].all_of[0].value",
        ),
        (
            {"rules": [_rule(signal="psi", op="present", critical="yes")]},
            "classification.rules[0].all_of[0].critical",
        ),
        (
            {"rules": [_rule(signal="psi", op="present", when="now")]},
            "classification.rules[0].all_of[0].when",
        ),
        ({"rules": [_rule(any_of=[])]}, "classification.rules[0].all_of[0].any_of"),
        (
            {"rules": [_rule(any_of=[{"signal": "psi", "op": "<<"}])]},
            "classification.rules[0].all_of[0].any_of[0].op",
        ),
        (
            {"rules": [_rule(any_of=[{"any_of": []}])]},
            "classification.rules[0].all_of[0].any_of[0].any_of",
        ),
        ({"hints": ["critical"]}, "classification.hints"),
        ({"hints": {"critical": "urgent"}}, "classification.hints.critical"),
        ({"default": "P0"}, "classification.default"),
    ],
)
def test_from_config_bad_config_names_the_key(raw: object, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        Policy.from_config(raw, where="vigil.yaml")
    assert info.value.key == key
    assert info.value.where == "vigil.yaml"
    assert f"vigil.yaml: {key}: " in str(info.value)


def test_a_story_of_several_signals_is_the_headline_and_one_signal_keeps_the_alerts_title() -> None:
    # A model's incident was titled "mean prediction confidence 0.675 < 0.8" (its first
    # alert) while its "Why" spoke of drift and accuracy: the story is the title.
    story = classify(
        [sig("confidence", 0.675, 0.8), sig("psi", 0.61), sig("accuracy_estimated", 0.71, 0.9)]
    )
    assert story.headline == (
        "Input drift PSI 0.61 > 0.2 on model fraud-scorer with estimated accuracy 0.71 "
        "below SLA 0.90"
    )
    assert classify([sig("psi", 0.61)]).headline is None
    assert classify([sig("error_rate", 0.07, subject="service payments")]).headline is None
