"""The ``rollout:`` section of vigil.yaml: how progressive rollouts step and how strict the
judge is. Pure and light (pydantic only, no numpy), so ``vigil check`` reads it without the
maths: the judge's values are checked here with the bounds
:class:`bot.rollout.observations.JudgeSettings` enforces, and handed to it by the driver.

    rollout:
      steps: [5, 10, 25, 50, 100]   # canary shares; a trailing 100 means "promote"
      every: 10m                    # one look per interval
      severity: P2                  # the incident a failed canary opens (pages as usual)
      judge:                        # JudgeSettings, by name; each optional
        alpha: 0.05
        min_rows: 100
        min_labels: 30
        accuracy_allowance: 0.01
        error_allowance: 0.005
        latency_tolerance: 0.10
        spread_tolerance: 0.10
        drift_threshold: 0.2

Every key is optional; without the section the defaults above apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainValidator

from bot.config.checks import bounded_number, positive_duration, whole_number
from bot.config.model import ConfigModel, validate_section
from bot.core.errors import ValidationError
from bot.incidents.severity import SEVERITIES
from bot.rollout.steps import DEFAULT_STEPS, parse_steps


@dataclass(frozen=True)
class RolloutSettings:
    """``judge``: the JudgeSettings values vigil.yaml sets (by name); the rest default."""

    steps: tuple[int, ...] = DEFAULT_STEPS
    every: timedelta = timedelta(minutes=10)
    severity: str = "P2"
    judge: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def _steps(value: object) -> tuple[int, ...]:
    if not isinstance(value, list | str):
        raise ValueError("must be a list of percentages, e.g. [5, 10, 25, 50, 100]")
    try:
        return parse_steps(value if isinstance(value, str) else list(value))
    except ValidationError as exc:
        raise ValueError(exc.detail) from None


def _severity(value: object) -> str:
    if value not in SEVERITIES:
        raise ValueError(f"must be one of {', '.join(SEVERITIES)}")
    return str(value)


def _share(value: object) -> float:
    number = bounded_number(value, low=0, high=1, low_ok=True)
    if number == 1:
        raise ValueError("must lie in [0, 1): 0.01 is one point")
    return number


def _alpha(value: object) -> float:
    number = bounded_number(value, low=0, high=1, low_ok=False)
    if number == 1:
        raise ValueError("must lie in (0, 1), e.g. 0.05")
    return number


def _positive(value: object) -> float:
    return bounded_number(value, low=0, high=float("inf"), low_ok=False)


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number, got {value!r}")
    return whole_number(value, low=2, high=10**9)


Share = Annotated[float | None, PlainValidator(_share)]


class JudgeSection(ConfigModel):
    alpha: Annotated[float | None, PlainValidator(_alpha)] = None
    min_rows: Annotated[int | None, PlainValidator(_count)] = None
    min_labels: Annotated[int | None, PlainValidator(_count)] = None
    accuracy_allowance: Share = None
    error_allowance: Share = None
    latency_tolerance: Share = None
    spread_tolerance: Share = None
    drift_threshold: Annotated[float | None, PlainValidator(_positive)] = None


class RolloutSection(ConfigModel):
    steps: Annotated[tuple[int, ...], PlainValidator(_steps)] = DEFAULT_STEPS
    every: Annotated[timedelta, PlainValidator(positive_duration)] = timedelta(minutes=10)
    severity: Annotated[str, BeforeValidator(_severity)] = "P2"
    judge: JudgeSection = Field(default_factory=JudgeSection)


def parse_rollout(raw: object, where: str) -> RolloutSettings:
    """Validate ``rollout:``; a bad value names its key (``rollout.judge.alpha``)."""
    if raw is None:
        return RolloutSettings()
    spec = validate_section(RolloutSection, raw, where=where, key="rollout")
    given = {k: v for k, v in spec.judge.model_dump().items() if v is not None}
    return RolloutSettings(spec.steps, spec.every, spec.severity, MappingProxyType(given))
