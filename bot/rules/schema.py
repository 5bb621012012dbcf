"""What a rule is, as plain frozen values: the loader builds them, the evaluator reads them.

A rule is a condition on one metric (``error_rate > 0.01``), held for a ``for`` duration
before it fires, and cleared past a hysteresis band before it resolves. Its threshold is
either a number in the file or a per-model / per-service setting (``threshold_from``) that a
user must supply: an "above SLA" rule cannot guess the SLA, so it stays off until it is set.

Hysteresis is *relative to the threshold* (``0.05`` = 5 % of it), not absolute: one number
then means the same for a ratio (1 % error rate resolves at ≤ 0.95 %), for milliseconds and
for a robust z-score, and a user overriding a threshold does not have to re-tune the band.
A threshold of 0 therefore has no band; give such rules a non-zero threshold or accept that.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from bot.core.durations import short_duration
from bot.rules.sequential import DetectSpec

Op = Literal[">", ">=", "<", "<="]
Kind = Literal["threshold", "baseline", "absent"]
OPS: Mapping[str, Callable[[float, float], bool]] = MappingProxyType(
    {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
)
KINDS: frozenset[str] = frozenset({"threshold", "baseline", "absent"})
#: How a value is shown in summaries: ``ratio`` values are fractions printed as percentages.
#: ``s`` values are seconds shown as durations (``8h20m``); ``flag`` is 0/1, shown as words.
UNITS: frozenset[str] = frozenset({"ratio", "ms", "rps", "count", "score", "z", "s", "flag"})
#: Where ``threshold_from`` may point: ``model.<setting>``, ``service.<setting>`` or
#: ``heartbeat.<setting>`` (the ``models:``, ``services:`` and ``heartbeats:`` of vigil.yaml).
SCOPES: frozenset[str] = frozenset({"model", "service", "heartbeat"})

DEFAULT_FOR = timedelta(minutes=5)
DEFAULT_ABSENT_AFTER = timedelta(minutes=10)
DEFAULT_HYSTERESIS = 0.05


@dataclass(frozen=True)
class BaselineSpec:
    """Parameters of a ``baseline`` rule: the rolling window, the sample floor and ``k``.

    The rule's ``threshold`` is ``k`` (|robust z| above it is anomalous); see
    ``bot.rules.baseline`` for why median/MAD and not a seasonal model.
    """

    window: timedelta = timedelta(days=1)
    min_samples: int = 30


@dataclass(frozen=True)
class Rule:
    """One alerting rule, validated.

    ``threshold`` is the value used when ``threshold_from`` is unset; when both are given the
    subject's setting wins and ``threshold`` is the documented default. ``labels`` always has
    ``alertname`` and ``signal`` (the classifier's kind) and may carry ``severity`` as a hint.
    ``source`` is the file that defined the rule (gave its ``metric``), ``origins`` the file
    each key came from, so ``vigil rules list`` can say which override changed what.
    """

    name: str
    metric: str
    op: Op
    threshold: float | None
    threshold_from: str | None
    for_: timedelta
    resolve_hysteresis: float
    labels: Mapping[str, str]
    kind: Kind = "threshold"
    absent_after: timedelta = DEFAULT_ABSENT_AFTER
    title: str = ""
    #: What the all-clear says for a yes/no rule ("{dependency} is back up"); unset, it is
    #: "no longer: <title>", which reads badly when the title is a sentence.
    cleared: str = ""
    unit: str = "count"
    enabled: bool = True
    baseline: BaselineSpec | None = None
    #: Label values a series must have for this rule to watch it (``xid_class: hardware``).
    match: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: The evaluation group: each group runs on its own interval (``sources.group_intervals``).
    group: str = "default"
    #: ``detect: cusum``: a sequential test on the rows replaces the ``for`` wait wherever the
    #: series carries row counters, ``detect: changepoint`` wherever the sample carries a
    #: change point (``bot.rules.sequential``); None: the ``for`` wait only.
    detect: DetectSpec | None = None
    source: str = ""
    #: Which file supplied each key, after overrides (``{"threshold": "rules/mine.yaml"}``).
    origins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def watches(self, series: Series) -> bool:
        """Whether ``series`` is this rule's metric with every ``match`` label equal."""
        if series.metric != self.metric:
            return False
        labels = series.label_map
        return all(labels.get(k) == v for k, v in self.match.items())

    @property
    def alertname(self) -> str:
        return self.labels["alertname"]

    @property
    def setting(self) -> tuple[str, str] | None:
        """``("service", "latency_p95_sla_ms")`` for ``threshold_from``, else None."""
        if self.threshold_from is None:
            return None
        scope, _, key = self.threshold_from.partition(".")
        return scope, key


@dataclass(frozen=True, order=True)
class Series:
    """One time series: a metric and its identifying labels (service, model, gpu …)."""

    metric: str
    labels: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, metric: str, labels: Mapping[str, str] | None = None) -> Series:
        return cls(metric, tuple(sorted((labels or {}).items())))

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True, order=True)
class Point:
    """One sample of a series: the time it was measured and its value."""

    at: datetime
    value: float = field(compare=False)
    #: The sample's notes (evidence such as the top drifting features), if any.
    notes: Mapping[str, str] | None = field(default=None, compare=False)


def holds(op: str, value: float, threshold: float) -> bool:
    """The rule's condition; NaN never holds (a broken exporter is not a breach)."""
    return not math.isnan(value) and OPS[op](value, threshold)


CEILINGS = {"ratio": 1.0, "score": 1.0}  # units whose values cannot exceed 1 (see still_holds)


def still_holds(
    op: str, value: float, threshold: float, hysteresis: float, *, ceiling: float | None = None
) -> bool:
    """Whether a firing condition is still on, given the hysteresis band.

    The band is ``hysteresis`` of the room the value has on the clearing side: down to 0 for
    ``>`` (a firing ``> 100`` with 0.05 stays firing above 95), up to ``ceiling`` for ``<``
    when the unit has one (a data quality ``< 0.95`` clears at 0.9525, an accuracy ``< 0.85``
    at 0.8575), else the threshold's own size. A value wobbling at the threshold neither
    resolves nor re-fires, and a ratio that recovered is let go: 5 % of the threshold would
    have asked a data quality ``< 0.95`` to reach 0.9975 before it cleared.
    """
    if op in (">", ">="):
        return holds(op, value, threshold - abs(threshold) * hysteresis)
    room = ceiling - threshold if ceiling is not None and threshold < ceiling else abs(threshold)
    return holds(op, value, threshold + room * hysteresis)


def format_value(unit: str, value: float) -> str:
    """``ratio`` 0.075 → ``7.5%``; ``ms`` → ``812 ms``; the rest to three significant places."""
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if unit == "ratio":
        return f"{_trim(value * 100)}%"
    if unit == "ms":
        return f"{_trim(value)} ms"
    if unit == "rps":
        return f"{_trim(value)} req/s"
    if unit == "s":
        sign = "-" if value < 0 else ""
        return sign + short_duration(timedelta(seconds=round(abs(value))))
    if unit == "flag":
        return "yes" if value else "no"
    return _trim(value)


def _trim(x: float) -> str:
    text = f"{x:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
