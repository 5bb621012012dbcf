"""``vigil.yaml``'s ``classification:`` section read into a policy's parts, checked. Pure.

Validated by pydantic models (:mod:`bot.config.model`); every refusal is a ``ConfigError``
naming the offending key (``classification.rules[1].all_of[0].value``), so ``vigil check``
says where to look. ``rules`` replaces the default table entirely; ``hints`` are merged over
the default hint map; ``default`` is optional. The parts become a ``Policy`` in
``bot.incidents.policy.classify`` (``Policy.from_config``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.config.model import ConfigModel, problem, validate_nested, validate_section
from bot.incidents.policy.conditions import NUMERIC_OPS, OPS, AnyOf, Condition, Op, Rule
from bot.incidents.policy.defaults import DEFAULT_HINTS, DEFAULT_RULES
from bot.incidents.policy.signals import PERCENT_KINDS
from bot.incidents.severity import SEVERITIES, Severity

PolicyParts = tuple[tuple[Rule, ...], Mapping[str, Severity], Severity]
"""A policy's rules, hint map and default severity."""


def _severity(raw: object) -> Severity:
    text = raw.strip().upper() if isinstance(raw, str) else raw
    for severity in SEVERITIES:
        if text == severity:
            return severity
    raise problem(f"severity must be one of P1, P2, P3, P4, got {raw!r}")


def _text(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise problem(f"expected a non-empty string, got {raw!r}")
    return raw.strip()


class _Mapping(ConfigModel):
    """A part of ``classification:`` that is a mapping, worded as this section always was."""

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, raw: object) -> object:
        if not isinstance(raw, Mapping):
            raise problem(f"expected a mapping, got {type(raw).__name__}")
        return raw


def _missing(section: ConfigModel, required: tuple[str, ...]) -> None:
    """A required key left out says "missing" (its value, when given, is checked as usual)."""
    for name in required:
        if getattr(section, name) is None:
            raise problem("missing", at=(name,))


def _op(raw: object) -> Op:
    for op in OPS:
        if raw == op:
            return op
    quoted = ", ".join(f'"{o}"' for o in OPS)
    raise problem(f"unknown op {raw!r}; expected one of {quoted} (quote them in YAML)")


def _critical(raw: object) -> bool | None:
    if raw is not None and not isinstance(raw, bool):
        raise problem(f"expected true or false, got {raw!r}")
    return raw


def _conditions(raw: object) -> object:
    if not isinstance(raw, list) or not raw:
        raise problem("expected a non-empty list of conditions")
    return raw


class ConditionSection(_Mapping):
    """One condition (``signal``, ``op``, ``value`` unless the op compares with the SLA)."""

    critical: Annotated[bool | None, PlainValidator(_critical)] = None
    op: Annotated[Op | None, PlainValidator(_op)] = None
    signal: Annotated[str | None, PlainValidator(lambda raw: _text(raw).lower())] = None
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_the_op(self) -> ConditionSection:
        _missing(self, ("signal", "op"))
        op, value = self.op, self.value
        if op in NUMERIC_OPS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise problem(f"op {op!r} needs a number, got {value!r}", at=("value",))
            if self.signal in PERCENT_KINDS and not 0 <= value <= 1:
                raise problem(
                    f"{self.signal} is a fraction 0..1 (0.05 for 5%), got {value!r}", at=("value",)
                )
        elif value is not None:
            raise problem(
                f"op {op!r} compares with the signal's own SLA; remove value", at=("value",)
            )
        return self

    def condition(self) -> Condition:
        assert self.signal is not None  # _value_fits_the_op
        assert self.op is not None
        value = None if self.value is None else float(self.value)
        return Condition(self.signal, self.op, value, self.critical)


class AnyOfSection(ConfigModel):
    """``{any_of: [conditions]}``: one of them is enough."""

    any_of: Annotated[list[ConditionSection], BeforeValidator(_conditions)]

    def group(self) -> AnyOf:
        return AnyOf(tuple(c.condition() for c in self.any_of))


def _entry(raw: object, info: ValidationInfo) -> Condition | AnyOf:
    if isinstance(raw, Mapping) and "any_of" in raw:
        return validate_nested(AnyOfSection, raw, info).group()
    return validate_nested(ConditionSection, raw, info).condition()


class RuleSection(_Mapping):
    """One rule. (Keys in alphabetical order: the unknown-key message lists them so.)"""

    all_of: Annotated[
        list[Annotated[Condition | AnyOf, PlainValidator(_entry)]] | None,
        BeforeValidator(_conditions),
    ] = None
    name: Annotated[str | None, PlainValidator(_text)] = None
    severity: Annotated[Severity | None, PlainValidator(_severity)] = None

    @model_validator(mode="after")
    def _complete(self) -> RuleSection:
        _missing(self, ("severity", "name", "all_of"))
        return self

    def rule(self) -> Rule:
        assert self.severity is not None  # _complete
        assert self.name is not None
        assert self.all_of is not None
        return Rule(self.severity, self.name, tuple(self.all_of))


def _rules(raw: object) -> object:
    if not isinstance(raw, list):
        raise problem("expected a list of rules")
    return raw


def _hints(raw: object) -> dict[str, Severity] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise problem("expected a mapping of label: P1..P4")
    hints: dict[str, Severity] = {}
    for label, severity in raw.items():
        try:
            hints[_text(label).lower()] = _severity(severity)
        except PydanticCustomError as exc:  # named at the label, not at hints
            raise problem(str((exc.context or {})["message"]), at=(str(label),)) from None
    return hints


class ClassificationSection(_Mapping):
    """``classification:`` as written; :meth:`parts` is what a Policy is made of."""

    default: Annotated[Severity, PlainValidator(_severity)] = "P4"
    hints: Annotated[dict[str, Severity] | None, PlainValidator(_hints)] = None
    rules: Annotated[list[RuleSection] | None, BeforeValidator(_rules)] = None

    @field_validator("rules")
    @classmethod
    def _names_once(cls, rules: list[RuleSection] | None) -> list[RuleSection] | None:
        names = [rule.name for rule in rules or ()]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise problem(f"duplicate {name!r}", at=(i, "name"))
        return rules

    def parts(self) -> PolicyParts:
        rules = DEFAULT_RULES if self.rules is None else tuple(r.rule() for r in self.rules)
        hints = {**DEFAULT_HINTS, **(self.hints or {})}
        return rules, MappingProxyType(hints), self.default


def parse_classification(raw: object, *, where: str) -> PolicyParts | None:
    """The policy's rules, hints and default; None when ``raw`` is None (the defaults)."""
    if raw is None:
        return None
    return validate_section(ClassificationSection, raw, where=where, key="classification").parts()
