"""Inhibition rules: Alertmanager's semantics, strict about ``equal`` by default.

The non-strict semantics are compared with a real Alertmanager in
tests/integration/test_matchers_vs_alertmanager.py.
"""

from __future__ import annotations

from bot.incidents.intake.fingerprint import fingerprint
from bot.silences.inhibit import (
    DEFAULT_RULES,
    Inhibition,
    InhibitRule,
    SourceAlert,
    inhibition_words,
    inhibitor,
)
from bot.silences.matchers import parse_matchers

DB_RULE = InhibitRule(
    "db-down",
    parse_matchers(['alertname="DatabaseDown"']),
    parse_matchers(['alertname="HighLatency"']),
    ("cluster",),
)


def source(
    labels: dict[str, str], *, incident: int | None = None, sev: str | None = None
) -> SourceAlert:
    return SourceAlert(labels, fingerprint(labels), incident, sev)


def test_a_source_mutes_a_target_that_agrees_on_the_equal_labels() -> None:
    db = source({"alertname": "DatabaseDown", "cluster": "eu"}, incident=7, sev="P2")
    found = inhibitor([DB_RULE], {"alertname": "HighLatency", "cluster": "eu"}, [db])
    assert found == Inhibition("db-down", db.fingerprint, 7, "P2", (("cluster", "eu"),))
    assert inhibitor([DB_RULE], {"alertname": "HighLatency", "cluster": "us"}, [db]) is None
    assert inhibitor([DB_RULE], {"alertname": "Other", "cluster": "eu"}, [db]) is None


def test_strict_a_label_missing_on_both_alerts_is_not_equal() -> None:
    db = source({"alertname": "DatabaseDown"})
    target = {"alertname": "HighLatency"}
    assert inhibitor([DB_RULE], target, [db]) is None
    assert inhibitor([DB_RULE], {**target, "cluster": ""}, [db]) is None  # empty = missing


def test_non_strict_counts_missing_on_both_as_equal_like_alertmanager() -> None:
    loose = InhibitRule(DB_RULE.name, DB_RULE.source, DB_RULE.target, DB_RULE.equal, strict=False)
    db = source({"alertname": "DatabaseDown"})
    found = inhibitor([loose], {"alertname": "HighLatency"}, [db])
    assert found is not None
    assert found.fingerprint == db.fingerprint
    # present on one side only is unequal either way
    assert inhibitor([loose], {"alertname": "HighLatency", "cluster": "eu"}, [db]) is None


def test_an_alert_never_inhibits_itself() -> None:
    rule = InhibitRule(
        "any-crit",
        parse_matchers(['severity="critical"']),
        parse_matchers(['service="db"']),
        ("service",),
    )
    me = {"alertname": "Down", "severity": "critical", "service": "db"}
    assert inhibitor([rule], me, [source(me)]) is None
    other = source({"alertname": "Other", "severity": "critical", "service": "db"})
    # both match source and target: Alertmanager's two-sided rule, neither mutes the other
    assert inhibitor([rule], me, [source(me), other]) is None
    plain = source({"alertname": "Plain", "severity": "critical", "service": "db"})
    assert inhibitor([rule], {"alertname": "Warn", "service": "db"}, [plain]) is not None


def test_the_default_rule_a_p1_mutes_its_services_non_critical_alerts() -> None:
    p1 = source(
        {"alertname": "ErrorRate", "service": "payments", "severity": "critical"},
        incident=12,
        sev="P1",
    )
    symptom = {"alertname": "QueueDepth", "service": "payments", "severity": "warning"}
    found = inhibitor(DEFAULT_RULES, symptom, [p1])
    assert found is not None
    assert (
        inhibition_words(found)
        == "inhibited by #12 (P1 on service payments, rule p1-mutes-symptoms)"
    )
    assert (
        inhibitor(DEFAULT_RULES, {**symptom, "severity": "critical"}, [p1]) is None
    )  # still pages
    assert inhibitor(DEFAULT_RULES, {**symptom, "severity": "page"}, [p1]) is None
    assert inhibitor(DEFAULT_RULES, {**symptom, "service": "search"}, [p1]) is None
    p2 = source(dict(p1.labels), incident=13, sev="P2")
    assert inhibitor(DEFAULT_RULES, symptom, [p2]) is None  # only a P1 mutes
    assert inhibitor(DEFAULT_RULES, symptom, [source(dict(p1.labels))]) is None  # no incident yet


def test_the_default_rule_is_strict_about_a_missing_service() -> None:
    p1 = source({"alertname": "ErrorRate", "severity": "critical"}, incident=12, sev="P1")
    assert inhibitor(DEFAULT_RULES, {"alertname": "Disk", "severity": "warning"}, [p1]) is None


def test_alerts_of_one_p1_incident_do_not_mute_each_other() -> None:
    a = source(
        {"alertname": "ErrorRate", "service": "payments", "severity": "warning"},
        incident=3,
        sev="P1",
    )
    b = source(
        {"alertname": "Latency", "service": "payments", "severity": "warning"}, incident=3, sev="P1"
    )
    assert inhibitor(DEFAULT_RULES, dict(a.labels), [a, b], target_severity="P1") is None
    crit = source(
        {"alertname": "Down", "service": "payments", "severity": "critical"}, incident=3, sev="P1"
    )
    found = inhibitor(DEFAULT_RULES, dict(a.labels), [a, b, crit], target_severity="P1")
    assert found is not None
    assert found.fingerprint == crit.fingerprint


def test_the_first_rule_and_source_in_order_win() -> None:
    first = InhibitRule("first", DB_RULE.source, DB_RULE.target, ())
    db1 = source({"alertname": "DatabaseDown", "cluster": "eu"}, incident=1)
    db2 = source({"alertname": "DatabaseDown", "cluster": "us"}, incident=2)
    found = inhibitor([first, DB_RULE], {"alertname": "HighLatency", "cluster": "us"}, [db1, db2])
    assert found is not None
    assert (found.rule, found.incident_id) == ("first", 1)


def test_words_without_an_incident_or_equal_labels() -> None:
    assert inhibition_words(Inhibition("r", "00ff00ff00ff00ff", None, None)) == (
        "inhibited by alert 00ff00ff00ff00ff (rule r)"
    )
    assert inhibition_words(Inhibition("r", "x", 4, None, (("cluster", "eu"),))) == (
        "inhibited by #4 (on cluster eu, rule r)"
    )
    assert inhibition_words(Inhibition("r", "x", 4, "P2", (("a", "1"), ("b", "2")))) == (
        "inhibited by #4 (P2 on a 1, b 2, rule r)"
    )
