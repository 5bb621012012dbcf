"""Loading rules: the defaults are the brief's, errors name file and key, overrides merge."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.errors import ConfigError
from bot.rules import default_rules_file, effective, load_rules, parse_rules
from bot.rules.schema import Rule

WHERE = "rules/default.yaml"
RULES = Path(__file__).resolve().parents[2] / "bot" / "rules"


def rule(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "error-rate-high",
        "metric": "error_rate",
        "op": ">",
        "threshold": 0.01,
        "labels": {"alertname": "HighErrorRate", "signal": "error_rate"},
    }
    return {**base, **over}


def parse(*items: dict[str, Any]) -> list[Rule]:
    return parse_rules([(WHERE, {"rules": list(items)})])


# The brief's 19 items: rule name(s), metric, op, threshold or the setting it needs.
BRIEF = [
    ("cpu-high", "cpu_utilization", ">", 0.80, None),
    ("gpu-underutilized", "gpu_utilization", "<", 0.30, None),
    ("gpu-saturated", "gpu_utilization", ">", 0.95, None),
    ("gpu-memory-high", "gpu_memory_utilization", ">", 0.85, None),
    ("api-latency-p95-above-sla", "http_latency_p95_ms", ">", None, "service.latency_p95_sla_ms"),
    ("error-rate-high", "error_rate", ">", 0.01, None),
    ("queue-depth-above-capacity", "queue_depth", ">", None, "service.queue_capacity"),
    ("db-query-time-high", "db_query_time_avg_ms", ">", 200, None),
    ("request-volume-anomalous", "request_rate", ">", 3.5, None),
    ("throughput-below-capacity-target", "throughput_rps", "<", None, "service.capacity_rps"),
    ("cache-hit-low", "cache_hit_rate", "<", 0.40, None),
    ("timeout-rate-high", "timeout_rate", ">", 0.005, None),
    ("dependency-degraded", "dependency_up", "<", 1, None),
    ("confidence-below-floor", "prediction_confidence_mean", "<", None, "model.confidence_floor"),
    ("input-drift-psi", "input_drift_psi", ">", 0.2, None),
    ("output-drift-kl", "output_drift_kl", ">", 0.1, "model.output_kl_threshold"),
    ("feature-importance-rank-change", "feature_importance_rank_corr", "<", 0.8, None),
    ("accuracy-below-sla", "accuracy", "<", None, "model.accuracy_sla"),
    ("data-quality-low", "data_quality_score", "<", 0.95, None),
    ("model-latency-p99-above-sla", "model_latency_p99_ms", ">", None, "model.latency_p99_sla_ms"),
]


# Rules beyond the brief's table: accuracy estimated before labels, a likely bad GPU,
# heartbeats that check the data, and label health (issue 20).
BEYOND = {
    "label-feedback-loop",
    "label-noise",
    "label-drift-psi",
    "label-coverage-low",
    "label-delay-high",
    "estimate-untrusted",
    "accuracy-estimated-below-sla",
    "gpu-xid-hardware",
    "heartbeat-late",
    "heartbeat-zero-rows",
    "heartbeat-schema-changed",
    "heartbeat-label-delay",
}


def test_the_defaults_are_the_brief_all_on() -> None:
    rules = {r.name: r for r in load_rules([default_rules_file()])}
    assert set(rules) - BEYOND == {b[0] for b in BRIEF}
    # 19 brief items; GPU utilization "< 30 % or > 95 %" is two rules on one metric.
    assert len({b[1] for b in BRIEF}) == 19
    for name, metric, op, threshold, setting in BRIEF:
        r = rules[name]
        assert (r.metric, r.op, r.threshold, r.threshold_from) == (metric, op, threshold, setting)
        assert r.enabled
        assert {"alertname", "signal", "severity"} <= set(r.labels)
    assert rules["cpu-high"].for_ == timedelta(minutes=5)
    assert rules["request-volume-anomalous"].kind == "baseline"
    assert rules["dependency-degraded"].resolve_hysteresis == 0


def test_defaults_needing_user_values_are_off_until_set() -> None:
    rules = load_rules([default_rules_file()])
    off = {s.rule.name: s.reason for s in effective(rules) if not s.on}
    assert off == {
        "api-latency-p95-above-sla": "needs services.<name>.latency_p95_sla_ms",
        "queue-depth-above-capacity": "needs services.<name>.queue_capacity",
        "throughput-below-capacity-target": "needs services.<name>.capacity_rps",
        "confidence-below-floor": "needs models.<name>.confidence_floor",
        "accuracy-below-sla": "needs models.<name>.accuracy_sla",
        "accuracy-estimated-below-sla": "needs models.<name>.accuracy_sla",
        "model-latency-p99-above-sla": "needs models.<name>.latency_p99_sla_ms",
        "heartbeat-label-delay": "needs heartbeats.<name>.max_label_delay",
    }


def test_effective_turns_on_per_subject_and_reports_disabled() -> None:
    class Policy:  # the config's SubjectPolicy is an attribute object; mappings work too
        latency_p95_sla_ms = 500.0

    rules = [
        *parse(
            rule(name="p95", threshold=None, threshold_from="service.latency_p95_sla_ms"),
            rule(name="kl", threshold=0.1, threshold_from="model.output_kl_threshold"),
            rule(name="off", enabled=False),
        )
    ]
    status = {
        s.rule.name: s for s in effective(rules, {"m": {"other": 1}}, {"pay": Policy(), "web": {}})
    }
    assert status["p95"].on
    assert status["p95"].subjects == ("pay",)
    assert "services pay" in status["p95"].reason
    assert status["kl"].on
    assert "default" in status["kl"].reason
    assert not status["off"].on
    assert status["off"].reason == f"disabled (enabled: false in {WHERE})"


@pytest.mark.parametrize(
    ("item", "key", "says"),
    [
        (rule(op="=="), "rules[0].op", "is not one of"),
        (rule(threshold="high"), "rules[0].threshold", "finite number"),
        (rule(threshold=True), "rules[0].threshold", "finite number"),
        (rule(threshold=None), "rules[0].threshold", "needs `threshold` or"),
        (rule(**{"for": 5}), "rules[0].for", "with a unit"),
        (rule(**{"for": "5 minutes"}), "rules[0].for", "not a duration"),
        (rule(absent_after="0s"), "rules[0].absent_after", "longer than 0s"),
        (rule(resolve_hysteresis=1.5), "rules[0].resolve_hysteresis", "0 <= h < 1"),
        (rule(threshold_from="team.sla"), "rules[0].threshold_from", "model.<setting>"),
        (rule(labels={"alertname": "X"}), "rules[0].labels", "missing `signal`"),
        (rule(labels={"alertname": "X", "signal": 3}), "rules[0].labels", "non-empty text"),
        (rule(labels="x"), "rules[0].labels", "a mapping"),
        (rule(kind="spike"), "rules[0].kind", "is not one of"),
        (rule(metric="error rate"), "rules[0].metric", "not a metric name"),
        (rule(unit="%"), "rules[0].unit", "is not one of"),
        (rule(enabled="no"), "rules[0].enabled", "true or false"),
        (rule(treshold=1), "rules[0].treshold", "unknown key"),
        (rule(name="Bad Name"), "rules[0].name", "lowercase"),
        (rule(baseline={"window": "1d"}), "rules[0].baseline", "only a rule of kind"),
        (rule(kind="baseline", op="<"), "rules[0].op", "must be '>'"),
        (rule(kind="baseline", baseline={"min_samples": 2}), "rules[0].baseline", ">= 3"),
        (rule(kind="baseline", baseline={"window": "x"}), "rules[0].baseline", "window"),
    ],
)
def test_errors_name_file_and_key(item: dict[str, Any], key: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules([(WHERE, {"rules": [rule(name="fine"), item]})])
    assert info.value.where == WHERE
    assert info.value.key == key.replace("rules[0]", "rules[1]")
    assert says in str(info.value)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (["x"], ""),
        ({"rule": []}, "rule"),
        ({"rules": {"a": 1}}, "rules"),
        ({"rules": [1]}, "rules[0]"),
    ],
)
def test_file_shape_errors(data: object, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules([(WHERE, data)])
    assert (info.value.where, info.value.key) == (WHERE, key)


def test_duplicate_name_in_one_file_is_refused() -> None:
    with pytest.raises(ConfigError, match="appears twice") as info:
        parse(rule(), rule())
    assert info.value.key == "rules[1].name"


def test_later_files_override_by_name_key_by_key(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "rules:\n"
        "  - {name: error-rate-high, threshold: 0.02, labels: {severity: critical}}\n"
        "  - {name: cache-hit-low, enabled: false}\n"
        "  - name: my-rule\n    metric: x\n    op: '>'\n    threshold: 1\n"
        "    labels: {alertname: Mine, signal: mine}\n",
        encoding="utf-8",
    )
    rules = {r.name: r for r in load_rules([default_rules_file(), mine])}
    assert rules["error-rate-high"].threshold == 0.02
    assert rules["error-rate-high"].metric == "error_rate"  # kept from the default
    assert dict(rules["error-rate-high"].labels) == {
        "alertname": "HighErrorRate",
        "signal": "error_rate",
        "severity": "critical",
    }
    assert not rules["cache-hit-low"].enabled
    assert rules["cache-hit-low"].source == str(default_rules_file())
    assert rules["cache-hit-low"].origins["enabled"] == str(mine)
    assert effective([rules["cache-hit-low"]])[0].reason == f"disabled (enabled: false in {mine})"
    assert rules["my-rule"].source == str(mine)
    assert set(rules) == {b[0] for b in BRIEF} | BEYOND | {"my-rule"}


def test_an_override_error_names_the_overriding_file(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("rules:\n  - {name: cpu-high, for: soon}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rules([default_rules_file(), mine])
    assert (info.value.where, info.value.key) == (str(mine), "rules[0].for")


def test_overriding_a_name_that_does_not_exist_says_so() -> None:
    with pytest.raises(ConfigError, match="no earlier rule named 'cpu-hgh'") as info:
        parse({"name": "cpu-hgh", "threshold": 0.9})
    assert info.value.key == "rules[0].metric"


def test_broken_yaml_and_missing_files_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - {name: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML") as info:
        load_rules([bad])
    assert info.value.where.startswith(str(bad))
    with pytest.raises(ConfigError, match="cannot read"):
        load_rules([tmp_path / "nope.yaml"])


def test_empty_file_has_no_rules(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert load_rules([empty]) == []


# runner.py is the package's one I/O edge (it polls sources and ingests); the rest is pure.
@pytest.mark.parametrize(
    "module", sorted(p.name for p in RULES.glob("*.py") if p.name != "runner.py")
)
def test_rules_package_is_pure(module: str) -> None:
    tree = ast.parse((RULES / module).read_text(encoding="utf-8"))
    names = {
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in (n.names if isinstance(n, ast.Import) else [n])  # type: ignore[attr-defined]
    }
    bad = {"asyncio", "aiohttp", "sqlalchemy", "sqlmodel", "bot.store.db", "bot.web", "time"}
    assert not {str(n) for n in names} & bad


def test_match_and_group_are_read_and_checked() -> None:
    (r,) = parse(rule(match={"xid_class": "hardware"}, group="infrastructure"))
    assert dict(r.match) == {"xid_class": "hardware"}
    assert r.group == "infrastructure"
    (plain,) = parse(rule())
    assert (dict(plain.match), plain.group) == ({}, "default")
    for bad, key, says in [
        ({"match": {"xid": 79}}, "rules[0].match", "quote numbers"),
        ({"match": ["hardware"]}, "rules[0].match", "a mapping of label name"),
        ({"group": "Model Quality"}, "rules[0].group", "lowercase letters"),
    ]:
        with pytest.raises(ConfigError) as caught:
            parse(rule(**bad))
        assert caught.value.key == key
        assert says in str(caught.value)


def test_every_default_rule_names_its_group() -> None:
    groups = {r.name: r.group for r in load_rules([default_rules_file()])}
    assert set(groups.values()) <= {
        "infrastructure",
        "application",
        "model-quality",
        "data-pipelines",
    }
    assert groups["cpu-high"] == "infrastructure"
    assert groups["input-drift-psi"] == "model-quality"
