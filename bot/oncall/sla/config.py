"""The ``sla:`` section of ``vigil.yaml``: validated by a pydantic model
(:mod:`bot.config.model`) into :class:`SlaSettings`, or a ConfigError naming the exact key.
Pure; the clocks themselves live in :mod:`bot.oncall.sla.clocks`::

    sla:
      P1: {acknowledge: 5m, resolve: 4h, remind_every: 30m}
      P4: {acknowledge: 1bd}       # 1bd = one business day of ``working_hours``
      warn_at: ["50%", "80%"]      # reminders before each breach; also "15m before"; [] = none

Severities not named keep the product defaults (``DEFAULT_TARGETS``), and so do the fields
of a named one that are left out.
"""

from __future__ import annotations

import re
from datetime import timedelta
from types import MappingProxyType
from typing import Annotated

from pydantic import BeforeValidator, PlainValidator, model_validator

from bot.config.model import ConfigModel, problem, validate_section
from bot.core.durations import parse_duration, words_rounded
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

_BD = re.compile(r"(\d+)\s*(?:bd|business[ _]days?)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def parse_span(raw: object) -> Span:
    """``5m``, ``4h``, ``3d``, ``2w`` (elapsed) or ``1bd`` / ``2 business days``; ValueError."""
    if isinstance(raw, str):
        match = _BD.fullmatch(raw.strip().lower())
        if match:
            return BusinessDays(int(match.group(1)))
    return parse_duration(raw)


def _span(raw: object) -> Span:
    try:
        span = parse_span(raw)
    except ValueError as exc:
        raise problem(f"{exc}, or business days: 1bd") from None
    if (span.days == 0) if isinstance(span, BusinessDays) else span <= timedelta():
        raise problem("must be longer than zero")
    return span


def _remind_every(raw: object) -> timedelta | None:
    if raw is False or raw is None or (isinstance(raw, str) and raw.strip().lower() == "off"):
        return None  # YAML reads a bare `off` as False
    try:
        every = parse_duration(raw)
    except ValueError as exc:
        raise problem(f"{exc}, or off") from None
    if every < timedelta(minutes=1):
        raise problem("must be at least 1m (or off)")
    return every


def _warn_points(raw: object) -> tuple[WarnPoint, ...]:
    if not isinstance(raw, list):
        raise problem('must be a list like ["50%", "80%"] or ["15m before"] ([] for none)')
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
        raise problem(
            f'must be a share of the target like "80%" or "15m before", not {item!r}', at=(j,)
        )
    return tuple(points)


SpanField = Annotated[Span | None, PlainValidator(_span)]  # no pydantic type check after


class _Target(ConfigModel):
    """One severity's targets as written; what is left out keeps the default. (Fields in
    alphabetical order: the unknown-key message lists them so.)"""

    acknowledge: SpanField = None
    remind_every: Annotated[timedelta | None, BeforeValidator(_remind_every)] = None
    resolve: SpanField = None

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, value: object) -> object:
        if not isinstance(value, dict):
            raise problem("must be a mapping like {acknowledge: 5m, resolve: 4h}")
        return value

    def over(self, base: SlaTarget) -> SlaTarget:
        """These targets over ``base``; ``remind_every: off`` (None, but set) stays off."""
        return SlaTarget(
            self.acknowledge if self.acknowledge is not None else base.acknowledge,
            self.resolve if self.resolve is not None else base.resolve,
            self.remind_every if "remind_every" in self.model_fields_set else base.remind_every,
        )


class SlaSection(ConfigModel):
    """``sla:`` as written (``p1:`` reads as ``P1``); :meth:`settings` is what the clocks read."""

    P1: _Target = None  # type: ignore[assignment]  # absent: the default; null: an error
    P2: _Target = None  # type: ignore[assignment]
    P3: _Target = None  # type: ignore[assignment]
    P4: _Target = None  # type: ignore[assignment]
    warn_at: Annotated[tuple[WarnPoint, ...], PlainValidator(_warn_points)] = DEFAULT_WARN_AT

    @model_validator(mode="before")
    @classmethod
    def _severities(cls, value: object) -> object:
        if not isinstance(value, dict):
            raise problem("must map P1-P4 to {acknowledge, resolve, remind_every}, plus warn_at")
        return {
            name.upper()
            if isinstance(name, str) and name.upper() in SEVERITIES
            else str(name): body
            for name, body in value.items()
        }

    @model_validator(mode="after")
    def _acknowledge_before_resolve(self) -> SlaSection:
        for name, target in self.targets().items():
            ack, res = target.acknowledge, target.resolve
            if isinstance(ack, timedelta) and isinstance(res, timedelta) and ack > res:
                raise problem(
                    f"acknowledge ({words_rounded(ack)}) is longer than resolve "
                    f"({words_rounded(res)})",
                    at=(name,),
                )
        return self

    def targets(self) -> dict[str, SlaTarget]:
        targets = dict(DEFAULT_TARGETS)
        for name in SEVERITIES:
            written: _Target | None = getattr(self, name)
            if written is not None:
                targets[name] = written.over(targets[name])
        return targets

    def settings(self, calendar: WorkingHours) -> SlaSettings:
        return SlaSettings(MappingProxyType(self.targets()), self.warn_at, calendar)


def parse_sla(
    raw: object, *, where: str, calendar: WorkingHours | None = None, key: str = "sla"
) -> SlaSettings:
    """``sla:`` → SlaSettings over the defaults, or ConfigError naming the exact key.

    ``calendar`` is the parsed ``working_hours`` (business days follow it).
    """
    cal = calendar or WorkingHours()
    if raw is None:
        return SlaSettings(calendar=cal)
    return validate_section(SlaSection, raw, where=where, key=key).settings(cal)
