"""Which escalation policy pages for an incident, and whether it pages now, later or never.

Teams own different models and services, and a P4 at 3 a.m. must not wake anyone, so paging
is decided in two steps, both pure (``now`` comes in, nothing is read or sent):

1. **Severity** sets the behaviour (``severity_paging:``; the defaults are the product's):
   P1 pages at once and no level waits more than 5 min for an ack; P2 pages, 15 min; P3
   posts to the channel and pages only in working hours (outside them: at the next start);
   P4 posts only.
2. **Routes** pick the policy: the first route whose ``match`` fits the incident's severity
   and ``service``/``model`` labels wins; a route without ``match`` is the catch-all and
   must come last; with no match the policy named ``default`` pages, if there is one.

In ``vigil.yaml`` (every section optional; the old single ``escalation:`` section still works
and is the policy named ``default``, its ``severities: [P1, P2]`` meaning "these page at
once, the others post only")::

    groups:
      ml-leads: ["@maya", "@sam"]
    escalation_policies:
      ml:
        levels:
          - {notify: ["schedule:ml-oncall"], wait: 10m}   # wait = time to ack, then next level
          - {notify: ["group:ml-leads", "@cto"], wait: 15m}
        repeat: 2                                       # extra rounds from level 1
    routes:
      - {match: {model: fraud-scorer}, policy: ml}
      - {match: {service: "staging-*"}, policy: none}   # post only
      - {policy: ml}                                    # catch-all, last
    severity_paging:                                    # defaults shown
      P1: {action: page, max_wait: 5m}
      P2: {action: page, max_wait: 15m}
      P3: {action: page_in_working_hours}
      P4: {action: post}
    working_hours: {days: mon-fri, from: "09:00", to: "18:00", tz: Europe/Berlin,
                    holidays: [2026-12-25]}

``max_wait`` caps each level's wait rather than replacing it, so a policy written with 2 min
waits keeps them for a P1 while a 30 min level is shortened to 5. Once a P3 starts paging it
escalates as usual, past the end of working hours too: someone was asked, the question stays.

The policy types are ``escalation.Level``/``EscalationPolicy`` unchanged, so ``plan``,
``due`` and ``describe`` work on routed policies as they are. The sections are read by
:mod:`bot.oncall.paging.config` (``parse_routing``).
Group members are expanded at page time (:func:`expand_groups`), so ``describe`` still says
``group:ml-leads`` and a change of membership needs no new policy.
``working_hours`` is read by :mod:`bot.oncall.calendar`, which the SLA clock shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import Literal

from bot.core.durations import format_duration
from bot.incidents.severity import SEVERITIES
from bot.oncall.calendar import WorkingHours
from bot.oncall.paging.escalation import (
    EscalationPolicy,
)

GROUP_PREFIX = "group:"
DEFAULT_POLICY = "default"
POST_ONLY = "none"  # ``policy: none`` on a route: post to the channel, page nobody
Action = Literal["page", "page_in_working_hours", "post"]
ACTIONS: tuple[Action, ...] = ("page", "page_in_working_hours", "post")
MATCH_KEYS = ("severity", "service", "model")


@dataclass(frozen=True)
class SeverityPaging:
    """What one severity does: page now, page in working hours, or post only; ``max_wait``
    caps every level's wait (None: the policy's own waits)."""

    action: Action
    max_wait: timedelta | None = None


DEFAULT_SEVERITY_PAGING: Mapping[str, SeverityPaging] = MappingProxyType(
    {
        "P1": SeverityPaging("page", timedelta(minutes=5)),
        "P2": SeverityPaging("page", timedelta(minutes=15)),
        "P3": SeverityPaging("page_in_working_hours"),
        "P4": SeverityPaging("post"),
    }
)


@dataclass(frozen=True)
class Route:
    """One entry of ``routes:``; empty match tuples match anything. ``policy`` None: post only."""

    index: int
    policy: str | None
    severity: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    model: tuple[str, ...] = ()

    @property
    def catch_all(self) -> bool:
        return not (self.severity or self.service or self.model)

    def matches(self, severity: str, labels: Mapping[str, str | None]) -> bool:
        """Every given key must match; a value list is any-of, each a glob (``staging-*``)."""
        for patterns, value in (
            (self.severity, severity),
            (self.service, labels.get("service")),
            (self.model, labels.get("model")),
        ):
            if patterns and (value is None or not any(fnmatchcase(value, p) for p in patterns)):
                return False
        return True

    def describe(self) -> str:
        """``routes[0] (model=fraud-scorer)`` — the config key, so a reader can find it."""
        parts = [
            f"{name}={'|'.join(values)}"
            for name, values in zip(
                MATCH_KEYS, (self.severity, self.service, self.model), strict=True
            )
            if values
        ]
        return f"routes[{self.index}] ({', '.join(parts) or 'catch-all'})"


@dataclass(frozen=True)
class Routing:
    """Everything :func:`decide` needs; built by :func:`parse_routing` (an empty ``Routing``
    pages nobody: no policy is configured)."""

    policies: Mapping[str, EscalationPolicy] = field(default_factory=dict)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    severities: Mapping[str, SeverityPaging] = field(
        default_factory=lambda: DEFAULT_SEVERITY_PAGING
    )
    working_hours: WorkingHours = field(default_factory=WorkingHours)


Outcome = Literal["post", "page", "page_later"]


@dataclass(frozen=True)
class Decision:
    """What to do with an incident at ``now``.

    ``post``: the channel only. ``page``: start ``policy`` now (its waits already capped for
    the severity). ``page_later``: post now, start ``policy`` at ``page_at`` (the next
    working-hours start) unless it was acknowledged by then; at ``page_at`` the caller asks
    :func:`decide` again, which by then says ``page``. ``reason`` is for the timeline.
    """

    outcome: Outcome
    severity: str
    policy: EscalationPolicy | None = None
    page_at: datetime | None = None
    route: str = ""
    reason: str = ""


def decide(
    routing: Routing, severity: str, labels: Mapping[str, str | None], now: datetime
) -> Decision:
    """Post, page now or page at the next working-hours start, and with which policy.

    Times come back in UTC (``now`` may be in any zone): arithmetic between two datetimes of
    the same non-UTC zone is wall-clock in Python, which is wrong across a DST change.
    """
    now = now.astimezone(UTC)
    sev = severity.upper()
    rule = routing.severities.get(sev, SeverityPaging("post"))
    if rule.action == "post":
        return Decision("post", sev, reason=f"{sev} posts to the channel only; nobody is paged.")
    name, where, why = route_for(routing, sev, labels)
    if name is None:
        return Decision("post", sev, route=where, reason=f"{sev}: {why}, so nobody is paged.")
    policy = _capped(routing.policies[name], rule.max_wait)
    cap = f"; no level waits over {format_duration(rule.max_wait)}" if rule.max_wait else ""
    hours = routing.working_hours
    if rule.action == "page_in_working_hours" and not hours.contains(now):
        at = hours.opens_at(now)
        local = at.astimezone(hours.tz)
        reason = (
            f"{sev} pages in working hours ({hours.describe()}) and it is outside them now: "
            f"posted to the channel; policy {name} pages at {local:%a %d %b %H:%M %Z} "
            f"(in {format_duration(at - now, days=True)}) unless someone acknowledges first."
        )
        return Decision("page_later", sev, policy, at, where, reason)
    via = f" ({where})" if where else ""
    return Decision("page", sev, policy, now, where, f"{sev} pages now: policy {name}{via}{cap}.")


def route_for(
    routing: Routing, severity: str, labels: Mapping[str, str | None]
) -> tuple[str | None, str, str]:
    """The policy name that pages for these labels (None: post only), the route that said
    so (``routes[1] (model=fraud-*)``, or "" without routes), and, when None, why not.

    Whatever the severity's action: the Escalate button on a P4 still needs a policy."""
    sev = severity.upper()
    route = next((r for r in routing.routes if r.matches(sev, labels)), None)
    if route is not None:
        where = route.describe()
        return route.policy, where, "" if route.policy else f"{where} says post only"
    where = "no route matched" if routing.routes else ""
    if DEFAULT_POLICY in routing.policies:
        return DEFAULT_POLICY, where, ""
    if routing.policies:
        return None, where, "no route matches and there is no policy named default"
    return None, where, "no escalation policy is configured"


