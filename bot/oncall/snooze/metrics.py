"""Which metric a snooze's condition waits for: a name Vigil knows, or a refusal.

``/incident snooze 12 until psi<0.1 for 30m`` (the README's own example) once matched no
series: the monitor reports ``input_drift_psi``, so the snooze's progress stayed empty and
it ended only at its deadline. A condition on a metric that nothing reports can never hold,
so it is refused with the names Vigil knows (the metrics of its rules and of its configured
queries); the short names people type (``psi``, ``kl``, ``confidence``, ``latency``) are
taken for the metric they mean, and the stored request names it in full, so the
confirmation says what is watched. Pure: no I/O.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection

from bot.core.errors import ValidationError
from bot.oncall.snooze.rules import parse_snooze

ALIASES = {
    "psi": "input_drift_psi",
    "drift": "input_drift_psi",
    "input_drift": "input_drift_psi",
    "kl": "output_drift_kl",
    "output_drift": "output_drift_kl",
    "confidence": "prediction_confidence_mean",
    "latency": "http_latency_p95_ms",
    "p95": "http_latency_p95_ms",
    "p99": "model_latency_p99_ms",
    "model_latency": "model_latency_p99_ms",
    "errors": "error_rate",
    "error": "error_rate",
    "timeouts": "timeout_rate",
    "estimated_accuracy": "accuracy_estimated",
    "data_quality": "data_quality_score",
    "quality": "data_quality_score",
    "gpu": "gpu_utilization",
    "gpu_memory": "gpu_memory_utilization",
    "cpu": "cpu_utilization",
    "queue": "queue_depth",
    "throughput": "throughput_rps",
    "cache_hit": "cache_hit_rate",
}
SHOWN = 12  # known names listed in a refusal; the rest are counted


def named_in_full(request: str, known: Collection[str]) -> str:
    """``request`` with its condition's metric named as Vigil knows it (``psi`` →
    ``input_drift_psi``); unchanged without a condition, or when ``known`` is empty (no
    list to check against). ValidationError (``snooze.metric``) for a metric Vigil does not
    know, naming the ones it does; any other problem is ``parse_snooze``'s."""
    condition = parse_snooze(request).condition
    if condition is None or not known or condition.metric in known:
        return request
    metric = condition.metric
    target = ALIASES.get(metric)
    if target is None or target not in known:
        raise ValidationError("snooze.metric", _unknown(metric, known))
    found = re.search(rf"\buntil\s+({re.escape(metric)})(?![A-Za-z0-9_])", request, re.I)
    assert found is not None  # parse_snooze found this metric right after "until"
    return request[: found.start(1)] + target + request[found.end(1) :]


def _unknown(metric: str, known: Collection[str]) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(metric, names, n=1)
    hint = f" Did you mean {close[0]}?" if close else ""
    shown = ", ".join(names[:SHOWN])
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return (
        f"No metric named {metric!r} reaches Vigil, so this snooze could never end by "
        f"itself.{hint} Metrics it knows: {shown}{more}. "
        "Example: /incident snooze 12 until input_drift_psi<0.1 for 30m"
    )
