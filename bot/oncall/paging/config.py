"""Reading the routing sections of ``vigil.yaml`` into a ``Routing`` (``routing.py``).

``groups``, ``escalation_policies``, the legacy ``escalation``, ``routes``, ``severity_paging``
and ``working_hours``: what they mean is in :mod:`bot.oncall.paging.routing`; this module only reads
them, refusing anything it cannot use with a ConfigError that names the exact key (a typo in
a route must fail ``vigil check``, not silently page nobody at 2 a.m.).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import NoReturn

from bot.core.durations import parse_duration
from bot.core.errors import ConfigError
from bot.incidents.severity import SEVERITIES
from bot.oncall.calendar import WorkingHours, parse_working_hours
from bot.oncall.paging.escalation import (
    ROTATION_PREFIX,
    SCHEDULE_PREFIX,
    EscalationPolicy,
    is_person,
)
from bot.oncall.paging.policy_config import policy_from
from bot.oncall.paging.routing import (
    ACTIONS,
    DEFAULT_POLICY,
    DEFAULT_SEVERITY_PAGING,
    GROUP_PREFIX,
    MATCH_KEYS,
    POST_ONLY,
    Route,
    Routing,
    SeverityPaging,
)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


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
        policies[name] = policy_from(body, name=name, where=where, key=key, refs=refs)
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
        policies[DEFAULT_POLICY] = policy_from(
            body, name=DEFAULT_POLICY, where=where, key="escalation", refs=refs
        )
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
            actions: dict[str, SeverityPaging] = {
                s: SeverityPaging("page" if s in pages else "post") for s in SEVERITIES
            }
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
            if action not in ACTIONS:
                self.fail(f"{key}.action", f"must be one of {', '.join(ACTIONS)}, not {action!r}")
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
            match = self.mapping(spec.get("match", {}), f"{key}.match", MATCH_KEYS)
            values = {k: self.values(match.get(k), f"{key}.match.{k}") for k in MATCH_KEYS}
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
