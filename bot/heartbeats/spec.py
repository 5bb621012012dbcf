"""The ``heartbeats:`` section of ``vigil.yaml``: what each batch job promises. Pure.

::

    heartbeats:
      fraud-scoring:            # the name in POST /api/v1/heartbeats/fraud-scoring
        every: 1h               # a run is expected this often (required)
        grace: 10m              # slack before it counts as late (default 10% of every, >= 1m)
        max_label_delay: 6h     # label delay above this alerts (unset: that rule is off)
        schema_hash: "9f2c…"    # the expected schema; unset: the first hash received
        labels: {model: fraud, team: risk}   # copied onto its alerts (routing, grouping)

Every mistake is a ``ConfigError`` naming the key (``heartbeats.fraud-scoring.every``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from bot.config_checks import known
from bot.durations import parse_duration
from bot.errors import ConfigError

KEYS = ("every", "grace", "max_label_delay", "schema_hash", "labels")
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
        specs[name] = _spec(name, raw, where, key)
    return MappingProxyType(specs)


def _spec(name: str, raw: object, where: str, key: str) -> HeartbeatSpec:
    if not isinstance(raw, dict):
        raise ConfigError("must be a mapping with at least `every`", where=where, key=key)
    known(raw, KEYS, where, key)
    if raw.get("every") is None:
        raise ConfigError(
            "is required: how often a run is expected (30m, 1h, 1d)",
            where=where,
            key=f"{key}.every",
        )
    every = _duration(raw["every"], where, f"{key}.every", zero_ok=False)
    grace = default_grace(every)
    if raw.get("grace") is not None:
        grace = _duration(raw["grace"], where, f"{key}.grace", zero_ok=True)
    limit = None
    if raw.get("max_label_delay") is not None:
        delay = _duration(raw["max_label_delay"], where, f"{key}.max_label_delay", zero_ok=False)
        limit = delay.total_seconds()
    return HeartbeatSpec(
        name=name,
        every=every,
        grace=grace,
        max_label_delay=limit,
        schema_hash=_schema_hash(raw.get("schema_hash"), where, f"{key}.schema_hash"),
        labels=_labels(raw.get("labels"), where, f"{key}.labels"),
    )


def _duration(value: object, where: str, key: str, *, zero_ok: bool) -> timedelta:
    try:
        delta = parse_duration(value)
    except ValueError as exc:
        raise ConfigError(str(exc), where=where, key=key) from None
    if not zero_ok and delta <= timedelta(0):
        raise ConfigError("must be longer than 0s", where=where, key=key)
    return delta


def _schema_hash(value: object, where: str, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f'must be the hash as text (quote it: "9f2c…"), got {value!r}', where=where, key=key
        )
    text = value.strip()
    if len(text) > MAX_SCHEMA_HASH:
        raise ConfigError(f"must be at most {MAX_SCHEMA_HASH} characters", where=where, key=key)
    return text


def _labels(value: object, where: str, key: str) -> Mapping[str, str]:
    if value is None:
        return _EMPTY
    if not isinstance(value, dict):
        raise ConfigError("must be a mapping of label name to value", where=where, key=key)
    labels: dict[str, str] = {}
    for name, text in value.items():
        at = f"{key}.{name}"
        if not isinstance(name, str) or not _LABEL.fullmatch(name):
            raise ConfigError("label name must match [a-zA-Z_][a-zA-Z0-9_]*", where=where, key=at)
        if name in RESERVED_LABELS:
            raise ConfigError(
                f"{name} is set by the heartbeat rules; choose another label", where=where, key=at
            )
        if not isinstance(text, str) or not text:
            raise ConfigError(
                f"must be non-empty text (quote numbers), got {text!r}", where=where, key=at
            )
        labels[name] = text
    return MappingProxyType(labels)
