"""Routing: severity behaviour, first-match routes, P3 outside working hours, parse errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core.errors import ConfigError
from bot.oncall.paging.config import parse_routing
from bot.oncall.paging.escalation import EscalationPolicy, Level, plan
from bot.oncall.paging.policy_config import parse_policy
from bot.oncall.paging.routing import Routing, decide, describe_routing, expand_groups, policy_for

MIN = timedelta(minutes=1)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOURS = {"days": "mon-fri", "from": "09:00", "to": "18:00", "tz": "Europe/Berlin"}
LEGACY = {
    "levels": [
        {"notify": ["@alice"], "wait": "10m"},
        {"notify": ["rotation:ml-oncall"], "wait": "30m"},
    ],
    "repeat": 1,
}
# 2026-03-25 is a Wednesday; Berlin is on CET (UTC+1) until Sunday 29 March.
WED_NOON = datetime(2026, 3, 25, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
SAT_NOON = datetime(2026, 3, 28, 11, 0, tzinfo=UTC)


def routing(**raw: Any) -> Routing:
    raw.setdefault("working_hours", HOURS)
    return parse_routing(raw, where="vigil.yaml", schedules={"ml-oncall"}, rotations={"ml-oncall"})


def waits(policy: EscalationPolicy | None) -> list[timedelta]:
    assert policy is not None
    return [level.wait for level in policy.levels]


# -- severity behaviour ------------------------------------------------------------------


def test_default_severity_behaviour_with_the_legacy_section() -> None:
    r = routing(escalation=LEGACY)
    p1 = decide(r, "P1", {}, WED_NOON)
    assert (p1.outcome, p1.page_at) == ("page", WED_NOON)
    assert waits(p1.policy) == [5 * MIN, 5 * MIN]  # both capped at 5 min
    assert p1.reason == "P1 pages now: policy default; no level waits over 5 min."
    p2 = decide(r, "p2", {}, WED_NOON)  # severity is case-insensitive
    assert (p2.outcome, waits(p2.policy)) == ("page", [10 * MIN, 15 * MIN])
    p3 = decide(r, "P3", {}, WED_NOON)  # inside working hours: pages, the policy's own waits
    assert (p3.outcome, waits(p3.policy)) == ("page", [10 * MIN, 30 * MIN])
    p4 = decide(r, "P4", {}, WED_NOON)
    assert (p4.outcome, p4.policy, p4.page_at) == ("post", None, None)
    assert p4.reason == "P4 posts to the channel only; nobody is paged."


def test_routed_policy_still_plans_with_the_escalation_module() -> None:
    decision = decide(routing(escalation=LEGACY), "P1", {}, WED_NOON)
    assert decision.policy is not None
    steps = plan(decision.policy, WED_NOON)
    assert [(s.level, s.round, s.at - WED_NOON) for s in steps] == [
        (1, 1, 0 * MIN),
        (2, 1, 5 * MIN),
        (1, 2, 10 * MIN),
        (2, 2, 15 * MIN),
    ]


def test_p3_outside_working_hours_pages_at_the_next_start_across_dst() -> None:
    r = routing(escalation=LEGACY)
    later = decide(r, "P3", {"service": "api"}, SAT_NOON)
    # Monday 30 March 09:00 is CEST (UTC+2): 07:00 UTC, 1 d 20 h after Saturday 11:00 UTC.
    assert later.outcome == "page_later"
    assert later.page_at == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert later.reason == (
        "P3 pages in working hours (Mon-Fri 09:00-18:00 Europe/Berlin) and it is outside them "
        "now: posted to the channel; policy default pages at Mon 30 Mar 09:00 CEST "
        "(in 1 d 20 h) unless someone acknowledges first."
    )
    assert later.page_at is not None
    again = decide(r, "P3", {"service": "api"}, later.page_at)  # the timer's second look
    assert (again.outcome, again.page_at) == ("page", later.page_at)


def test_now_in_a_local_zone_gives_the_same_answer() -> None:
    r = routing(escalation=LEGACY)
    local = decide(r, "P3", {}, SAT_NOON.astimezone(BERLIN))
    assert local.page_at == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert "(in 1 d 20 h)" in local.reason  # real hours, not Berlin wall-clock hours


def test_legacy_severities_keep_their_old_meaning() -> None:
    r = routing(escalation={**LEGACY, "severities": ["P1", "P3"]})
    assert decide(r, "P3", {}, SAT_NOON).outcome == "page"  # listed: pages, even at weekends
    assert decide(r, "P2", {}, WED_NOON).outcome == "post"  # not listed: posts only
    assert waits(decide(r, "P1", {}, WED_NOON).policy) == [10 * MIN, 30 * MIN]  # no cap


def test_severity_paging_overrides_one_severity_and_keeps_the_others() -> None:
    r = routing(
        escalation=LEGACY,
        severity_paging={"P4": {"action": "page_in_working_hours"}, "p2": {"action": "post"}},
    )
    assert decide(r, "P4", {}, WED_NOON).outcome == "page"
    assert decide(r, "P2", {}, WED_NOON).outcome == "post"
    assert waits(decide(r, "P1", {}, WED_NOON).policy) == [5 * MIN, 5 * MIN]


def test_nothing_configured_pages_nobody() -> None:
    decision = decide(parse_routing({}, where="w"), "P1", {}, WED_NOON)
    assert decision.outcome == "post"
    assert decision.reason == "P1: no escalation policy is configured, so nobody is paged."


# -- routes --------------------------------------------------------------------------------

POLICIES = {
    "ml": {"levels": [{"notify": ["schedule:ml-oncall"], "wait": "10m"}]},
    "data": {"levels": [{"notify": ["group:data-leads", "@cto"], "wait": "20m"}], "repeat": 2},
    "api": {"levels": [{"notify": "@api-lead", "wait": "3m"}]},
}
ROUTES = [
    {"match": {"model": "fraud-scorer"}, "policy": "ml"},
    {"match": {"service": ["feature-store", "etl-*"], "severity": "P1"}, "policy": "data"},
    {"match": {"service": "staging-*"}, "policy": "none"},
    {"policy": "api"},
]


def routed(**extra: Any) -> Routing:
    return routing(
        groups={"data-leads": ["@dana", "<@U0123ABCD>"]},
        escalation_policies=POLICIES,
        routes=ROUTES,
        **extra,
    )


@pytest.mark.parametrize(
    ("severity", "labels", "policy", "route"),
    [
        (
            "P1",
            {"model": "fraud-scorer", "service": "etl-x"},
            "ml",
            "routes[0] (model=fraud-scorer)",
        ),
        (
            "P1",
            {"service": "etl-nightly"},
            "data",
            "routes[1] (severity=P1, service=feature-store|etl-*)",
        ),
        ("P2", {"service": "etl-nightly"}, "api", "routes[3] (catch-all)"),  # severity must match
        ("P2", {"service": "feature-store", "model": None}, "api", "routes[3] (catch-all)"),
        ("P1", {}, "api", "routes[3] (catch-all)"),
    ],
)
def test_first_matching_route_wins(
    severity: str, labels: dict[str, str | None], policy: str, route: str
) -> None:
    decision = decide(routed(), severity, labels, WED_NOON)
    assert decision.outcome == "page"
    assert decision.policy is not None
    assert decision.policy.name == policy
    assert decision.route == route


def test_route_to_none_posts_only() -> None:
    decision = decide(routed(), "P1", {"service": "staging-eu"}, WED_NOON)
    assert decision.outcome == "post"
    assert decision.reason == (
        "P1: routes[2] (service=staging-*) says post only, so nobody is paged."
    )


def test_no_route_matches_falls_back_to_default_or_posts() -> None:
    routes = [{"match": {"model": "fraud-scorer"}, "policy": "ml"}]
    with_default = routing(
        escalation=LEGACY, escalation_policies={"ml": POLICIES["ml"]}, routes=routes
    )
    fallback = decide(with_default, "P1", {"model": "ranker"}, WED_NOON)
    assert fallback.policy is not None
    assert (fallback.policy.name, fallback.route) == ("default", "no route matched")
    without = routing(escalation_policies={"ml": POLICIES["ml"]}, routes=routes)
    nothing = decide(without, "P1", {"model": "ranker"}, WED_NOON)
    assert nothing.outcome == "post"
    assert "no route matches and there is no policy named default" in nothing.reason


def test_named_policies_reuse_the_escalation_types() -> None:
    r = routed()
    assert r.policies["data"] == EscalationPolicy(
        "data", (Level(("group:data-leads", "@cto"), 20 * MIN),), repeat=2
    )
    legacy = routing(escalation=LEGACY).policies["default"]
    assert legacy == parse_policy(LEGACY, where="w", key="escalation.default")


def test_expand_groups_keeps_order_and_drops_repeats() -> None:
    groups = routed().groups
    assert expand_groups(("@cto", "group:data-leads", "@dana", "schedule:ml-oncall"), groups) == (
        "@cto",
        "@dana",
        "<@U0123ABCD>",
        "schedule:ml-oncall",
    )


def test_describe_routing() -> None:
    assert describe_routing(routed()) == [
        "P1 pages at once, no level waits over 5 min",
        "P2 pages at once, no level waits over 15 min",
        "P3 pages in working hours (Mon-Fri 09:00-18:00 Europe/Berlin)",
        "P4 posts to the channel only",
        "routes[0] (model=fraud-scorer) → ml",
        "routes[1] (severity=P1, service=feature-store|etl-*) → data",
        "routes[2] (service=staging-*) → post only",
        "routes[3] (catch-all) → api",
    ]


# -- parse errors name the exact key ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key", "message"),
    [
        (
            {
                "escalation_policies": {
                    "p": {"levels": [{"notify": "schedule:nope", "wait": "5m"}]}
                },
                "routes": [{"policy": "p"}],
            },
            "escalation_policies.p.levels[0].notify[0]",
            "schedule:nope names nothing under `schedules:` (known: ml-oncall)",
        ),
        (
            {
                "escalation_policies": {
                    "p": {"levels": [{"notify": ["@a", "group:leads"], "wait": "5m"}]}
                }
            },
            "escalation_policies.p.levels[0].notify[1]",
            "group:leads names nothing under `groups:` (known: none)",
        ),
        (
            {"escalation": {"levels": [{"notify": "rotation:web", "wait": "5m"}]}},
            "escalation.levels[0].notify[0]",
            "rotation:web names nothing under `rotations:`",
        ),
        (
            {"escalation": {"levels": [{"notify": ["@a", "@a"], "wait": "5m"}]}},
            "escalation.levels[0].notify[1]",
            "@a is listed twice",
        ),
        (
            {"escalation": {"levels": [{"notify": "bob", "wait": "5m"}]}},
            "escalation.levels[0].notify[0]",
            "must be '@person', 'schedule:NAME', 'group:NAME' or 'rotation:NAME'",
        ),
        (
            {"escalation": {"levels": [{"notify": "@a", "delay": "5m"}]}},
            "escalation.levels[0].delay",
            "use 'wait'",
        ),
        ({"escalation": {"levels": [{"notify": "@a"}]}}, "escalation.levels[0].wait", "missing"),
        (
            {"escalation": {"levels": [{"notify": "@a", "wait": 5}]}},
            "escalation.levels[0].wait",
            "unit",
        ),
        ({"escalation": {"levels": []}}, "escalation.levels", "at least one level"),
        (
            {"escalation": {**LEGACY, "repeat": 11}},
            "escalation.repeat",
            "from 0 to 10",
        ),
        (
            {"escalation_policies": {"default": LEGACY}, "escalation": LEGACY},
            "escalation_policies.default",
            "already the policy named default",
        ),
        ({"escalation_policies": {"ml": LEGACY}}, "routes", "nothing says which policy pages"),
        (
            {"escalation_policies": {"ml": LEGACY}, "routes": [{"policy": "web"}]},
            "routes[0].policy",
            "known: ml, none",
        ),
        (
            {"escalation_policies": {"ml": LEGACY}, "routes": [{"policy": "ml"}, {"policy": "ml"}]},
            "routes[1]",
            "never used: routes[0] (catch-all) above matches everything",
        ),
        (
            {
                "escalation_policies": {"ml": LEGACY},
                "routes": [{"match": {"team": "x"}, "policy": "ml"}],
            },
            "routes[0].match.team",
            "unknown key (allowed: model, service, severity)",
        ),
        (
            {
                "escalation_policies": {"ml": LEGACY},
                "routes": [{"match": {"severity": "P5"}, "policy": "ml"}],
            },
            "routes[0].match.severity",
            "unknown severity 'P5'",
        ),
        (
            {"severity_paging": {"P1": {"action": "call"}}},
            "severity_paging.P1.action",
            "must be one of page",
        ),
        (
            {"severity_paging": {"P1": {"action": "page", "max_wait": "30s"}}},
            "severity_paging.P1.max_wait",
            "at least 1m",
        ),
        ({"severity_paging": {"P7": {"action": "page"}}}, "severity_paging.P7", "unknown severity"),
        (
            {
                "severity_paging": {"P1": {"action": "page"}},
                "escalation": {**LEGACY, "severities": ["P1"]},
            },
            "escalation.severities",
            "in one place",
        ),
        (
            {"escalation": {**LEGACY, "severities": ["P9"]}},
            "escalation.severities",
            "e.g. [P1, P2]",
        ),
        ({"groups": {"leads": []}}, "groups.leads", "at least one '@person'"),
        ({"groups": {"leads": ["@a", "bob"]}}, "groups.leads[1]", "must be '@person'"),
        ({"working_hours": {"days": "mon-fri"}}, "working_hours.tz", "IANA time zone"),
    ],
)
def test_parse_errors_name_the_key(raw: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_routing(raw, where="vigil.yaml", schedules={"ml-oncall"}, rotations={"ml-oncall"})
    assert info.value.key == key
    assert info.value.where == "vigil.yaml"
    assert message in info.value.message


def test_policy_for_rebuilds_the_capped_policy_that_decide_handed_out() -> None:
    r = routing(escalation=LEGACY)
    decision = decide(r, "P1", {}, WED_NOON)
    assert policy_for(r, "default", "P1") == decision.policy
    assert waits(policy_for(r, "default", "P3")) == [10 * MIN, 30 * MIN]  # P3: no cap
    assert policy_for(r, "renamed-since", "P1") is None
