"""``vigil.yaml``'s ``classification:`` section read into a policy's parts, checked.

Every refusal is a ``ConfigError`` naming the offending key (``classification.rules[1].
all_of[0].value``), so ``vigil check`` says where to look. ``rules`` replaces the default
table entirely; ``hints`` are merged over the default hint map; ``default`` is optional.
The parts become a ``Policy`` in ``bot.incidents.policy.classify`` (``Policy.from_config``). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import cast

from bot.config.checks import unknown_key
from bot.core.errors import ConfigError
from bot.incidents.policy.conditions import NUMERIC_OPS, OPS, AnyOf, Condition, Rule
from bot.incidents.policy.defaults import DEFAULT_HINTS, DEFAULT_RULES
from bot.incidents.policy.signals import PERCENT_KINDS
from bot.incidents.severity import SEVERITIES, Severity

PolicyParts = tuple[tuple[Rule, ...], Mapping[str, Severity], Severity]
"""A policy's rules, hint map and default severity."""


class PolicyParser:
    """Validates ``classification:`` and builds a Policy; every error names its key path."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, where=self.where, key=key)

    def mapping(
        self, raw: object, key: str, allowed: set[str], required: tuple[str, ...] = ()
    ) -> Mapping[str, object]:
        if not isinstance(raw, Mapping):
            raise self.fail(key, f"expected a mapping, got {type(raw).__name__}")
        unknown = sorted(str(k) for k in raw if k not in allowed)
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}", unknown_key(sorted(allowed)))
        for name in required:
            if name not in raw:
                raise self.fail(f"{key}.{name}", "missing")
        return cast(Mapping[str, object], raw)

    def severity(self, raw: object, key: str) -> Severity:
        text = raw.strip().upper() if isinstance(raw, str) else raw
        if text not in SEVERITIES:
            raise self.fail(key, f"severity must be one of P1, P2, P3, P4, got {raw!r}")
        return text

    def text(self, raw: object, key: str) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise self.fail(key, f"expected a non-empty string, got {raw!r}")
        return raw.strip()

    def policy(self, raw: object) -> PolicyParts | None:
        """The policy's rules, hints and default; None when ``raw`` is None (the defaults)."""
        if raw is None:
            return None
        top = self.mapping(raw, "classification", {"rules", "hints", "default"})
        rules = DEFAULT_RULES
        if "rules" in top:
            items = top["rules"]
            if not isinstance(items, list):
                raise self.fail("classification.rules", "expected a list of rules")
            rules = tuple(self.rule(r, f"classification.rules[{i}]") for i, r in enumerate(items))
            names = [r.name for r in rules]
            for i, name in enumerate(names):
                if name in names[:i]:
                    raise self.fail(f"classification.rules[{i}].name", f"duplicate {name!r}")
        hints = dict(DEFAULT_HINTS)
        raw_hints = top.get("hints")
        if raw_hints is not None:
            if not isinstance(raw_hints, Mapping):
                raise self.fail("classification.hints", "expected a mapping of label: P1..P4")
            for label, sev in raw_hints.items():
                key = f"classification.hints.{label}"
                hints[self.text(label, key).lower()] = self.severity(sev, key)
        default = self.severity(top.get("default", "P4"), "classification.default")
        return rules, MappingProxyType(hints), default

    def rule(self, raw: object, key: str) -> Rule:
        fields = ("severity", "name", "all_of")
        r = self.mapping(raw, key, set(fields), fields)
        items = r["all_of"]
        if not isinstance(items, list) or not items:
            raise self.fail(f"{key}.all_of", "expected a non-empty list of conditions")
        all_of = tuple(self.entry(c, f"{key}.all_of[{i}]") for i, c in enumerate(items))
        return Rule(
            self.severity(r["severity"], f"{key}.severity"),
            self.text(r["name"], f"{key}.name"),
            all_of,
        )

    def entry(self, raw: object, key: str) -> Condition | AnyOf:
        if isinstance(raw, Mapping) and "any_of" in raw:
            items = self.mapping(raw, key, {"any_of"})["any_of"]
            if not isinstance(items, list) or not items:
                raise self.fail(f"{key}.any_of", "expected a non-empty list of conditions")
            return AnyOf(
                tuple(self.condition(c, f"{key}.any_of[{i}]") for i, c in enumerate(items))
            )
        return self.condition(raw, key)

    def condition(self, raw: object, key: str) -> Condition:
        c = self.mapping(raw, key, {"signal", "op", "value", "critical"}, ("signal", "op"))
        signal = self.text(c["signal"], f"{key}.signal").lower()
        op = c["op"]
        if op not in OPS:
            quoted = ", ".join(f'"{o}"' for o in OPS)
            raise self.fail(
                f"{key}.op", f"unknown op {op!r}; expected one of {quoted} (quote them in YAML)"
            )
        value = c.get("value")
        if op in NUMERIC_OPS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(f"{key}.value", f"op {op!r} needs a number, got {value!r}")
            if signal in PERCENT_KINDS and not 0 <= value <= 1:
                raise self.fail(
                    f"{key}.value", f"{signal} is a fraction 0..1 (0.05 for 5%), got {value!r}"
                )
        elif value is not None:
            raise self.fail(
                f"{key}.value", f"op {op!r} compares with the signal's own SLA; remove value"
            )
        critical = c.get("critical")
        if critical is not None and not isinstance(critical, bool):
            raise self.fail(f"{key}.critical", f"expected true or false, got {critical!r}")
        return Condition(signal, op, None if value is None else float(value), critical)
