"""The ``sensitivity:`` section of ``vigil.yaml``: how long, and how much more tightly, the
rules that fired in an incident watch its subject after it resolves. Pure::

    sensitivity:
      P1: 24h                  # how long after a P1 resolves (off: not at all)
      P2: 24h
      P3: off                  # the default for P3 and P4: a minor incident needs no vigil
      for_factor: 0.5          # a `for: 10m` becomes 5m; 0 fires at once
      threshold_fraction: 0.25 # the threshold moves a quarter of the way toward normal

``sensitivity: off`` turns the watch off for every severity. Validated by a pydantic model
(:mod:`bot.config.model`): a mistake is a ConfigError naming the key
(``sensitivity.for_factor``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Annotated

from pydantic import PlainValidator, model_validator

from bot.config.model import ConfigModel, problem, validate_section
from bot.core.durations import parse_duration, short_duration
from bot.incidents.severity import SEVERITIES

DEFAULT_PERIODS: Mapping[str, timedelta | None] = MappingProxyType(
    {"P1": timedelta(hours=24), "P2": timedelta(hours=24), "P3": None, "P4": None}
)
DEFAULT_FOR_FACTOR = 0.5
DEFAULT_THRESHOLD_FRACTION = 0.25
LONGEST = timedelta(days=30)  # a watch longer than a month is a threshold change, not a watch


@dataclass(frozen=True)
class Sensitivity:
    """What the watch after a fix does: ``periods`` by severity (None: no watch),
    ``for_factor`` times a rule's ``for``, ``threshold_fraction`` of the way to normal."""

    periods: Mapping[str, timedelta | None] = field(default_factory=lambda: DEFAULT_PERIODS)
    for_factor: float = DEFAULT_FOR_FACTOR
    threshold_fraction: float = DEFAULT_THRESHOLD_FRACTION

    def period(self, severity: str) -> timedelta | None:
        return self.periods.get(severity)

    @property
    def longest(self) -> timedelta | None:
        """The longest watch of any severity (how far back a resolved incident can matter)."""
        return max((p for p in self.periods.values() if p is not None), default=None)

    def after_words(self) -> str:
        """``24h after P1/P2`` or ``after P1 24h, P2 6h``; ``off`` when no severity is watched."""
        on = [(s, p) for s in SEVERITIES if (p := self.periods.get(s)) is not None]
        if not on:
            return "off"
        if len({p for _, p in on}) == 1:
            return f"{span_words(on[0][1])} after {'/'.join(s for s, _ in on)}"
        return "after " + ", ".join(f"{s} {span_words(p)}" for s, p in on)


def span_words(period: timedelta) -> str:
    """``24h``, ``36h``, ``90m``, ``3d``: a watch's length as people say it (a day is 24h)."""
    hour = timedelta(hours=1)
    if period % hour == timedelta(0) and period < timedelta(days=3):
        return f"{period // hour}h"
    return short_duration(period)


OFF = Sensitivity(periods=MappingProxyType(dict.fromkeys(SEVERITIES)))


def _period(value: object) -> timedelta | None:
    if value is False or value is None or (isinstance(value, str) and value.strip() == "off"):
        return None  # YAML reads a bare off as False
    try:
        period = parse_duration(value)
    except ValueError as exc:
        raise problem(f"{exc}, or off") from None
    if period <= timedelta(0):
        raise problem("must be longer than 0s, or off")
    if period > LONGEST:
        raise problem(f"must be at most {short_duration(LONGEST)} (change the rule instead)")
    return period


def _fraction(value: object, *, top: float, closed: bool, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise problem(f"must be a number from 0 to {top:g}, e.g. {example}")
    number = float(value)
    if not (0 <= number <= top if closed else 0 <= number < top):
        bound = f"0 to {top:g}" if closed else f"0 up to (not including) {top:g}"
        raise problem(f"must be from {bound}, not {value}")
    return number


def _for_factor(value: object) -> float:
    return _fraction(value, top=1.0, closed=True, example="0.5 (a 10m `for` becomes 5m)")


def _threshold_fraction(value: object) -> float:
    # 1 would put the threshold on the subject's normal value: it would fire on a quiet day.
    return _fraction(value, top=1.0, closed=False, example="0.25 (a quarter of the way)")


Period = Annotated[timedelta | None, PlainValidator(_period)]


class SensitivitySection(ConfigModel):
    """``sensitivity:`` as written (``p1:`` reads as ``P1``); fields in alphabetical order,
    as the unknown-key message lists them."""

    P1: Period = DEFAULT_PERIODS["P1"]
    P2: Period = DEFAULT_PERIODS["P2"]
    P3: Period = DEFAULT_PERIODS["P3"]
    P4: Period = DEFAULT_PERIODS["P4"]
    for_factor: Annotated[float, PlainValidator(_for_factor)] = DEFAULT_FOR_FACTOR
    threshold_fraction: Annotated[float, PlainValidator(_threshold_fraction)] = (
        DEFAULT_THRESHOLD_FRACTION
    )

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, value: object) -> object:
        if not isinstance(value, dict):
            raise problem(
                "must be off, or a mapping like {P1: 24h, P2: 24h, for_factor: 0.5, "
                "threshold_fraction: 0.25}"
            )
        return {
            k.upper() if isinstance(k, str) and k.upper() in SEVERITIES else k: v
            for k, v in value.items()
        }

    def settings(self) -> Sensitivity:
        periods: dict[str, timedelta | None] = {s: getattr(self, s) for s in SEVERITIES}
        return Sensitivity(MappingProxyType(periods), self.for_factor, self.threshold_fraction)


def parse_sensitivity(value: object, where: str) -> Sensitivity:
    """``sensitivity:`` → :class:`Sensitivity` over the defaults; ``off`` for none at all;
    a ConfigError naming the key on a mistake."""
    if value is None:
        return Sensitivity()
    if value is False or (isinstance(value, str) and value.strip() == "off"):
        return OFF
    return validate_section(SensitivitySection, value, where=where, key="sensitivity").settings()
