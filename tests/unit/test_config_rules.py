"""The config carries what the rules need: per-subject thresholds and ``rules_dir``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config.load import load_settings, rule_files
from bot.core.errors import ConfigError
from bot.rules import default_rules_file, effective, load_rules
from bot.rules.effective import threshold_for

MODEL_KEYS = (
    "confidence_floor",
    "latency_p99_sla_ms",
    "output_kl_threshold",
    "label_copying_ratio",
    "label_health_floor",
    "label_coverage_floor",
    "label_drift_threshold",
)
SERVICE_KEYS = ("queue_capacity", "capacity_rps")


def settings_from(tmp_path: Path, data: dict[str, Any]) -> Any:
    path = tmp_path / "vigil.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_settings(path, {})


def config_error(tmp_path: Path, data: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        settings_from(tmp_path, data)
    return caught.value


def test_subject_settings_are_carried(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path,
        {
            "models": {
                "fraud": {
                    "confidence_floor": 0.6,
                    "latency_p99_sla_ms": 250,
                    "output_kl_threshold": 0.2,
                }
            },
            "services": {"payments": {"queue_capacity": 1000, "capacity_rps": 200}},
        },
    )
    fraud = settings.incidents.models["fraud"]
    payments = settings.incidents.services["payments"]
    assert (fraud.confidence_floor, fraud.latency_p99_sla_ms, fraud.output_kl_threshold) == (
        0.6,
        250.0,
        0.2,
    )
    assert (payments.queue_capacity, payments.capacity_rps) == (1000.0, 200.0)
    assert payments.confidence_floor is None
    assert fraud.queue_capacity is None


def test_effective_reads_the_configured_names(tmp_path: Path) -> None:
    """Every ``threshold_from`` in the bundled rules names a setting the config accepts,
    and setting it turns the rule on for that subject."""
    rules = load_rules([default_rules_file()])
    needed = {r.setting for r in rules if r.setting is not None}
    assert needed == {
        ("service", "latency_p95_sla_ms"),
        ("service", "queue_capacity"),
        ("service", "capacity_rps"),
        ("model", "confidence_floor"),
        ("model", "output_kl_threshold"),
        ("model", "accuracy_sla"),
        ("model", "latency_p99_sla_ms"),
        ("model", "label_copying_ratio"),
        ("model", "label_health_floor"),
        ("model", "label_coverage_floor"),
        ("model", "label_drift_threshold"),
        ("model", "max_label_delay"),  # a duration in vigil.yaml, seconds to the rule
        ("heartbeat", "max_label_delay"),  # a duration in vigil.yaml, seconds to the rule
    }
    models: dict[str, object] = {key: 0.5 for scope, key in needed if scope == "model"}
    models["max_label_delay"] = "2d"
    services = {key: 5.0 for scope, key in needed if scope == "service"}
    beats = {key: "6h" for scope, key in needed if scope == "heartbeat"}
    settings = settings_from(
        tmp_path,
        {
            "models": {"m": models},
            "services": {"s": services},
            "heartbeats": {"h": {"every": "1h", **beats}},
        },
    )
    statuses = effective(
        rules, settings.incidents.models, settings.incidents.services, settings.heartbeats
    )
    assert all(s.on for s in statuses)
    by_name = {s.rule.name: s for s in statuses}
    assert by_name["confidence-below-floor"].subjects == ("m",)
    assert by_name["queue-depth-above-capacity"].subjects == ("s",)
    assert by_name["heartbeat-label-delay"].subjects == ("h",)


@pytest.mark.parametrize(
    ("scope", "key"),
    [("models", k) for k in MODEL_KEYS] + [("services", k) for k in SERVICE_KEYS],
)
def test_non_numbers_are_refused_naming_the_key(tmp_path: Path, scope: str, key: str) -> None:
    err = config_error(tmp_path, {scope: {"x": {key: "fast"}}})
    assert err.key == f"{scope}.x.{key}"
    assert "number" in str(err)
    err = config_error(tmp_path, {scope: {"x": {key: True}}})
    assert err.key == f"{scope}.x.{key}"


@pytest.mark.parametrize(
    ("scope", "key", "value"),
    [
        ("models", "confidence_floor", 1.5),
        ("models", "confidence_floor", -0.1),
        ("models", "latency_p99_sla_ms", 0),
        ("models", "output_kl_threshold", -1),
        ("models", "label_copying_ratio", 1.5),
        ("models", "label_health_floor", -0.1),
        ("models", "label_coverage_floor", 2),
        ("models", "label_drift_threshold", 0),
        ("models", "max_label_delay", "0s"),
        ("models", "max_label_delay", "soon"),
        ("services", "queue_capacity", -5),
        ("services", "capacity_rps", 0),
        ("services", "capacity_rps", float("inf")),
        ("services", "latency_p95_sla_ms", 0),
        ("models", "accuracy_sla", 101),
    ],
)
def test_out_of_range_values_are_refused(
    tmp_path: Path, scope: str, key: str, value: float
) -> None:
    err = config_error(tmp_path, {scope: {"x": {key: value}}})
    assert err.key == f"{scope}.x.{key}"


def test_a_setting_of_the_other_scope_is_unknown(tmp_path: Path) -> None:
    err = config_error(tmp_path, {"models": {"fraud": {"queue_capacity": 10}}})
    assert err.key == "models.fraud.queue_capacity"
    assert "confidence_floor" in str(err)
    err = config_error(tmp_path, {"services": {"payments": {"confidence_floor": 0.5}}})
    assert err.key == "services.payments.confidence_floor"


def test_accuracy_sla_in_percent_is_stored_as_a_fraction(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, {"models": {"a": {"accuracy_sla": 90}, "b": {}}})
    assert settings.incidents.models["a"].accuracy_sla == pytest.approx(0.9)
    assert settings.incidents.models["b"].accuracy_sla is None


def test_rules_dir_is_optional_and_adds_its_yaml_files_in_order(tmp_path: Path) -> None:
    assert rule_files(settings_from(tmp_path, {})) == [default_rules_file()]
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    (rules_dir / "b.yaml").write_text("rules: [{name: cpu-high, threshold: 0.9}]\n")
    (rules_dir / "a.yaml").write_text("rules: [{name: cpu-high, threshold: 0.7}]\n")
    (rules_dir / "notes.txt").write_text("not a rules file")
    settings = settings_from(tmp_path, {"rules_dir": str(rules_dir)})
    assert settings.rules_dir == rules_dir
    files = rule_files(settings)
    assert files == [default_rules_file(), rules_dir / "a.yaml", rules_dir / "b.yaml"]
    cpu = next(r for r in load_rules(files) if r.name == "cpu-high")
    assert cpu.threshold == 0.9


def test_rules_dir_must_be_a_directory(tmp_path: Path) -> None:
    err = config_error(tmp_path, {"rules_dir": 3})
    assert err.key == "rules_dir"
    settings = settings_from(tmp_path, {"rules_dir": str(tmp_path / "missing")})
    with pytest.raises(ConfigError) as caught:
        rule_files(settings)
    assert caught.value.key == "rules_dir"


def test_a_models_label_delay_is_written_as_a_duration_and_read_in_seconds(tmp_path: Path) -> None:
    """``max_label_delay: 2d`` is the label-delay-high rule's threshold for that model,
    in the seconds its samples are in; the other models keep the rule's day."""
    settings = settings_from(tmp_path, {"models": {"fraud": {"max_label_delay": "2d"}}})
    assert settings.incidents.models["fraud"].max_label_delay == 2 * 86400
    [rule] = [r for r in load_rules([default_rules_file()]) if r.name == "label-delay-high"]
    models = settings.incidents.models
    assert threshold_for(rule, {"model": "fraud"}, models=models) == 2 * 86400
    assert threshold_for(rule, {"model": "ranker"}, models=models) == 86400
