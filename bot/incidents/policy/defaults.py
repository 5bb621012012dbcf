"""The product brief's severity table and the default map of senders' severity labels.

``vigil.yaml``'s ``classification:`` may replace the rules and add to the hints (see
``parser.py``); without it these decide. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bot.incidents.policy.conditions import AnyOf, Condition, Op, Rule
from bot.incidents.severity import SEVERITIES, Severity


def _c(signal: str, op: Op, value: float | None = None, critical: bool | None = None) -> Condition:
    return Condition(signal, op, value, critical)


# Accuracy estimated from confidence counts as low quality beside drift: drift plus a
# model that itself expects to miss its SLA is the story before the labels confirm it.
# Alone it stays at its hint (a warning): the estimate is an early signal, not a verdict.
_QUALITY_LOW = AnyOf(
    (
        _c("accuracy", "below_sla"),
        _c("accuracy_estimated", "below_sla"),
        _c("confidence", "below_sla"),
        _c("data_quality", "<", 0.95),
    )
)
DEFAULT_RULES: tuple[Rule, ...] = (
    # P1: users are harmed now.
    Rule("P1", "service-down", (_c("service_down", "present"),)),
    Rule("P1", "error-rate-high", (_c("error_rate", ">", 0.05),)),
    Rule("P1", "model-below-sla-critical", (_c("accuracy", "below_sla", critical=True),)),
    # P2: major degradation. Drift-with-quality first: its reason says the most.
    Rule("P2", "drift-with-quality", (_c("psi", ">", 0.2), _QUALITY_LOW)),
    Rule("P2", "model-below-sla", (_c("accuracy", "below_sla"),)),
    Rule("P2", "latency-above-sla", (_c("latency_p95", "above_sla"),)),
    Rule("P2", "gpu-memory-critical", (_c("gpu_memory", ">", 0.95),)),
    # A hardware Xid (fell off the bus, uncorrectable ECC …): the GPU is likely bad and its
    # work is failing or about to; a person must drain it. Paged, like every P2.
    Rule("P2", "gpu-hardware-fault", (_c("gpu_hardware", "present"),)),
    # P3: a single early-warning signal.
    Rule("P3", "drift", (_c("psi", ">", 0.2),)),
    Rule("P3", "cache-hit-low", (_c("cache_hit", "<", 0.40),)),
    Rule("P3", "gpu-memory-high", (_c("gpu_memory", ">", 0.85),)),
    Rule("P3", "error-rate-elevated", (_c("error_rate", ">", 0.01),)),
)

DEFAULT_HINTS: Mapping[str, Severity] = MappingProxyType(
    {
        "critical": "P1",
        "error": "P2",
        "high": "P2",
        "warning": "P3",
        "info": "P4",
        "low": "P4",
        **{s.lower(): s for s in SEVERITIES},
    }
)
