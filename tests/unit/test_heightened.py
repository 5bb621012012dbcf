"""The watch after a fix, pure: tightening, normal, the words, the section, the evaluator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.errors import ConfigError
from bot.incidents.quiet import relapse_of, relapse_words
from bot.rules import EvalState, Point, Rule, Series, evaluate, parse_rules
from bot.rules.alerts import AlertChange
from bot.rules.heightened.config import OFF, Sensitivity, parse_sensitivity
from bot.rules.heightened.tighten import (
    Heightening,
    listed_form,
    median_before,
    tighten,
    watch_words,
    watches_of,
    watching_words,
)

T0 = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)  # a Saturday
MIN = timedelta(minutes=1)
FRAUD = {"model": "fraud-scorer"}


def make(**over: Any) -> Rule:
    base: dict[str, Any] = {
        "name": "accuracy-below-sla",
        "title": "Accuracy",
        "metric": "accuracy",
        "op": "<",
        "threshold": 0.90,
        "for": "5m",
        "unit": "ratio",
        "labels": {"alertname": "AccuracyBelowSLA", "signal": "accuracy", "severity": "critical"},
    }
    return parse_rules([("rules/test.yaml", {"rules": [{**base, **over}]})])[0]


def watch(rule: Rule, normal: float | None = 0.94, **over: Any) -> Heightening:
    values: dict[str, Any] = {
        "rule": rule.name,
        "labels": {**FRAUD, **rule.labels},
        "incident_id": 12,
        "resolved_at": T0 - timedelta(hours=3),
        "until": T0 + timedelta(hours=24),
        "normal": normal,
        "for_factor": 0.5,
        "threshold_fraction": 0.25,
    }
    return Heightening(**(values | over))


# --------------------------------------------------------------------------- tightening


def test_a_threshold_moves_a_quarter_of_the_way_toward_normal_and_for_halves() -> None:
    rule = make()
    tight = tighten(rule, watch(rule))
    assert tight.for_ == timedelta(minutes=2, seconds=30)
    assert tight.threshold == pytest.approx(0.91)
    assert tight.name == rule.name


def test_above_rules_move_down_toward_a_lower_normal() -> None:
    rule = make(name="error-rate-high", metric="error_rate", op=">", threshold=0.01)
    assert tighten(rule, watch(rule, normal=0.002)).threshold == pytest.approx(0.008)


def test_for_factor_zero_fires_at_once() -> None:
    rule = make()
    assert tighten(rule, watch(rule, for_factor=0.0)).for_ == timedelta(0)


def test_without_a_normal_only_for_is_shortened_and_the_words_say_so() -> None:
    rule = make()
    h = watch(rule, normal=None)
    assert tighten(rule, h).threshold == 0.90
    words = watch_words(rule, h, 0.90)
    assert "fires after 2m30s (normally 5m), below 90% as before (no normal known" in words


def test_a_normal_past_the_threshold_is_no_normal() -> None:
    rule = make()
    assert tighten(rule, watch(rule, normal=0.85)).threshold == 0.90


def test_baselines_move_k_toward_zero_and_absence_rules_are_unchanged() -> None:
    base = make(name="rps-odd", kind="baseline", op=">", threshold=3.5, unit="rps")
    assert tighten(base, watch(base, normal=None)).threshold == pytest.approx(2.625)
    absent = make(name="gone", kind="absent", threshold=None, op=">")
    same = tighten(absent, watch(absent))
    assert (same.for_, same.threshold) == (absent.for_, None)
    assert "unchanged (an absence rule" in watch_words(absent, watch(absent), None)


def test_the_words_of_the_brief() -> None:
    rule = make()
    words = watch_words(rule, watch(rule, until=datetime(2026, 12, 6, 14, 0, tzinfo=UTC)), 0.90)
    assert words == (
        "accuracy-below-sla on model fraud-scorer: fires after 2m30s (normally 5m) "
        "below 91% (normally 90%), until Sun 6 Dec 14:00 UTC"
    )
    line = watching_words(timedelta(hours=24), [words])
    assert line.startswith("Watching closely for 24 h: accuracy-below-sla on model")


def test_median_of_the_hour_before_the_condition_began() -> None:
    points = [Point(T0 - i * MIN, 0.9 + i / 1000) for i in range(1, 90)]
    # the hour before T0: 0.901 … 0.960; minutes 61..89 are older and left out
    assert median_before(points, T0) == pytest.approx(0.9305)
    assert median_before(points[:2], T0) is None  # fewer than three values: no normal


def test_watches_of_a_resolved_incident_come_from_its_rule_alerts() -> None:
    rule_alert = (
        "vigil-rules",
        {"model": "fraud-scorer", "alertname": "A"},
        {"rule": "r", "normal": "0.94"},
    )
    absent = ("vigil-rules", {"alertname": "DataAbsent"}, {"rule": "r"})
    outside = ("alertmanager", {"alertname": "B"}, {"rule": "x"})
    resolved = T0
    [h] = watches_of(12, "P2", resolved, [rule_alert, rule_alert, absent, outside], Sensitivity())
    assert (h.rule, h.incident_id, h.normal, h.until) == ("r", 12, 0.94, T0 + timedelta(hours=24))
    assert watches_of(12, "P3", resolved, [rule_alert], Sensitivity()) == []  # P3: no watch
    assert watches_of(12, "P1", resolved, [rule_alert], OFF) == []


def test_relapse_words() -> None:
    words = relapse_words(12, T0 - timedelta(hours=3), T0)
    assert words == "Relapse of #12 (resolved 3 h ago; watched closely since)"
    assert relapse_of({"relapse_of": "12", "watched_since": T0.isoformat()}) == (12, T0)
    assert relapse_of({"rule": "x"}) is None


def test_listed_form() -> None:
    rule = make()
    assert listed_form(rule, Sensitivity()) == (
        "watched 24h after P1/P2: for 2m30s, threshold 25% toward normal"
    )
    assert listed_form(rule, OFF) == "after a fix: not watched (sensitivity: off)"


# --------------------------------------------------------------------------- the section


def test_the_section_defaults_and_overrides() -> None:
    assert parse_sensitivity(None, "vigil.yaml") == Sensitivity()
    got = parse_sensitivity({"p3": "2h", "P1": "off", "for_factor": 0}, "vigil.yaml")
    assert got.period("P1") is None
    assert got.period("P2") == timedelta(hours=24)
    assert got.period("P3") == timedelta(hours=2)
    assert got.for_factor == 0.0
    assert parse_sensitivity("off", "vigil.yaml").longest is None


@pytest.mark.parametrize(
    ("raw", "key", "words"),
    [
        ({"for_factor": 1.5}, "sensitivity.for_factor", "must be from 0 to 1"),
        ({"for_factor": "half"}, "sensitivity.for_factor", "must be a number"),
        ({"threshold_fraction": 1}, "sensitivity.threshold_fraction", "not including"),
        ({"P2": "soon"}, "sensitivity.P2", "is not a duration"),
        ({"P1": "0s"}, "sensitivity.P1", "longer than 0s"),
        ({"P1": "90d"}, "sensitivity.P1", "at most 30d"),
        ({"P5": "1h"}, "sensitivity", "unknown key"),
        ([1], "sensitivity", "must be off, or a mapping"),
    ],
)
def test_mistakes_name_the_key(raw: object, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_sensitivity(raw, "vigil.yaml")
    assert caught.value.key is not None
    assert caught.value.key.startswith(key), caught.value
    assert words in str(caught.value)


# --------------------------------------------------------------------------- the evaluator


class Run:
    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.state: EvalState | None = None

    def at(self, now: datetime, value: float, **kw: Any) -> list[AlertChange]:
        series = Series.of(self.rule.metric, FRAUD)
        self.state, changes = evaluate(
            [self.rule], {series: [Point(now, value)]}, self.state, now, **kw
        )
        return changes


def test_a_firing_alert_carries_the_normal_of_the_hour_before() -> None:
    run = Run(make())
    for i in range(10):
        assert run.at(T0 + i * MIN, 0.94 + (i % 3) / 100) == []
    start = T0 + 10 * MIN
    changes = [c for i in range(6) for c in run.at(start + i * MIN, 0.80)]
    [fired] = changes
    assert fired.status == "firing"
    assert float(fired.annotations["normal"]) == pytest.approx(0.95)
    assert "relapse_of" not in fired.annotations


def test_a_watched_subject_fires_sooner_past_the_tightened_threshold() -> None:
    rule = make()
    h = watch(rule, normal=0.94)
    watched = {h.key: h}
    run = Run(rule)
    # 0.905 is fine for the usual rule (< 0.90) but below the tightened 0.91
    assert run.at(T0, 0.905, heightened=watched) == []
    assert run.at(T0 + 2 * MIN, 0.905, heightened=watched) == []
    [fired] = run.at(T0 + 2 * MIN + 30 * timedelta(seconds=1), 0.905, heightened=watched)
    assert fired.annotations["relapse_of"] == "12"
    assert float(fired.annotations["threshold"]) == pytest.approx(0.91)
    assert float(fired.annotations["usual_threshold"]) == pytest.approx(0.90)
    assert "for 2m30s" in fired.summary

    # Once the watch is over the usual rule judges it again: 0.905 clears the band.
    later = Run(rule)
    for i in range(8):
        assert later.at(T0 + i * MIN, 0.905) == []


def test_another_subject_is_judged_as_usual() -> None:
    rule = make()
    h = watch(rule, labels={"model": "other", **rule.labels})
    run = Run(rule)
    for i in range(4):
        assert run.at(T0 + i * MIN, 0.905, heightened={h.key: h}) == []
