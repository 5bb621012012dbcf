"""The bundled dependency rule: its alert names the dependency and why, one per dependency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.incidents.intake.fingerprint import group_key
from bot.rules import Point, Series, default_rules_file, evaluate, load_rules, to_alert_in
from bot.rules.alerts import fill_title

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
DETAIL = "connection refused (http://features.internal/health); check feature-store, …"


def series(name: str) -> Series:
    return Series.of("dependency_up", {"dependency": name, "service": name})


def test_two_dependencies_down_fire_two_alerts_that_name_them_and_group_apart() -> None:
    rules = [r for r in load_rules([default_rules_file()]) if r.name == "dependency-degraded"]
    down = {
        series(name): [Point(T0 + timedelta(minutes=m), 0.0, {"detail": DETAIL}) for m in (0, 2)]
        for name in ("feature-store", "vector-db")
    }
    _, changes = evaluate(rules, down, None, T0 + timedelta(minutes=2), models={}, services={})
    alerts = sorted((to_alert_in(c, T0) for c in changes), key=lambda a: a.title)
    assert [a.title for a in alerts] == [
        f"feature-store is down — {DETAIL}",
        f"vector-db is down — {DETAIL}",
    ]
    assert len({group_key(a.labels) for a in alerts}) == 2


def test_a_title_names_labels_and_keeps_an_unknown_one_visible() -> None:
    assert fill_title("{dependency} is down", {"dependency": "feature-store"}) == (
        "feature-store is down"
    )
    assert fill_title("{dependncy} is down", {"dependency": "x"}) == "{dependncy} is down"
    assert fill_title("error rate", {"service": "payments"}) == "error rate"


def test_the_all_clear_says_the_dependency_is_back_up() -> None:
    # It said "no longer: feature-store is down".
    rules = [r for r in load_rules([default_rules_file()]) if r.name == "dependency-degraded"]
    fs = series("feature-store")
    down = {fs: [Point(T0 + timedelta(minutes=m), 0.0, {"detail": DETAIL}) for m in (0, 2)]}
    state, _ = evaluate(rules, down, None, T0 + timedelta(minutes=2), models={}, services={})
    back = {fs: [Point(T0 + timedelta(minutes=3), 1.0)]}
    _, changes = evaluate(rules, back, state, T0 + timedelta(minutes=3), models={}, services={})
    [cleared] = changes
    assert (cleared.status, cleared.summary) == ("resolved", "feature-store is back up")