def policy_for(routing: Routing, name: str, severity: str) -> EscalationPolicy | None:
    """Policy ``name`` with ``severity``'s cap on its waits, exactly as :func:`decide` hands
    it out, so a timer that fires later rebuilds the plan it started with. None when the
    config no longer has it (the policy was renamed and the bot restarted)."""
    policy = routing.policies.get(name)
    if policy is None:
        return None
    rule = routing.severities.get(severity.upper())
    return _capped(policy, None if rule is None else rule.max_wait)


def expand_groups(
    targets: tuple[str, ...], groups: Mapping[str, tuple[str, ...]]
) -> tuple[str, ...]:
    """Replace each ``group:NAME`` with its members, keeping order and dropping repeats.

    ``schedule:``/``rotation:`` targets pass through for the roster to resolve at page time.
    KeyError for an unknown group (parsing refuses those, so only a stale config gets here).
    """
    out: dict[str, None] = {}
    for target in targets:
        if target.startswith(GROUP_PREFIX):
            out.update(dict.fromkeys(groups[target.removeprefix(GROUP_PREFIX)]))
        else:
            out[target] = None
    return tuple(out)


def describe_routing(routing: Routing) -> list[str]:
    """Lines for ``/incident oncall`` and ``vigil check``: what each severity does, and routes."""
    lines = []
    for sev in SEVERITIES:
        rule = routing.severities[sev]
        what = {
            "page": "pages at once",
            "page_in_working_hours": f"pages in working hours ({routing.working_hours.describe()})",
            "post": "posts to the channel only",
        }[rule.action]
        cap = f", no level waits over {format_duration(rule.max_wait)}" if rule.max_wait else ""
        lines.append(f"{sev} {what}{cap if rule.action != 'post' else ''}")
    lines.extend(f"{r.describe()} → {r.policy or 'post only'}" for r in routing.routes)
    if DEFAULT_POLICY in routing.policies:
        lines.append(f"otherwise → {DEFAULT_POLICY}" if routing.routes else "policy default pages")
    return lines


def _capped(policy: EscalationPolicy, cap: timedelta | None) -> EscalationPolicy:
    if cap is None:
        return policy
    return replace(
        policy, levels=tuple(replace(lv, wait=min(lv.wait, cap)) for lv in policy.levels)
    )
