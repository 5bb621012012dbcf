"""The ``sources:`` section of vigil.yaml: what the rule runner polls, and how often. Pure.

    sources:
      interval: 15s                       # how often every source is polled
      group_intervals: {model-quality: 1m}
      prometheus: {url: http://prom:9090, queries: {error_rate: "sum(rate(...))"}, timeout: 10s}
      http_checks:
        - {name: features, url: http://features/health, max_latency_ms: 500}
      system: true                        # this host's CPU, memory and disk
      gpu: false                          # NVIDIA GPUs through NVML

The section is validated by pydantic models (:mod:`bot.config.model`) whose messages are
the ones ``vigil check`` has always printed; what the rest of Vigil reads are the frozen
dataclasses below, so the sources never see pydantic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from bot.config.checks import bounded_number, http_url, positive_duration, true_or_false
from bot.config.checks import whole_number as _whole_number
from bot.config.model import ConfigModel, problem, validate_section

#: Sources that exist whatever the config says; an HTTP check may not take their names.
RESERVED_SOURCE_NAMES = frozenset({"pushed", "prometheus", "system", "gpu", "heartbeats"})
_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


@dataclass(frozen=True)
class PrometheusSettings:
    """``sources.prometheus``: one server and its metric name → PromQL queries."""

    url: str = field(repr=False)  # may hold credentials
    queries: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    timeout_s: float = 10.0


@dataclass(frozen=True)
class HttpCheckSettings:
    """One entry of ``sources.http_checks``."""

    name: str
    url: str = field(repr=False)
    expect_status: int = 200
    max_latency_ms: float | None = None
    json_field: str | None = None
    expect_value: Any = None


@dataclass(frozen=True)
class SourcesSettings:
    """``sources:``: what the rule runner polls, and how often. Pushed samples are always on."""

    interval: timedelta = timedelta(seconds=15)
    #: Rule group → evaluation interval (``model-quality: 1m``); others use ``interval``.
    group_intervals: Mapping[str, timedelta] = field(default_factory=lambda: MappingProxyType({}))
    prometheus: PrometheusSettings | None = None
    http_checks: tuple[HttpCheckSettings, ...] = ()
    system: bool = True
    gpu: bool = False


def _url(value: object) -> str:
    if value is None:  # ``url:`` written with nothing after it
        raise problem("is required")
    return http_url(value)


def _queries(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise problem("must be a mapping")
    if not value:
        raise problem("must map at least one metric name to a PromQL query")
    for metric, promql in value.items():
        if not isinstance(metric, str) or not _METRIC.fullmatch(metric):
            raise problem("metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*", at=(str(metric),))
        if not isinstance(promql, str) or not promql.strip():
            raise problem("must be a PromQL expression", at=(metric,))
    return value


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem("must be a non-empty name")
    return value


def _status(value: object) -> int:
    return _whole_number(value, low=100, high=599)


def _latency(value: object) -> float | None:
    return None if value is None else bounded_number(value, low=0.0, high=math.inf, low_ok=False)


def _json_field(value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise problem("must be a dotted field path")
    return value


def _checks(value: object) -> object:
    if not isinstance(value, list):
        raise problem("must be a list of checks")
    return value


Duration = Annotated[timedelta, BeforeValidator(positive_duration)]
Flag = Annotated[bool, BeforeValidator(true_or_false)]


class PrometheusSection(ConfigModel):
    url: Annotated[str, BeforeValidator(_url)]
    queries: Annotated[dict[str, str], BeforeValidator(_queries)] = Field(
        default_factory=dict, validate_default=True
    )
    timeout: Duration = timedelta(seconds=10)

    def settings(self) -> PrometheusSettings:
        return PrometheusSettings(
            self.url, MappingProxyType(dict(self.queries)), self.timeout.total_seconds()
        )


class HttpCheckSection(ConfigModel):
    name: Annotated[str, BeforeValidator(_name)] = Field(default=None, validate_default=True)
    url: Annotated[str, BeforeValidator(_url)]
    expect_status: Annotated[int, BeforeValidator(_status)] = 200
    max_latency_ms: Annotated[float | None, BeforeValidator(_latency)] = None
    json_field: Annotated[str | None, BeforeValidator(_json_field)] = None
    expect_value: Any = None

    @model_validator(mode="after")
    def _compares_a_field(self) -> HttpCheckSection:
        if self.expect_value is not None and self.json_field is None:
            raise problem("needs json_field (the field to compare)", at=("expect_value",))
        return self

    def settings(self) -> HttpCheckSettings:
        return HttpCheckSettings(
            self.name,
            self.url,
            self.expect_status,
            self.max_latency_ms,
            self.json_field,
            self.expect_value,
        )


class SourcesSection(ConfigModel):
    """``sources:`` as written; :meth:`settings` is what the rule runner reads."""

    interval: Duration = timedelta(seconds=15)
    group_intervals: dict[str, Duration] = Field(default_factory=dict)
    prometheus: PrometheusSection | None = None
    http_checks: Annotated[list[HttpCheckSection], BeforeValidator(_checks)] = Field(
        default_factory=list
    )
    system: Flag = True
    gpu: Flag = False

    @field_validator("http_checks")
    @classmethod
    def _names_are_unique(cls, checks: list[HttpCheckSection]) -> list[HttpCheckSection]:
        seen: set[str] = set()
        for i, check in enumerate(checks):
            if check.name in seen or check.name in RESERVED_SOURCE_NAMES:
                raise problem(
                    f"{check.name!r} is already the name of another source", at=(i, "name")
                )
            seen.add(check.name)
        return checks

    def settings(self) -> SourcesSettings:
        return SourcesSettings(
            interval=self.interval,
            group_intervals=MappingProxyType(dict(self.group_intervals)),
            prometheus=self.prometheus.settings() if self.prometheus is not None else None,
            http_checks=tuple(check.settings() for check in self.http_checks),
            system=self.system,
            gpu=self.gpu,
        )


def parse_sources(value: object, where: str) -> SourcesSettings:
    """Validate the ``sources:`` section; every error names its key (``sources.gpu``)."""
    if value is None:
        return SourcesSettings()
    return validate_section(SourcesSection, value, where=where, key="sources").settings()
