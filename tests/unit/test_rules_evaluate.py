"""The evaluator: `for` boundaries, hysteresis, no spam, absence, baselines, AlertIn shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.incidents.intake.fingerprint import fingerprint
from bot.incidents.policy.classify import classify
from bot.incidents.policy.signals import signal_from_alert
from bot.rules import (
    EvalState,
    Point,
    Rule,
    Series,
    default_rules_file,
    evaluate,
    load_rules,
    parse_rules,
    to_alert_in,
)
from bot.rules.alerts import AlertChange

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PAY = Series.of("error_rate", {"service": "payments"})
MIN = timedelta(minutes=1)


def make(**over: Any) -> Rule:
    base: dict[str, Any] = {
        "name": "error-rate-high",
        "title": "error rate",
        "metric": "error_rate",
        "op": ">",
        "threshold": 0.01,
        "for": "5m",
        "unit": "ratio",
        "labels": {"alertname": "HighErrorRate", "signal": "error_rate", "severity": "warning"},
    }
    return parse_rules([("rules/test.yaml", {"rules": [{**base, **over}]})])[0]


class Run:
    """Feeds samples minute by minute and collects every change, like the scheduler would."""

    def __init__(self, *rules: Rule, **subjects: Any) -> None:
        self.rules = list(rules)
        self.state: EvalState | None = None
        self.subjects = subjects

    def at(
        self, now: datetime, samples: dict[Series, list[Point]] | None = None
    ) -> list[AlertChange]:
        self.state, changes = evaluate(self.rules, samples or {}, self.state, now, **self.subjects)
        return changes

    def feed(self, series: Series, values: list[float], start: datetime = T0) -> list[AlertChange]:
        out: list[AlertChange] = []
        for i, v in enumerate(values):
            now = start + i * MIN
            out += self.at(now, {series: [Point(now, v)]})
        return out


@pytest.mark.parametrize(
    ("held", "fires"),
    [(timedelta(minutes=5) - timedelta(seconds=1), False), (timedelta(minutes=5), True)],
)
def test_fires_only_once_for_has_held(held: timedelta, fires: bool) -> None:
    run = Run(make())
    assert run.at(T0, {PAY: [Point(T0, 0.075)]}) == []
    changes = run.at(T0 + held, {PAY: [Point(T0 + held, 0.075)]})
    assert [c.status for c in changes] == (["firing"] if fires else [])


def test_firing_alert_carries_value_threshold_window_and_summary() -> None:
    run = Run(make())
    (change,) = run.feed(PAY, [0.075] * 6)
    assert change.status == "firing"
    assert (change.value, change.threshold, change.window) == (0.075, 0.01, timedelta(minutes=5))
    assert change.summary == "error rate 7.5% > 1% for 5m on service payments"
    assert dict(change.labels) == {
        "service": "payments",
        "alertname": "HighErrorRate",
        "signal": "error_rate",
        "severity": "warning",
    }
    assert change.starts_at == T0 + 5 * MIN


def test_repeated_evaluation_of_a_firing_rule_is_silent() -> None:
    run = Run(make())
    assert len(run.feed(PAY, [0.075] * 6)) == 1
    assert run.feed(PAY, [0.08] * 30, start=T0 + 6 * MIN) == []
    assert run.at(T0 + 36 * MIN) == []


def test_a_dip_while_pending_restarts_the_clock() -> None:
    run = Run(make())
    assert run.feed(PAY, [0.05, 0.05, 0.05, 0.05, 0.001, 0.05, 0.05, 0.05, 0.05, 0.05]) == []
    assert [c.status for c in run.at(T0 + 10 * MIN, {PAY: [Point(T0 + 10 * MIN, 0.05)]})] == [
        "firing"
    ]


@pytest.mark.parametrize(
    ("value", "resolves"),
    [(0.0099, False), (0.0096, False), (0.0095, True), (0.001, True)],
)
def test_resolve_needs_the_hysteresis_band(value: float, resolves: bool) -> None:
    run = Run(make())  # threshold 1 %, hysteresis 5 % of it: resolves at or below 0.95 %
    run.feed(PAY, [0.075] * 6)
    now = T0 + 6 * MIN
    changes = run.at(now, {PAY: [Point(now, value)]})
    assert [c.status for c in changes] == (["resolved"] if resolves else [])
    if resolves:
        assert changes[0].summary.startswith("error rate ")
        assert "no longer > 1% on service payments" in changes[0].summary
        assert changes[0].starts_at == T0 + 5 * MIN


@pytest.mark.parametrize(
    ("unit", "value", "resolves"),
    [
        ("ratio", 0.9524, False),  # inside the band: 5 % of the room up to 1 (0.95 → 1)
        ("ratio", 0.9526, True),
        ("ratio", 0.972, True),  # traffic back to normal: it clears (it stayed firing once)
        ("score", 0.9526, True),  # a score of at most 1 (confidence, data quality) likewise
        ("rps", 0.998, True),  # an unbounded unit: 5 % of the threshold, as before
        ("rps", 0.99, False),
    ],
)
def test_a_ratio_below_its_floor_clears_once_it_recovers(
    unit: str, value: float, resolves: bool
) -> None:
    rule = make(
        name="data-quality-low",
        title="data quality",
        metric="data_quality_score",
        op="<",
        threshold=0.95,
        unit=unit,
        labels={"alertname": "DataQualityLow", "signal": "data_quality", "severity": "warning"},
    )
    run = Run(rule)
    series = Series.of("data_quality_score", {"model": "fraud"})
    run.feed(series, [0.5] * 6)
    assert run.state is not None
    assert {s.phase for s in run.state.series.values()} == {"firing"}
    now = T0 + 6 * MIN
    changes = run.at(now, {series: [Point(now, value)]})
    assert [c.status for c in changes] == (["resolved"] if resolves else [])


def test_accuracy_estimated_back_above_its_sla_clears() -> None:
    """Estimated accuracy 0.885 against an SLA of 0.85 is fine: the alert resolves (5 % of
    the threshold would have held it until 0.8925)."""
    rule = make(
        name="accuracy-estimated-below-sla",
        title="estimated accuracy",
        metric="accuracy_estimated",
        op="<",
        threshold=0.85,
        labels={"alertname": "Acc", "signal": "accuracy_estimated", "severity": "warning"},
    )
    run = Run(rule)
    series = Series.of("accuracy_estimated", {"model": "fraud"})
    run.feed(series, [0.71] * 6)
    now = T0 + 6 * MIN
    assert [c.status for c in run.at(now, {series: [Point(now, 0.885)]})] == ["resolved"]


def test_flapping_inside_the_band_neither_resolves_nor_refires() -> None:
    run = Run(make())
    run.feed(PAY, [0.075] * 6)
    assert run.feed(PAY, [0.0098, 0.011, 0.0097, 0.012] * 5, start=T0 + 6 * MIN) == []


def test_after_resolving_it_must_hold_for_again() -> None:
    run = Run(make())
    run.feed(PAY, [0.075] * 6 + [0.0])
    later = run.feed(PAY, [0.075] * 6, start=T0 + 7 * MIN)
    assert [(c.status, c.starts_at) for c in later] == [("firing", T0 + 12 * MIN)]


def test_a_batch_of_past_points_is_judged_at_their_own_times() -> None:
    run = Run(make())
    batch = [Point(T0 + i * MIN, 0.05) for i in range(6)]
    changes = run.at(T0 + 5 * MIN, {PAY: batch})
    assert [c.status for c in changes] == ["firing"]
    assert run.at(T0 + 5 * MIN, {PAY: batch}) == []  # the same points again change nothing


def test_nan_points_are_ignored() -> None:
    run = Run(make(**{"for": "0s"}))
    assert run.at(T0, {PAY: [Point(T0, float("nan"))]}) == []


def test_a_point_stamped_after_now_counts_as_seen_now() -> None:
    """Prometheus stamps a query's result with its own evaluation time, a moment after the
    poll began: the point is judged (at ``now``), not dropped."""
    run = Run(make(**{"for": "0s"}))
    changes = run.at(T0, {PAY: [Point(T0 + timedelta(seconds=2), 0.5)]})
    assert [(c.status, c.starts_at) for c in changes] == [("firing", T0)]


def test_a_point_far_in_the_future_does_not_hide_the_next_ones() -> None:
    """A sender whose clock runs an hour ahead: its point counts as now, so the points
    that follow are still judged (one stamped an hour ahead must not mask an hour)."""
    run = Run(make(**{"for": "2m"}))
    assert run.at(T0, {PAY: [Point(T0 + timedelta(hours=1), 0.5)]}) == []  # pending
    changes = run.at(T0 + 2 * MIN, {PAY: [Point(T0 + 2 * MIN, 0.5)]})
    assert [c.status for c in changes] == ["firing"]


@pytest.mark.parametrize(
    ("gap", "absent"),
    [(timedelta(minutes=10) - timedelta(seconds=1), False), (timedelta(minutes=10), True)],
)
def test_missing_data_becomes_absent_after_the_grace_period(gap: timedelta, absent: bool) -> None:
    run = Run(make())
    run.at(T0, {PAY: [Point(T0, 0.0)]})
    changes = run.at(T0 + gap)
    assert [c.status for c in changes] == (["firing"] if absent else [])
    if absent:
        (c,) = changes
        assert c.labels["alertname"] == "DataAbsent"
        assert c.labels["signal"] == "dependency"
        assert (c.labels["rule"], c.labels["metric"]) == ("error-rate-high", "error_rate")
        assert c.labels["service"] == "payments"
        assert (c.value, c.threshold, c.window) == (None, None, timedelta(minutes=10))
        assert c.summary == "no data for error_rate for 10m on service payments"


def test_absence_is_one_alert_resolved_when_data_returns_and_never_resolves_firing() -> None:
    run = Run(make())
    run.feed(PAY, [0.075] * 6)  # firing from T0+5m
    assert [c.labels["alertname"] for c in run.at(T0 + 15 * MIN)] == ["DataAbsent"]
    assert run.at(T0 + 30 * MIN) == []  # still absent, no repeat; HighErrorRate not resolved
    back = run.at(T0 + 31 * MIN, {PAY: [Point(T0 + 31 * MIN, 0.075)]})
    assert [(c.labels["alertname"], c.status) for c in back] == [("DataAbsent", "resolved")]


def test_absent_kind_fires_for_a_metric_that_never_reported() -> None:
    rule = make(
        name="heartbeat",
        metric="heartbeat",
        kind="absent",
        threshold=None,
        absent_after="3m",
        labels={"alertname": "NoHeartbeat", "signal": "service_down"},
    )
    run = Run(rule)
    assert run.at(T0) == []
    assert run.at(T0 + 3 * MIN - timedelta(seconds=1)) == []
    (c,) = run.at(T0 + 3 * MIN)
    assert (c.status, c.labels["alertname"], c.starts_at) == ("firing", "NoHeartbeat", T0 + 3 * MIN)
    beat = Series.of("heartbeat", {"service": "api"})
    resolved = run.at(T0 + 4 * MIN, {beat: [Point(T0 + 4 * MIN, 1.0)]})
    assert [(c.status, c.labels["alertname"]) for c in resolved] == [("resolved", "NoHeartbeat")]


def test_threshold_from_uses_each_services_setting_and_skips_unset_ones() -> None:
    rule = make(
        name="p95",
        title="p95 latency",
        metric="latency_ms",
        threshold=None,
        unit="ms",
        threshold_from="service.latency_p95_sla_ms",
        labels={"alertname": "LatencyP95AboveSLA", "signal": "latency_p95"},
    )
    run = Run(rule, services={"payments": {"latency_p95_sla_ms": 500}, "web": {}})
    pay = Series.of("latency_ms", {"service": "payments"})
    web = Series.of("latency_ms", {"service": "web"})
    changes: list[AlertChange] = []
    for i in range(6):
        now = T0 + i * MIN
        changes += run.at(now, {pay: [Point(now, 812.0)], web: [Point(now, 9999.0)]})
    (c,) = changes
    assert c.summary == "p95 latency 812 ms > 500 ms for 5m on service payments"
    assert c.threshold == 500


def test_a_rule_off_for_lack_of_its_setting_never_reports_missing_data() -> None:
    # `vigil rules list` says model-latency-p99 is off until latency_p99_sla_ms is set; a
    # model that pushed its latency and stopped must not open "no data for …" either.
    rule = make(
        name="model-latency-p99-above-sla",
        title="model latency p99",
        metric="model_latency_p99_ms",
        threshold=None,
        threshold_from="model.latency_p99_sla_ms",
        unit="ms",
        absent_after="2m",
        labels={"alertname": "ModelLatencyP99AboveSLA", "signal": "latency_p99"},
    )
    lat = Series.of("model_latency_p99_ms", {"model": "fraud-scorer"})
    off = Run(rule, models={"fraud-scorer": {}})
    assert off.feed(lat, [120.0, 130.0]) == []
    assert off.at(T0 + 30 * MIN) == []
    on = Run(rule, models={"fraud-scorer": {"latency_p99_sla_ms": 500}})
    assert on.feed(lat, [120.0, 130.0]) == []
    (gone,) = on.at(T0 + 30 * MIN)
    assert (gone.status, gone.summary) == (
        "firing",
        "no data for model_latency_p99_ms for 2m on model fraud-scorer",
    )


def test_disabled_rules_do_nothing() -> None:
    run = Run(make(enabled=False, **{"for": "0s"}))
    assert run.feed(PAY, [1.0, 1.0]) == []
    assert run.at(T0 + 60 * MIN) == []


REQ = Series.of("request_rate", {"service": "api"})


def baseline_rule(**over: Any) -> Rule:
    return make(
        name="volume",
        title="request volume",
        metric="request_rate",
        kind="baseline",
        threshold=3.5,
        unit="rps",
        baseline={"window": "1h", "min_samples": 20},
        **{"for": "2m"},
        labels={"alertname": "RequestVolumeAnomalous", "signal": "request_volume"},
        **over,
    )


def test_baseline_fires_on_a_sustained_spike_and_quotes_the_baseline() -> None:
    run = Run(baseline_rule())
    normal = [100.0, 102.0, 98.0, 101.0, 99.0] * 6
    assert run.feed(REQ, normal) == []
    changes = run.feed(REQ, [400.0, 400.0, 400.0], start=T0 + 30 * MIN)
    (c,) = changes
    assert c.status == "firing"
    assert c.threshold == 3.5
    assert c.value == pytest.approx(0.6745 * 300)  # robust z: median 100, MAD 1
    assert c.annotations["observed"] == "400.0"
    assert c.annotations["median"] == "100.0"
    assert "request volume 400 req/s (robust z" in c.summary
    assert "beyond ±3.5 for 2m on service api" in c.summary
    back = run.feed(REQ, [100.0], start=T0 + 33 * MIN)
    assert [x.status for x in back] == ["resolved"]


def test_baseline_with_too_few_points_never_fires() -> None:
    run = Run(baseline_rule())
    assert run.feed(REQ, [100.0] * 10 + [1e6] * 5) == []


def test_baseline_single_spike_shorter_than_for_does_not_fire() -> None:
    run = Run(baseline_rule())
    assert run.feed(REQ, [100.0, 101.0, 99.0] * 10 + [900.0] + [100.0] * 5) == []


def test_baseline_forgets_points_older_than_its_window() -> None:
    run = Run(baseline_rule())
    run.feed(REQ, [100.0, 101.0, 99.0] * 10)
    assert run.state is not None
    run.at(T0 + 3 * 60 * MIN, {REQ: [Point(T0 + 3 * 60 * MIN, 100.0)]})
    assert len(run.state.series[("volume", REQ)].history) == 1


def test_to_alert_in_keeps_value_threshold_window_and_fingerprint() -> None:
    run = Run(make())
    (firing,) = run.feed(PAY, [0.075] * 6)
    alert = to_alert_in(firing, T0 + 5 * MIN)
    assert alert.status == "firing"
    assert alert.source == "vigil-rules"
    assert alert.value == 0.075
    assert alert.annotations["threshold"] == "0.01"
    assert alert.annotations["window"] == "5m"
    assert alert.annotations["summary"] == alert.title == firing.summary
    assert alert.fingerprint == fingerprint(alert.labels)
    assert (alert.starts_at, alert.ends_at, alert.severity_hint) == (T0 + 5 * MIN, None, "warning")
    signal = signal_from_alert(alert.labels, alert.annotations, alert.value, alert.severity_hint)
    assert (signal.kind, signal.value, signal.threshold) == ("error_rate", 0.075, 0.01)

    (resolved,) = run.at(T0 + 6 * MIN, {PAY: [Point(T0 + 6 * MIN, 0.0)]})
    done = to_alert_in(resolved, T0 + 6 * MIN)
    assert (done.status, done.ends_at) == ("resolved", T0 + 6 * MIN)
    assert done.fingerprint == alert.fingerprint
    assert done.starts_at == alert.starts_at


def test_a_hardware_xid_pages_as_a_likely_bad_gpu_and_application_xids_do_not() -> None:
    (rule,) = [r for r in load_rules([default_rules_file()]) if r.name == "gpu-xid-hardware"]
    gpu = {"gpu": "0", "uuid": "GPU-5d1e", "name": "NVIDIA H100"}
    hardware = Series.of("gpu_xid_errors", {**gpu, "xid_class": "hardware"})
    application = Series.of("gpu_xid_errors", {**gpu, "xid_class": "application"})
    run = Run(rule)
    assert run.at(T0, {hardware: [Point(T0, 0)], application: [Point(T0, 3)]}) == []
    t1 = T0 + MIN
    (change,) = run.at(t1, {hardware: [Point(t1, 1)], application: [Point(t1, 3)]})
    assert change.status == "firing"  # at once: `for: 0s`
    assert change.labels["xid_class"] == "hardware"
    assert change.labels["uuid"] == "GPU-5d1e"
    verdict = classify([signal_from_alert(dict(change.labels), {}, change.value, None)])
    assert verdict.severity == "P2"
    assert verdict.reason == "P2: likely bad GPU: 1 hardware Xid error in the last hour on gpu 0"
    # An hour without another hardware Xid: the windowed count is back to 0 and it resolves.
    t2 = T0 + 61 * MIN
    (resolved,) = run.at(t2, {hardware: [Point(t2, 0)], application: [Point(t2, 0)]})
    assert resolved.status == "resolved"


def test_match_limits_a_rule_to_series_with_those_label_values() -> None:
    rule = make(match={"service": "payments"}, **{"for": "0s"})
    web = Series.of("error_rate", {"service": "web"})
    run = Run(rule)
    assert run.at(T0, {web: [Point(T0, 0.5)]}) == []
    (change,) = run.at(T0 + MIN, {PAY: [Point(T0 + MIN, 0.5)]})
    assert change.labels["service"] == "payments"
