"""Reading the routing sections of ``vigil.yaml`` into a ``Routing`` (``routing.py``). Pure.

``groups``, ``escalation_policies``, the legacy ``escalation``, ``routes``, ``severity_paging``
and ``working_hours``: what they mean is in :mod:`bot.oncall.paging.routing`; this module only
reads them, with pydantic models (:mod:`bot.config.model`; one policy is
:mod:`bot.oncall.paging.policy_config`), refusing anything it cannot use with a ConfigError
that names the exact key (a typo in a route must fail ``vigil check``, not silently page
nobody at 2 a.m.). ``groups`` is read first: a policy's ``group:NAME`` targets are checked
against it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from datetime import timedelta
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainValidator, model_validator

from bot.config.model import ConfigModel, problem, validate_section
from bot.core.durations import parse_duration
from bot.incidents.severity import SEVERITIES
from bot.oncall.calendar import WorkingHours, WorkingHoursSection
from bot.oncall.paging.escalation import (
    ROTATION_PREFIX,
    SCHEDULE_PREFIX,
    EscalationPolicy,
    is_person,
)
from bot.oncall.paging.policy_config import PolicySection
from bot.oncall.paging.routing import (
    ACTIONS,
    DEFAULT_POLICY,
    DEFAULT_SEVERITY_PAGING,
    GROUP_PREFIX,
    MATCH_KEYS,
    POST_ONLY,
    Action,
    Route,
    Routing,
    SeverityPaging,
)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_LEGACY = "escalation_severities"  # escalation.severities, set apart by RoutingSection


def _names(what: str, *, post_only: bool = False) -> BeforeValidator:
    """A mapping of names (empty when unset); a name that cannot be referred to is refused."""

    def check(raw: object) -> object:
        for name in raw if isinstance(raw, dict) else ():
            if (
                not isinstance(name, str)
                or not _NAME.fullmatch(name)
                or (post_only and name == POST_ONLY)
            ):
                raise problem(f"bad {what} name {name!r}", at=(str(name),))
        return raw or {}

    return BeforeValidator(check)


def _members(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise problem("must list at least one '@person'")
    for j, member in enumerate(raw):
        if not isinstance(member, str) or not is_person(member):
            raise problem(f"must be '@person' or <@U123>, not {member!r}", at=(j,))
        if member in raw[:j]:
            raise problem(f"{member} is listed twice", at=(j,))
    return tuple(raw)


class GroupsSection(ConfigModel):
    """``groups:`` (named lists of people a target may name as ``group:NAME``)."""

    groups: Annotated[
        dict[str, Annotated[tuple[str, ...], PlainValidator(_members)]], _names("group")
    ] = Field(default_factory=dict)


def _action(raw: object) -> Action:
    for action in ACTIONS:
        if raw == action:
            return action
    raise problem(f"must be one of {', '.join(ACTIONS)}, not {raw!r}")


def _max_wait(raw: object) -> timedelta | None:
    if raw is None:
        return None
    try:
        wait = parse_duration(raw)
    except ValueError as exc:
        raise problem(str(exc)) from None
    if wait < timedelta(minutes=1):
        raise problem("must be at least 1m")
    return wait


class SeverityPagingSection(ConfigModel):
    """One severity under ``severity_paging:``."""

    action: Annotated[Action, PlainValidator(_action)] = Field(None, validate_default=True)
    max_wait: Annotated[timedelta | None, PlainValidator(_max_wait)] = None

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, raw: object) -> object:
        if not isinstance(raw, dict):
            raise problem("must be a mapping with action, max_wait")
        return raw


def _severities(raw: object) -> object:
    for sev in raw if isinstance(raw, dict) else ():
        if not isinstance(sev, str) or sev.upper() not in SEVERITIES:
            raise problem("unknown severity (P1, P2, P3 or P4)", at=(str(sev),))
    return raw


def _values(raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and v for v in items):
        raise problem("must be a value or a list of values (globs like api-*)")
    return tuple(items)


def _severity_values(raw: object) -> tuple[str, ...]:
    values = _values(raw)
    bad = [v for v in values if v.upper() not in SEVERITIES]
    if bad:
        raise problem(f"unknown severity {bad[0]!r}")
    return tuple(v.upper() for v in values)


Values = Annotated[tuple[str, ...], PlainValidator(_values)]


class MatchSection(ConfigModel):
    """A route's ``match:``; a key left out matches anything. (Keys in alphabetical order:
    the unknown-key message lists them so.)"""

    model: Values = ()
    service: Values = ()
    severity: Annotated[tuple[str, ...], PlainValidator(_severity_values)] = ()

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, raw: object) -> object:
        if not isinstance(raw, dict):
            raise problem(f"must be a mapping with {', '.join(MATCH_KEYS)}")
        return raw


class RouteSection(ConfigModel):
    """One entry of ``routes:``; its ``policy`` is checked against the policies by
    :class:`RoutingSection`."""

    match: MatchSection = Field(default_factory=MatchSection)
    policy: Any = None

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, raw: object) -> object:
        if not isinstance(raw, dict):
            raise problem("must be a mapping with match, policy")
        return raw


def _routes(raw: object) -> object:
    if raw is not None and not isinstance(raw, list):
        raise problem("must be a list of {match, policy}")
    return raw


class RoutingSection(ConfigModel):
    """The routing keys of ``vigil.yaml`` but ``groups`` (validated first: a policy's
    targets are checked against them, through the validation context's ``refs``)."""

    escalation_policies: Annotated[dict[str, PolicySection], _names("policy", post_only=True)] = (
        Field(default_factory=dict)
    )
    escalation: PolicySection | None = None
    escalation_severities: Any = None  # escalation.severities: which severities page
    severity_paging: Annotated[
        dict[str, SeverityPagingSection] | None, BeforeValidator(_severities)
    ] = None
    routes: Annotated[list[RouteSection] | None, BeforeValidator(_routes)] = None
    working_hours: WorkingHoursSection | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, raw: object) -> object:
        """``escalation:`` is the policy named default plus ``severities`` (which page)."""
        if not isinstance(raw, dict) or raw.get("escalation") is None:
            return raw
        legacy = raw["escalation"]
        if not isinstance(legacy, dict):
            raise problem("must be a mapping", at=("escalation",))
        body = {k: v for k, v in legacy.items() if k not in ("severities", "name")}
        return {**raw, "escalation": body, _LEGACY: legacy.get("severities")}

    @model_validator(mode="after")
    def _references(self) -> RoutingSection:
        if self.escalation is not None and DEFAULT_POLICY in self.escalation_policies:
            raise problem(
                "`escalation:` is already the policy named default; rename this one",
                at=("escalation_policies", DEFAULT_POLICY),
            )
        self.severities()
        policies = self.policies()
        routes = self.routes or []
        for i, route in enumerate(routes):
            policy = route.policy
            if not isinstance(policy, str) or (policy != POST_ONLY and policy not in policies):
                known = ", ".join([*sorted(policies), POST_ONLY])
                raise problem(
                    f"must name a policy (known: {known}), not {policy!r}",
                    at=("routes", i, "policy"),
                )
            if i and _route(i - 1, routes[i - 1]).catch_all:
                raise problem(
                    f"never used: {_route(i - 1, routes[i - 1]).describe()} above matches "
                    "everything",
                    at=("routes", i),
                )
        if policies and not routes and DEFAULT_POLICY not in policies:
            raise problem(
                f"missing: nothing says which policy pages; add routes (e.g. - {{policy: "
                f"{next(iter(policies))}}}) or name a policy default",
                at=("routes",),
            )
        return self

    def policies(self) -> dict[str, EscalationPolicy]:
        policies = {name: body.policy(name) for name, body in self.escalation_policies.items()}
        if self.escalation is not None:
            policies[DEFAULT_POLICY] = self.escalation.policy(DEFAULT_POLICY)
        return policies

    def severities(self) -> Mapping[str, SeverityPaging]:
        legacy = self.escalation_severities
        if legacy is not None:
            if self.severity_paging is not None:
                raise problem(
                    "say which severities page in one place: severity_paging",
                    at=("escalation", "severities"),
                )
            if not isinstance(legacy, list) or not all(
                isinstance(v, str) and v.upper() in SEVERITIES for v in legacy
            ):
                raise problem(
                    "must be a list of severities that page, e.g. [P1, P2]",
                    at=("escalation", "severities"),
                )
            pages = {v.upper() for v in legacy}
            return MappingProxyType(
                {s: SeverityPaging("page" if s in pages else "post") for s in SEVERITIES}
            )
        if self.severity_paging is None:
            return DEFAULT_SEVERITY_PAGING
        out = dict(DEFAULT_SEVERITY_PAGING)
        for sev, spec in self.severity_paging.items():
            out[sev.upper()] = SeverityPaging(spec.action, spec.max_wait)
        return MappingProxyType(out)

    def routing(self, groups: Mapping[str, tuple[str, ...]]) -> Routing:
        hours = self.working_hours
        return Routing(
            MappingProxyType(self.policies()),
            MappingProxyType(dict(groups)),
            tuple(_route(i, r) for i, r in enumerate(self.routes or [])),
            self.severities(),
            WorkingHours() if hours is None else hours.calendar(),
        )


def _route(index: int, spec: RouteSection) -> Route:
    target = None if spec.policy == POST_ONLY else spec.policy
    match = spec.match
    return Route(index, target, match.severity, match.service, match.model)


_KEYS = ("escalation_policies", "escalation", "severity_paging", "routes", "working_hours")


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
    groups = validate_section(
        GroupsSection, {"groups": raw.get("groups")}, where=where, key=""
    ).groups
    # In this order in messages: '@person', 'schedule:NAME', 'group:NAME' or 'rotation:NAME'.
    refs = {SCHEDULE_PREFIX: schedules, GROUP_PREFIX: groups.keys(), ROTATION_PREFIX: rotations}
    spec = {key: raw[key] for key in _KEYS if key in raw}
    section = validate_section(RoutingSection, spec, where=where, key="", context={"refs": refs})
    return section.routing(groups)
