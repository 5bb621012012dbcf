"""The ``models:`` and ``services:`` sections of vigil.yaml: per-subject settings. Pure.

    models:
      fraud-scorer: {critical: true, accuracy_sla: 90, confidence_floor: 0.6, max_label_delay: 2d}
    services:
      feature-store: {queue_capacity: 5000, capacity_rps: 800}

Each subject is validated by a pydantic model (:mod:`bot.config.model`) into the
:class:`SubjectPolicy` the classifier and the rules' ``threshold_from`` read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from types import MappingProxyType
from typing import Annotated

from pydantic import BeforeValidator, model_validator

from bot.config.checks import bounded_number, mapping, optional_duration
from bot.config.model import ConfigModel, problem, validate_section
from bot.incidents.policy.signals import SubjectPolicy


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise problem("must be true or false")
    return value


def _number(low: float, high: float, *, low_ok: bool) -> BeforeValidator:
    """A finite number in range, or None when unset."""

    def check(value: object) -> float | None:
        return None if value is None else bounded_number(value, low=low, high=high, low_ok=low_ok)

    return BeforeValidator(check)


class _Subject(ConfigModel):
    """What models and services share: the classifier's settings."""

    critical: Annotated[bool, BeforeValidator(_flag)] = False
    accuracy_sla: Annotated[float | None, _number(0.0, 100.0, low_ok=True)] = None
    latency_p95_sla_ms: Annotated[float | None, _number(0.0, math.inf, low_ok=False)] = None

    @model_validator(mode="before")
    @classmethod
    def _empty_is_defaults(cls, value: object) -> object:
        return value or {}  # `fraud-scorer:` with nothing under it: every default

    def _common(self) -> SubjectPolicy:
        sla = self.accuracy_sla
        if sla is not None and sla > 1:  # 90 means 90 %, as the classifier reads it; the
            sla = sla / 100  # accuracy rule compares fractions, so store one
        return SubjectPolicy(
            critical=self.critical, accuracy_sla=sla, latency_p95_sla_ms=self.latency_p95_sla_ms
        )


class ModelSubject(_Subject):
    """One entry of ``models:``."""

    confidence_floor: Annotated[float | None, _number(0.0, 1.0, low_ok=True)] = None
    latency_p99_sla_ms: Annotated[float | None, _number(0.0, math.inf, low_ok=False)] = None
    output_kl_threshold: Annotated[float | None, _number(0.0, math.inf, low_ok=False)] = None
    label_copying_ratio: Annotated[float | None, _number(0.0, 1.0, low_ok=True)] = None
    label_health_floor: Annotated[float | None, _number(0.0, 1.0, low_ok=True)] = None
    label_coverage_floor: Annotated[float | None, _number(0.0, 1.0, low_ok=True)] = None
    label_drift_threshold: Annotated[float | None, _number(0.0, math.inf, low_ok=False)] = None
    max_label_delay: Annotated[timedelta | None, BeforeValidator(optional_duration)] = None
    """A duration in vigil.yaml (``2d``); the rules read it in seconds."""

    def policy(self) -> SubjectPolicy:
        delay = self.max_label_delay
        return replace(
            self._common(),
            confidence_floor=self.confidence_floor,
            latency_p99_sla_ms=self.latency_p99_sla_ms,
            output_kl_threshold=self.output_kl_threshold,
            label_copying_ratio=self.label_copying_ratio,
            label_health_floor=self.label_health_floor,
            label_coverage_floor=self.label_coverage_floor,
            label_drift_threshold=self.label_drift_threshold,
            max_label_delay=delay.total_seconds() if delay is not None else None,
        )


class ServiceSubject(_Subject):
    """One entry of ``services:``."""

    queue_capacity: Annotated[float | None, _number(0.0, math.inf, low_ok=True)] = None
    capacity_rps: Annotated[float | None, _number(0.0, math.inf, low_ok=False)] = None

    def policy(self) -> SubjectPolicy:
        return replace(
            self._common(),
            queue_capacity=self.queue_capacity,
            capacity_rps=self.capacity_rps,
        )


_KINDS: Mapping[str, type[ModelSubject] | type[ServiceSubject]] = {
    "models": ModelSubject,
    "services": ServiceSubject,
}


def parse_subjects(value: object, where: str, key: str) -> Mapping[str, SubjectPolicy]:
    """Validate ``models:`` or ``services:`` (``key``); every error names its key
    (``models.fraud-scorer.accuracy_sla``)."""
    model = _KINDS[key]
    out: dict[str, SubjectPolicy] = {}
    for name, spec in mapping(value, where, key).items():
        out[str(name)] = validate_section(model, spec, where=where, key=f"{key}.{name}").policy()
    return MappingProxyType(out)
