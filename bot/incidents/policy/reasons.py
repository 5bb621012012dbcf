"""The words of a classification reason, written for someone woken at 2 a.m.

Each matched condition is named with its real value in its own unit (``error rate 7.5% >
5%``, ``p95 latency 812 ms above SLA 500 ms``), and a subject is named only when it changes,
so several signals read as one story: ``P2: input drift PSI 0.31 > 0.2 on model
fraud-scorer with accuracy 0.81 below SLA 0.90``. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import cast

from bot.incidents.policy.conditions import NUMERIC_OPS, QUALITY_KINDS, Condition
from bot.incidents.policy.signals import Signal

NAMES: Mapping[str, str] = MappingProxyType(
    {
        "psi": "input drift PSI",
        "error_rate": "error rate",
        "gpu_memory": "GPU memory",
        "cache_hit": "cache hit rate",
        "latency_p95": "p95 latency",
        "accuracy": "accuracy",
        "accuracy_estimated": "estimated accuracy",
        "confidence": "confidence",
        "data_quality": "data quality",
        "service_down": "service down",
    }
)
_SHOWN_AS_PERCENT = frozenset({"error_rate", "gpu_memory", "cache_hit"})
_TWO_DECIMALS = QUALITY_KINDS


def _trim(x: float, places: int) -> str:
    text = f"{round(x, places):.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt(kind: str, x: float) -> str:
    """Compact, unit-aware value: ``7.5%``, ``812 ms``, ``0.90`` (quality), ``0.31``."""
    if kind in _SHOWN_AS_PERCENT:
        return f"{_trim(x * 100, 2)}%"
    if kind == "latency_p95":
        return f"{_trim(x, 1)} ms"
    if kind in _TWO_DECIMALS:
        whole, _, frac = _trim(x, 4).partition(".")
        return f"{whole}.{frac.ljust(2, '0')}"
    return _trim(x, 3)


def brief(s: Signal) -> str:
    if s.value is None:
        return s.alertname or NAMES.get(s.kind, s.kind)
    return f"{NAMES.get(s.kind, s.kind.replace('_', ' '))} {fmt(s.kind, s.value)}"


def subject(s: Signal, text: str) -> str:
    return f"{text} on {'critical ' if s.critical else ''}{s.subject}"


def describe(cond: Condition, s: Signal) -> tuple[str, bool]:
    """Text for one matched condition, and whether it already names the subject."""
    name = NAMES.get(s.kind, s.kind.replace("_", " "))
    crit = "critical " if s.critical else ""
    if cond.op == "present":
        if s.kind == "service_down":
            return f"{crit}{s.subject} is down", True
        if s.kind == "gpu_hardware":
            count = int(s.value) if s.value is not None else 0
            xids = (
                f"{count} hardware Xid error{'s' if count != 1 else ''}"
                if count
                else "hardware Xid"
            )
            return f"likely bad GPU: {xids} in the last hour", False
        shown = fmt(s.kind, s.value) if s.value is not None else "alert firing"
        return f"{name} {shown}", False
    v = fmt(s.kind, cast(float, s.value))
    if cond.op in NUMERIC_OPS:
        return f"{name} {v} {cond.op} {fmt(s.kind, cast(float, cond.value))}", False
    side = "below" if cond.op == "below_sla" else "above"
    return f"{name} {v} {side} SLA {fmt(s.kind, cast(float, s.threshold))}", False


def join(parts: Sequence[tuple[Condition, Signal]]) -> str:
    """Describe each part; name a subject only when it changes ("... on X with ...")."""
    texts: list[str] = []
    named: str | None = None
    for cond, s in parts:
        text, has_subject = describe(cond, s)
        if not has_subject and s.subject != named:
            text = subject(s, text)
        named = s.subject
        texts.append(text)
    return " with ".join(texts)
