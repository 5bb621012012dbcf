"""Which rules are on, which are off and why; and the threshold a rule uses for one series.

Rules such as "API latency p95 above SLA" need a number only the user knows. Rather than
guess (and page people over a made-up SLA) such a rule stays off until ``vigil.yaml`` sets
it for at least one service or model, and then runs only for those; ``vigil check`` and
``vigil rules list`` print the reason from here ("needs services.<name>.latency_p95_sla_ms").

Subject settings are read from mappings or attribute objects alike, so this works with the
config's ``SubjectPolicy`` today and whatever per-subject settings grow into tomorrow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from bot.core.durations import short_duration
from bot.rules.schema import Rule, format_value

Subjects = Mapping[str, Any]
_NONE: Subjects = MappingProxyType({})


@dataclass(frozen=True)
class RuleStatus:
    """A rule and whether it runs: ``subjects`` are e.g. ``("payments",)`` when per-subject."""

    rule: Rule
    on: bool
    reason: str
    subjects: tuple[str, ...] = ()


def setting_of(subject: Any, key: str) -> float | None:
    """A numeric setting of one model/service entry (mapping or object), or None if unset."""
    raw = subject.get(key) if isinstance(subject, Mapping) else getattr(subject, key, None)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        return None
    return float(raw)


def threshold_for(
    rule: Rule,
    labels: Mapping[str, str],
    *,
    models: Subjects = _NONE,
    services: Subjects = _NONE,
    heartbeats: Subjects = _NONE,
) -> float | None:
    """The threshold for a series with these labels; None means "do not evaluate it".

    With ``threshold_from: service.latency_p95_sla_ms`` a series labelled
    ``service=payments`` uses ``services.payments.latency_p95_sla_ms``; unset, it falls back
    to the rule's ``threshold`` (a documented default) or, with none, is not evaluated.
    """
    if rule.setting is not None:
        scope, key = rule.setting
        table = _table(scope, models, services, heartbeats)
        name = labels.get(scope)
        if name is not None and name in table:
            value = setting_of(table[name], key)
            if value is not None:
                return value
    return rule.threshold


def _table(scope: str, models: Subjects, services: Subjects, heartbeats: Subjects) -> Subjects:
    """The settings table a ``threshold_from`` scope reads (``model`` → ``models`` …)."""
    return {"model": models, "service": services, "heartbeat": heartbeats}.get(scope, _NONE)


def effective(
    rules: Sequence[Rule],
    models: Subjects = _NONE,
    services: Subjects = _NONE,
    heartbeats: Subjects = _NONE,
) -> list[RuleStatus]:
    """The on/off status of every rule, in order, with a sentence saying why."""
    return [_status(rule, models, services, heartbeats) for rule in rules]


def _status(rule: Rule, models: Subjects, services: Subjects, heartbeats: Subjects) -> RuleStatus:
    if not rule.enabled:
        return RuleStatus(
            rule, False, f"disabled (enabled: false in {rule.origins.get('enabled', rule.source)})"
        )
    shown = format_value(rule.unit, rule.threshold) if rule.threshold is not None else ""
    if rule.setting is None:
        if rule.kind == "absent":
            why = f"fires when {rule.metric} has no data for {short_duration(rule.absent_after)}"
        elif rule.kind == "baseline":
            k = format_value("z", rule.threshold or 0)
            window = short_duration(rule.baseline.window) if rule.baseline else "?"
            why = f"{rule.metric}: |robust z| > {k} against a {window} median/MAD baseline"
        else:
            why = f"{rule.metric} {rule.op} {shown}"
        return RuleStatus(rule, True, why)
    scope, key = rule.setting
    plural = f"{scope}s"
    table = _table(scope, models, services, heartbeats)
    names = tuple(sorted(n for n, s in table.items() if setting_of(s, key) is not None))
    path = f"{plural}.<name>.{key}"
    if names:
        listed = ", ".join(names)
        tail = f"; others use the default {shown}" if rule.threshold is not None else ""
        return RuleStatus(rule, True, f"on for {plural} {listed} ({path}){tail}", names)
    if rule.threshold is not None:
        return RuleStatus(rule, True, f"{rule.metric} {rule.op} {shown} (default; {path})")
    return RuleStatus(rule, False, f"needs {path}")
