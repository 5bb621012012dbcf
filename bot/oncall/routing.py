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
``due`` and ``describe`` work on routed policies as they are. ``escalation.parse_policy`` is
not called: its target check refuses ``schedule:`` and ``group:``, so the parser here keeps
its keys and messages with a wider check (and also reads the legacy section with it).
Group members are expanded at page time (:func:`expand_groups`), so ``describe`` still says
``group:ml-leads`` and a change of membership needs no new policy.
``working_hours`` is read by :mod:`bot.oncall.calendar`, which the SLA clock shares.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import Literal, NoReturn

from bot.errors import ConfigError
from bot.oncall.calendar import WorkingHours, parse_working_hours
from bot.oncall.escalation import (
    ROTATION_PREFIX,
    SCHEDULE_PREFIX,
    EscalationPolicy,
    Level,
    format_duration,
    is_person,
    parse_duration,
    target_problem,
)

SEVERITIES = ("P1", "P2", "P3", "P4")
GROUP_PREFIX = "group:"
DEFAULT_POLICY = "default"
POST_ONLY = "none"  # ``policy: none`` on a route: post to the channel, page nobody
Action = Literal["page", "page_in_working_hours", "post"]
_ACTIONS: tuple[Action, ...] = ("page", "page_in_working_hours", "post")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_MATCH_KEYS = ("severity", "service", "model")


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
                _MATCH_KEYS, (self.severity, self.service, self.model), strict=True
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
    route = next((r for r in routing.routes if r.matches(sev, labels)), None)
    if route is not None:
        name, where = route.policy, route.describe()
    else:
        name = DEFAULT_POLICY if DEFAULT_POLICY in routing.policies else None
        where = "no route matched" if routing.routes else ""
    if name is None:
        if route is not None:
            why = f"{where} says post only"
        elif routing.policies:
            why = "no route matches and there is no policy named default"
        else:
            why = "no escalation policy is configured"
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
            f"(in {_span(at - now)}) unless someone acknowledges first."
        )
        return Decision("page_later", sev, policy, at, where, reason)
    via = f" ({where})" if where else ""
    return Decision("page", sev, policy, now, where, f"{sev} pages now: policy {name}{via}{cap}.")


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
        lines.append(f"otherwise → {DEFAULT_POLICY}")
    return lines


def _capped(policy: EscalationPolicy, cap: timedelta | None) -> EscalationPolicy:
    if cap is None:
        return policy
    return replace(
        policy, levels=tuple(replace(lv, wait=min(lv.wait, cap)) for lv in policy.levels)
    )


def _span(delta: timedelta) -> str:
    days, rest = divmod(delta, timedelta(days=1))
    return f"{days} d {format_duration(rest)}" if days else format_duration(rest)


# -- parsing --------------------------------------------------------------------------


def parse_routing(
    raw: Mapping[str, object],
    *,
    where: str,
    schedules: AbstractSet[str] = frozenset(),
    rotations: AbstractSet[str] = frozenset(),
) -> Routing:
    """Read ``groups``, ``escalation_policies``, ``escalation`` (legacy), ``routes``,
    ``severity_paging`` and ``working_hours`` from the top-level config mapping.

    ``schedules`` and ``rotations`` are the names a ``schedule:NAME`` / ``rotation:NAME``
    target may use; any other reference is a ConfigError naming the exact key.
    """
    p = _Parser(where)
    groups = p.groups(raw.get("groups"))
    hours = raw.get("working_hours")
    # In this order in messages: '@person', 'schedule:NAME', 'group:NAME' or 'rotation:NAME'.
    refs = {SCHEDULE_PREFIX: schedules, GROUP_PREFIX: groups.keys(), ROTATION_PREFIX: rotations}
    policies: dict[str, EscalationPolicy] = {}
    named = p.mapping(raw.get("escalation_policies") or {}, "escalation_policies")
    for name, body in named.items():
        key = f"escalation_policies.{name}"
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name == POST_ONLY:
            p.fail(key, f"bad policy name {name!r}")
        policies[name] = p.policy(name, body, refs, key)
    legacy: object = None
    if raw.get("escalation") is not None:
        spec = p.mapping(raw["escalation"], "escalation")
        legacy = spec.get("severities")
        if DEFAULT_POLICY in policies:
            p.fail(
                f"escalation_policies.{DEFAULT_POLICY}",
                "`escalation:` is already the policy named default; rename this one",
            )
        body = {k: v for k, v in spec.items() if k not in ("severities", "name")}
        policies[DEFAULT_POLICY] = p.policy(DEFAULT_POLICY, body, refs, "escalation")
    severities = p.severities(raw.get("severity_paging"), legacy)
    routes = p.routes(raw.get("routes"), policies)
    if policies and not routes and DEFAULT_POLICY not in policies:
        p.fail(
            "routes",
            f"missing: nothing says which policy pages; add routes (e.g. - {{policy: "
            f"{next(iter(policies))}}}) or name a policy default",
        )
    return Routing(
        MappingProxyType(policies),
        MappingProxyType(groups),
        routes,
        severities,
        WorkingHours() if hours is None else parse_working_hours(hours, where=where),
    )


