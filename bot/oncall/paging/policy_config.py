"""An escalation policy as ``vigil.yaml`` writes it (``escalation:`` and each entry of
``escalation_policies:``), validated by a pydantic model (:mod:`bot.config.model`). Pure.

The policy itself and what it does over time are :mod:`bot.oncall.paging.escalation`; this
module only reads one, refusing anything it cannot use with the message and key a user
reads (``escalation.levels[1].wait``). Which ``schedule:``/``group:``/``rotation:`` names
a target may use comes in the validation context (``refs``: prefix → known names, from
:mod:`bot.oncall.paging.config`); without it any name of the right shape will do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainValidator, ValidationInfo, model_validator

from bot.config.model import ConfigModel, problem, validate_section
from bot.core.durations import parse_duration
from bot.oncall.paging.escalation import (
    ROTATION_PREFIX,
    SCHEDULE_PREFIX,
    EscalationPolicy,
    Level,
    target_problem,
)

Refs = Sequence[str] | Mapping[str, AbstractSet[str]]
"""What ``target_problem`` checks a target against (see there)."""
_ANY_NAME: Refs = (ROTATION_PREFIX, SCHEDULE_PREFIX)


def _notify(raw: object, info: ValidationInfo) -> tuple[str, ...]:
    notify = [raw] if isinstance(raw, str) else raw
    if not isinstance(notify, list) or not notify:
        raise problem("must list at least one target")
    refs: Refs = (info.context or {}).get("refs", _ANY_NAME)
    for j, target in enumerate(notify):
        wrong = target_problem(target, refs)
        if not wrong and target in notify[:j]:
            wrong = f"{target} is listed twice"
        if wrong:
            raise problem(wrong, at=(j,))
    return tuple(notify)


def _wait(raw: object) -> timedelta:
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise problem(str(exc)) from None


def _repeat(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 10:
        raise problem(f"must be a whole number from 0 to 10, not {raw!r}")
    return raw


class LevelSection(ConfigModel):
    """One level: who is paged, and how long to wait for an ack before the next level."""

    notify: Annotated[tuple[str, ...], PlainValidator(_notify)] = Field(None, validate_default=True)
    wait: Annotated[timedelta | None, PlainValidator(_wait)] = None

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, raw: object) -> object:
        for word in ("after", "delay"):
            if isinstance(raw, dict) and word in raw:
                raise problem(
                    f"unknown key '{word}'; use 'wait': how long to wait for an ack after "
                    "paging this level before paging the next",
                    at=(word,),
                )
        if not isinstance(raw, dict):
            raise problem("must be a mapping with notify, wait")
        return raw

    @model_validator(mode="after")
    def _waits(self) -> LevelSection:
        if self.wait is None:
            raise problem(
                "missing: how long to wait for an ack before the next level (e.g. 10m)",
                at=("wait",),
            )
        return self

    def level(self) -> Level:
        assert self.wait is not None  # _waits
        return Level(self.notify, self.wait)


def _levels(raw: object) -> object:
    if not isinstance(raw, list) or not raw:
        raise problem("needs at least one level")
    return raw


class PolicySection(ConfigModel):
    """A policy's ``levels`` and ``repeat``, as written; :meth:`policy` names it."""

    levels: Annotated[list[LevelSection], BeforeValidator(_levels)] = Field(
        None, validate_default=True
    )
    repeat: Annotated[int, PlainValidator(_repeat)] = 0

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, raw: object) -> object:
        if not isinstance(raw, dict):
            raise problem("must be a mapping with levels, repeat")
        return raw

    @model_validator(mode="after")
    def _rounds_take_time(self) -> PolicySection:
        if self.repeat and not self.policy("").round_length:
            raise problem(
                "repeating needs at least one level with a wait, or every round pages at once",
                at=("repeat",),
            )
        return self

    def policy(self, name: str) -> EscalationPolicy:
        return EscalationPolicy(name, tuple(level.level() for level in self.levels), self.repeat)


def _name(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise problem("must be a non-empty string")
    return raw.strip()


class NamedPolicySection(PolicySection):
    """A policy that may carry its own ``name`` (by default the last part of its key)."""

    name: Annotated[str, PlainValidator(_name)] = ""  # "": the last part of the key


def policy_from(raw: object, *, name: str, where: str, key: str, refs: Refs) -> EscalationPolicy:
    """The policy ``name`` as routing reads it (an entry of ``escalation_policies:`` or the
    legacy ``escalation:`` body, neither with a ``name`` key), or the ConfigError naming the
    exact key."""
    context: dict[str, Any] = {"refs": refs}
    return validate_section(PolicySection, raw, where=where, key=key, context=context).policy(name)


def parse_policy(raw: object, *, where: str, key: str = "escalation") -> EscalationPolicy:
    """Build a policy from decoded YAML (``name`` optional: the last part of ``key``), or
    raise ConfigError naming the exact key; any ``schedule:``/``rotation:`` name will do."""
    spec = validate_section(NamedPolicySection, raw, where=where, key=key)
    return spec.policy(spec.name or key.rsplit(".", 1)[-1])
