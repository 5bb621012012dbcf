"""The ``heartbeats:`` section of ``vigil.yaml``: what each batch job promises. Pure.

::

    heartbeats:
      fraud-scoring:            # the name in POST /api/v1/heartbeats/fraud-scoring
        every: 1h               # a run is expected this often (required)
        grace: 10m              # slack before it counts as late (default 10% of every, >= 1m)
        max_label_delay: 6h     # label delay above this alerts (unset: that rule is off)
        schema_hash: "9f2c…"    # the expected schema; unset: the first hash received
        labels: {model: fraud, team: risk}   # copied onto its alerts (routing, grouping)

Every mistake is a ``ConfigError`` naming the key (``heartbeats.fraud-scoring.every``); each
heartbeat's settings are validated by a pydantic model (:mod:`bot.config.model`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Annotated

from pydantic import BeforeValidator, Field, model_validator

from bot.config.checks import optional_duration, positive_duration
from bot.config.model import ConfigModel, problem, validate_section
from bot.core.durations import parse_duration
from bot.core.errors import ConfigError

MAX_SCHEMA_HASH = 200
MIN_GRACE = timedelta(minutes=1)
#: Labels the heartbeat rules set themselves; a spec's labels may not take them.
RESERVED_LABELS = frozenset({"heartbeat", "alertname", "signal", "severity"})
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class HeartbeatSpec:
    """One configured heartbeat.

    ``max_label_delay`` is in *seconds* (a float), because the rules read it as a threshold:
    ``threshold_from: heartbeat.max_label_delay`` (``bot.rules.effective.setting_of``), so
    ``vigil check`` says "needs heartbeats.<name>.max_label_delay", the key you write.
    """

    name: str
    every: timedelta
    grace: timedelta
    max_label_delay: float | None = None
    schema_hash: str | None = None
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


def default_grace(every: timedelta) -> timedelta:
    """10 % of ``every``, at least a minute: a job's run time varies a little."""
    return max(every / 10, MIN_GRACE)


def parse_heartbeats(value: object, where: str) -> Mapping[str, HeartbeatSpec]:
    """Validate ``heartbeats:``; None (absent) is no heartbeats."""
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, dict):
        raise ConfigError(
            "must be a mapping of heartbeat name to settings", where=where, key="heartbeats"
        )
    specs: dict[str, HeartbeatSpec] = {}
    for name, raw in value.items():
        key = f"heartbeats.{name}"
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ConfigError(
                "a heartbeat name is lowercase letters, digits, - and _ (at most 100)",
                where=where,
                key=key,
            )
        specs[name] = validate_section(HeartbeatSection, raw, where=where, key=key).spec(name)
    return MappingProxyType(specs)


def _every(value: object) -> timedelta:
    if value is None:
        raise problem("is required: how often a run is expected (30m, 1h, 1d)")
    return positive_duration(value)


def _grace(value: object) -> timedelta | None:
    return None if value is None else parse_duration(value)  # 0s: late the moment it is due


def _schema_hash(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise problem(f'must be the hash as text (quote it: "9f2c…"), got {value!r}')
    text = value.strip()
    if len(text) > MAX_SCHEMA_HASH:
        raise problem(f"must be at most {MAX_SCHEMA_HASH} characters")
    return text


def _labels(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise problem("must be a mapping of label name to value")
    for name, text in value.items():
        if not isinstance(name, str) or not _LABEL.fullmatch(name):
            raise problem("label name must match [a-zA-Z_][a-zA-Z0-9_]*", at=(str(name),))
        if name in RESERVED_LABELS:
            raise problem(f"{name} is set by the heartbeat rules; choose another label", at=(name,))
        if not isinstance(text, str) or not text:
            raise problem(f"must be non-empty text (quote numbers), got {text!r}", at=(name,))
    return value


class HeartbeatSection(ConfigModel):
    """One heartbeat as written; :meth:`spec` is what the checks read."""

    every: Annotated[timedelta, BeforeValidator(_every)] = Field(
        default=None, validate_default=True
    )
    grace: Annotated[timedelta | None, BeforeValidator(_grace)] = None
    max_label_delay: Annotated[timedelta | None, BeforeValidator(optional_duration)] = None
    schema_hash: Annotated[str | None, BeforeValidator(_schema_hash)] = None
    labels: Annotated[dict[str, str], BeforeValidator(_labels)] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, value: object) -> object:
        if not isinstance(value, dict):
            raise problem("must be a mapping with at least `every`")
        return value

    def spec(self, name: str) -> HeartbeatSpec:
        delay = self.max_label_delay
        return HeartbeatSpec(
            name=name,
            every=self.every,
            grace=self.grace if self.grace is not None else default_grace(self.every),
            max_label_delay=delay.total_seconds() if delay is not None else None,
            schema_hash=self.schema_hash,
            labels=MappingProxyType(dict(self.labels)) if self.labels else _EMPTY,
        )