@dataclass(frozen=True)
class _Parser:
    """The ``where`` every ConfigError needs, held once so each check reads as one line."""

    where: str

    def fail(self, key: str, message: str) -> NoReturn:
        raise ConfigError(message, where=self.where, key=key)

    def mapping(
        self, raw: object, key: str, known: tuple[str, ...] | None = None
    ) -> dict[object, object]:
        if not isinstance(raw, dict):
            fields = f" with {', '.join(known)}" if known else ""
            self.fail(key, f"must be a mapping{fields}")
        for name in raw:
            if known is not None and name not in known:
                self.fail(f"{key}.{name}", f"unknown key (allowed: {', '.join(sorted(known))})")
        return raw

    def groups(self, raw: object) -> dict[str, tuple[str, ...]]:
        groups: dict[str, tuple[str, ...]] = {}
        for name, members in self.mapping(raw or {}, "groups").items():
            key = f"groups.{name}"
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                self.fail(key, f"bad group name {name!r}")
            if not isinstance(members, list) or not members:
                self.fail(key, "must list at least one '@person'")
            for j, member in enumerate(members):
                if not isinstance(member, str) or not is_person(member):
                    self.fail(f"{key}[{j}]", f"must be '@person' or <@U123>, not {member!r}")
                if member in members[:j]:
                    self.fail(f"{key}[{j}]", f"{member} is listed twice")
            groups[name] = tuple(members)
        return groups

    def policy(
        self, name: str, raw: object, refs: Mapping[str, AbstractSet[str]], key: str
    ) -> EscalationPolicy:
        """Same keys and messages as ``escalation.parse_policy``, wider targets."""
        spec = self.mapping(raw, key, ("levels", "repeat"))
        levels_raw = spec.get("levels")
        if not isinstance(levels_raw, list) or not levels_raw:
            self.fail(f"{key}.levels", "needs at least one level")
        levels = tuple(
            self.level(item, refs, f"{key}.levels[{i}]") for i, item in enumerate(levels_raw)
        )
        repeat = spec.get("repeat", 0)
        if isinstance(repeat, bool) or not isinstance(repeat, int) or not 0 <= repeat <= 10:
            self.fail(f"{key}.repeat", f"must be a whole number from 0 to 10, not {repeat!r}")
        policy = EscalationPolicy(name, levels, repeat)
        if repeat and not policy.round_length:
            self.fail(
                f"{key}.repeat",
                "repeating needs at least one level with a wait, or every round pages at once",
            )
        return policy

    def level(self, raw: object, refs: Mapping[str, AbstractSet[str]], key: str) -> Level:
        for word in ("after", "delay"):
            if isinstance(raw, dict) and word in raw:
                self.fail(
                    f"{key}.{word}",
                    f"unknown key '{word}'; use 'wait': how long to wait for an ack after "
                    "paging this level before paging the next",
                )
        spec = self.mapping(raw, key, ("notify", "wait"))
        notify = spec.get("notify")
        notify = [notify] if isinstance(notify, str) else notify
        if not isinstance(notify, list) or not notify:
            self.fail(f"{key}.notify", "must list at least one target")
        for j, target in enumerate(notify):
            problem = target_problem(target, refs)
            if not problem and target in notify[:j]:
                problem = f"{target} is listed twice"
            if problem:
                self.fail(f"{key}.notify[{j}]", problem)
        if "wait" not in spec:
            self.fail(
                f"{key}.wait",
                "missing: how long to wait for an ack before the next level (e.g. 10m)",
            )
        return Level(tuple(notify), self.duration(spec["wait"], f"{key}.wait"))

    def duration(self, raw: object, key: str) -> timedelta:
        try:
            return parse_duration(raw)
        except ValueError as exc:
            self.fail(key, str(exc))

    def severities(self, raw: object, legacy: object) -> Mapping[str, SeverityPaging]:
        if legacy is not None:
            key = "escalation.severities"
            if raw is not None:
                self.fail(key, "say which severities page in one place: severity_paging")
            if not isinstance(legacy, list) or not all(
                isinstance(v, str) and v.upper() in SEVERITIES for v in legacy
            ):
                self.fail(key, "must be a list of severities that page, e.g. [P1, P2]")
            pages = {v.upper() for v in legacy}
            actions = {s: SeverityPaging("page" if s in pages else "post") for s in SEVERITIES}
            return MappingProxyType(actions)
        if raw is None:
            return DEFAULT_SEVERITY_PAGING
        out = dict(DEFAULT_SEVERITY_PAGING)
        for sev, body in self.mapping(raw, "severity_paging").items():
            key = f"severity_paging.{sev}"
            if not isinstance(sev, str) or sev.upper() not in SEVERITIES:
                self.fail(key, "unknown severity (P1, P2, P3 or P4)")
            spec = self.mapping(body, key, ("action", "max_wait"))
            action = spec.get("action")
            if action not in _ACTIONS:
                self.fail(f"{key}.action", f"must be one of {', '.join(_ACTIONS)}, not {action!r}")
            max_wait = None
            if spec.get("max_wait") is not None:
                max_wait = self.duration(spec["max_wait"], f"{key}.max_wait")
                if max_wait < timedelta(minutes=1):
                    self.fail(f"{key}.max_wait", "must be at least 1m")
            out[sev.upper()] = SeverityPaging(action, max_wait)
        return MappingProxyType(out)

    def routes(self, raw: object, policies: Mapping[str, EscalationPolicy]) -> tuple[Route, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.fail("routes", "must be a list of {match, policy}")
        routes: list[Route] = []
        for i, item in enumerate(raw):
            key = f"routes[{i}]"
            spec = self.mapping(item, key, ("match", "policy"))
            policy = spec.get("policy")
            if not isinstance(policy, str) or (policy != POST_ONLY and policy not in policies):
                known = ", ".join([*sorted(policies), POST_ONLY])
                self.fail(f"{key}.policy", f"must name a policy (known: {known}), not {policy!r}")
            match = self.mapping(spec.get("match", {}), f"{key}.match", _MATCH_KEYS)
            values = {k: self.values(match.get(k), f"{key}.match.{k}") for k in _MATCH_KEYS}
            bad = [v for v in values["severity"] if v.upper() not in SEVERITIES]
            if bad:
                self.fail(f"{key}.match.severity", f"unknown severity {bad[0]!r}")
            if routes and routes[-1].catch_all:
                self.fail(key, f"never used: {routes[-1].describe()} above matches everything")
            severity = tuple(v.upper() for v in values["severity"])
            target = None if policy == POST_ONLY else policy
            routes.append(Route(i, target, severity, values["service"], values["model"]))
        return tuple(routes)

    def values(self, raw: object, key: str) -> tuple[str, ...]:
        if raw is None:
            return ()
        items = [raw] if isinstance(raw, str) else raw
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(v, str) and v for v in items)
        ):
            self.fail(key, "must be a value or a list of values (globs like api-*)")
        return tuple(items)
