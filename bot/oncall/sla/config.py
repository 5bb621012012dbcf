"""The ``sla:`` section of ``vigil.yaml``: parsed into :class:`SlaSettings`, or a ConfigError
naming the exact key. Pure; the clocks themselves live in :mod:`bot.oncall.sla.clocks`::

    sla:
      P1: {acknowledge: 5m, resolve: 4h, remind_every: 30m}
      P4: {acknowledge: 1bd}       # 1bd = one business day of ``working_hours``
      warn_at: ["50%", "80%"]      # reminders before each breach; also "15m before"; [] = none

Severities not named keep the product defaults (``DEFAULT_TARGETS``), and so do the fields
of a named one that are left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from types import MappingProxyType
from typing import NoReturn

from bot.durations import parse_duration, words_rounded
from bot.errors import ConfigError
from bot.incidents.severity import SEVERITIES
from bot.oncall.calendar import WorkingHours
from bot.oncall.sla.clocks import (
    DEFAULT_TARGETS,
    DEFAULT_WARN_AT,
    BusinessDays,
    SlaSettings,
    SlaTarget,
    Span,
    WarnPoint,
)

_Fail = Callable[[str, str], NoReturn]  # parse_sla's ``fail``: raise ConfigError at a key
_BD = re.compile(r"(\d+)\s*(?:bd|business[ _]days?)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def parse_span(raw: object) -> Span:
    """``5m``, ``4h``, ``3d``, ``2w`` (elapsed) or ``1bd`` / ``2 business days``; ValueError."""
    if isinstance(raw, str):
        match = _BD.fullmatch(raw.strip().lower())
        if match:
            return BusinessDays(int(match.group(1)))
    return parse_duration(raw)


def parse_sla(
    raw: object, *, where: str, calendar: WorkingHours | None = None, key: str = "sla"
) -> SlaSettings:
    """``sla:`` → SlaSettings over the defaults, or ConfigError naming the exact key.

    ``calendar`` is the parsed ``working_hours`` (business days follow it).
    """
    cal = calendar or WorkingHours()
    if raw is None:
        return SlaSettings(calendar=cal)

    def fail(sub: str, message: str) -> NoReturn:
        raise ConfigError(message, where=where, key=sub)

    if not isinstance(raw, dict):
        fail(key, "must map P1-P4 to {acknowledge, resolve, remind_every}, plus warn_at")
    targets = dict(DEFAULT_TARGETS)
    warn_at = DEFAULT_WARN_AT
    for name, body in raw.items():
        sub = f"{key}.{name}"
        if name == "warn_at":
            warn_at = _warn_points(body, sub, fail)
            continue
        if not isinstance(name, str) or name.upper() not in SEVERITIES:
            fail(sub, "unknown key (allowed: P1, P2, P3, P4, warn_at)")
        if not isinstance(body, dict):
            fail(sub, "must be a mapping like {acknowledge: 5m, resolve: 4h}")
        for field_name in body:
            if field_name not in ("acknowledge", "resolve", "remind_every"):
                fail(
                    f"{sub}.{field_name}",
                    "unknown key (allowed: acknowledge, remind_every, resolve)",
                )
        base = targets[name.upper()]
        spans: dict[str, Span] = {"acknowledge": base.acknowledge, "resolve": base.resolve}
        for which in ("acknowledge", "resolve"):
            if which in body:
                spans[which] = _positive_span(body[which], f"{sub}.{which}", fail)
        ack, res = spans["acknowledge"], spans["resolve"]
        if isinstance(ack, timedelta) and isinstance(res, timedelta) and ack > res:
            fail(
                sub,
                f"acknowledge ({words_rounded(ack)}) is longer than resolve ({words_rounded(res)})",
            )
        remind = base.remind_every
        if "remind_every" in body:
            remind = _remind_every(body["remind_every"], f"{sub}.remind_every", fail)
        targets[name.upper()] = SlaTarget(ack, res, remind)
    return SlaSettings(MappingProxyType(targets), warn_at, cal)


def _positive_span(raw: object, key: str, fail: _Fail) -> Span:
    try:
        span = parse_span(raw)
    except ValueError as exc:
        fail(key, f"{exc}, or business days: 1bd")
    if (span.days == 0) if isinstance(span, BusinessDays) else span <= timedelta():
        fail(key, "must be longer than zero")
    return span


def _remind_every(raw: object, key: str, fail: _Fail) -> timedelta | None:
    if raw is False or raw is None or (isinstance(raw, str) and raw.strip().lower() == "off"):
        return None  # YAML reads a bare `off` as False
    try:
        every = parse_duration(raw)
    except ValueError as exc:
        fail(key, f"{exc}, or off")
    if every < timedelta(minutes=1):
        fail(key, "must be at least 1m (or off)")
    return every


def _warn_points(raw: object, key: str, fail: _Fail) -> tuple[WarnPoint, ...]:
    if not isinstance(raw, list):
        fail(key, 'must be a list like ["50%", "80%"] or ["15m before"] ([] for none)')
    points: list[WarnPoint] = []
    for j, item in enumerate(raw):
        text = item.strip().lower() if isinstance(item, str) else ""
        percent = _PERCENT.fullmatch(text)
        if percent and 0 < float(percent.group(1)) < 100:
            points.append(WarnPoint(fraction=float(percent.group(1)) / 100))
            continue
        if text.endswith(" before"):
            try:
                before = parse_duration(text.removesuffix(" before"))
            except ValueError:
                before = timedelta()
            if before > timedelta():
                points.append(WarnPoint(before=before))
                continue
        fail(
            f"{key}[{j}]", f'must be a share of the target like "80%" or "15m before", not {item!r}'
        )
    return tuple(points)
