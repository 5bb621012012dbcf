"""Turn one parsed alert into the ``Signal`` the classification policy reasons about.

Alerts arrive labelled by many conventions (Alertmanager rule names, Grafana, home-grown
exporters); this maps them onto a few canonical kinds so ``bot.incidents.policy.classify`` can
stay a small table. Pure, like the classifier: no I/O, stdlib only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

#: Kinds whose values are fractions 0..1. A value (or threshold) above 1 for one of these is
#: taken to be a percentage and divided by 100, so ``71`` and ``0.71`` both mean 71 %. The one
#: ambiguous case, exactly ``1``, is read as a fraction (100 %).
PERCENT_KINDS: frozenset[str] = frozenset(
    {"error_rate", "gpu_memory", "cache_hit", "accuracy", "accuracy_estimated"}
)

_EMPTY: Mapping[str, SubjectPolicy] = MappingProxyType({})


@dataclass(frozen=True)
class SubjectPolicy:
    """Per model / service settings from ``vigil.yaml`` (``models:`` / ``services:``).

    Besides what the classifier reads (``critical``, the SLAs), these carry the numbers the
    alerting rules take through ``threshold_from`` (``bot.rules.effective``): a model's
    ``confidence_floor``, ``latency_p99_sla_ms``, ``output_kl_threshold`` and the label-health
    limits (``label_copying_ratio`` and ``label_health_floor``, which also hold automatic
    retraining, ``label_coverage_floor``, ``label_drift_threshold``, ``max_label_delay`` in
    seconds), a service's ``queue_capacity`` and ``capacity_rps``. None means unset: the
    rule stays off (or uses its documented default) for that subject.
    """

    critical: bool = False
    accuracy_sla: float | None = None
    latency_p95_sla_ms: float | None = None
    confidence_floor: float | None = None
    latency_p99_sla_ms: float | None = None
    output_kl_threshold: float | None = None
    label_copying_ratio: float | None = None
    label_health_floor: float | None = None
    label_coverage_floor: float | None = None
    label_drift_threshold: float | None = None
    max_label_delay: float | None = None
    queue_capacity: float | None = None
    capacity_rps: float | None = None


@dataclass(frozen=True)
class Signal:
    """One firing alert, reduced to what the policy needs.

    ``kind`` is canonical (service_down, error_rate, accuracy, psi, latency_p95, gpu_memory,
    cache_hit) or any other string; ``subject`` is human text such as ``model fraud-scorer``;
    ``threshold`` is the SLA carried by the alert or the subject's policy.
    """

    kind: str
    subject: str
    value: float | None = None
    threshold: float | None = None
    critical: bool = False
    alertname: str = ""
    severity_hint: str | None = None


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_ALERTNAME_KINDS: Mapping[str, str] = MappingProxyType(
    {
        _squash(alertname): kind
        for kind, names in {
            "service_down": ("ServiceDown", "InstanceDown", "TargetDown"),
            "error_rate": ("HighErrorRate", "ErrorRateHigh"),
            "accuracy": ("ModelAccuracyBelowSLA", "AccuracyBelowSLA", "LowAccuracy"),
            "psi": ("InputDrift", "FeatureDrift", "DataDrift"),
            "latency_p95": ("HighLatencyP95", "LatencyP95AboveSLA"),
            "gpu_memory": ("GPUMemoryHigh", "HighGPUMemory"),
            "cache_hit": ("LowCacheHitRate", "CacheHitRateLow"),
        }.items()
        for alertname in names
    }
)


def snake_case(name: str) -> str:
    """``GPUTemperatureHigh`` -> ``gpu_temperature_high``; ``disk-full`` -> ``disk_full``."""
    split = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return re.sub(r"[^A-Za-z0-9]+", "_", split).strip("_").lower()


def _number(*candidates: str | None) -> float | None:
    """The first candidate that is a plain finite float ("0.71", "812"); others are ignored."""
    for text in candidates:
        if text is None:
            continue
        try:
            number = float(text.strip())
        except ValueError:
            continue
        if math.isfinite(number):
            return number
    return None


def signal_from_alert(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    value: float | None,
    severity_hint: str | None = None,
    *,
    models: Mapping[str, SubjectPolicy] = _EMPTY,
    services: Mapping[str, SubjectPolicy] = _EMPTY,
) -> Signal:
    """Build a Signal from an alert's labels and annotations and the subject policies.

    - kind: the ``signal`` label, else a known alertname (case and punctuation ignored), else
      the alertname in snake_case.
    - subject: ``model X`` / ``service X`` / ``gpu X`` / ``instance X`` by the first label
      present, else ``unknown subject``.
    - value: ``value``, else a ``value`` annotation or label (plain floats only).
    - threshold: an ``sla`` or ``threshold`` label or annotation, else the subject policy's
      accuracy SLA (accuracy) or p95 SLA (latency_p95); the model's policy before the service's.
    - critical: label ``critical`` true/1/yes, or either subject policy says critical.
    - severity_hint: the argument, else the ``severity`` label.
    Values for PERCENT_KINDS above 1 are percentages and are divided by 100.
    """
    alertname = labels.get("alertname", "").strip()
    kind = labels.get("signal", "").strip().lower()
    if not kind:
        kind = _ALERTNAME_KINDS.get(_squash(alertname)) or snake_case(alertname) or "unknown"

    subject = "unknown subject"
    for label in ("heartbeat", "model", "service", "gpu", "instance"):
        if labels.get(label, "").strip():
            subject = f"{label} {labels[label].strip()}"
            break

    policies = [
        table[name]
        for table, name in ((models, labels.get("model")), (services, labels.get("service")))
        if name and name in table
    ]

    if value is not None and not math.isfinite(value):
        value = None
    if value is None:
        value = _number(annotations.get("value"), labels.get("value"))
    threshold = _number(
        labels.get("sla"),
        labels.get("threshold"),
        annotations.get("sla"),
        annotations.get("threshold"),
    )
    if threshold is None:
        for policy in policies:
            if kind in ("accuracy", "accuracy_estimated") and policy.accuracy_sla is not None:
                threshold = policy.accuracy_sla
            elif kind == "latency_p95" and policy.latency_p95_sla_ms is not None:
                threshold = policy.latency_p95_sla_ms
            if threshold is not None:
                break
    if kind in PERCENT_KINDS:
        value = value / 100 if value is not None and value > 1 else value
        threshold = threshold / 100 if threshold is not None and threshold > 1 else threshold

    critical = labels.get("critical", "").strip().lower() in ("true", "1", "yes") or any(
        p.critical for p in policies
    )
    hint = severity_hint if severity_hint is not None else labels.get("severity")
    return Signal(kind, subject, value, threshold, critical, alertname, hint)
