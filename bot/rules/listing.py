"""What ``vigil rules list`` prints: one line per rule, on or off, and why. Pure.

::

    ON   cpu-high          cpu_utilization > 80%                  for 5m  infrastructure  threshold
    OFF  api-latency-p95…  needs services.<name>.latency_p95_sla…  for 5m  infrastructure  threshold

(shortened here; the real lines are aligned to the longest cell)
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.durations import short_duration
from bot.rules.effective import RuleStatus
from bot.rules.schema import Rule, format_value


def selector(rule: Rule) -> str:
    """``gpu_xid_errors{xid_class="hardware"}``: the metric and the labels it must match."""
    if not rule.match:
        return rule.metric
    return rule.metric + "{" + ",".join(f'{k}="{v}"' for k, v in rule.match.items()) + "}"


def condition(status: RuleStatus) -> str:
    """The rule's condition as it runs now, or what it needs before it can run."""
    rule = status.rule
    metric = selector(rule)
    if rule.kind == "absent":
        text = f"{metric} absent {short_duration(rule.absent_after)}"
    elif rule.kind == "baseline":
        k = format_value("z", rule.threshold or 0)
        window = short_duration(rule.baseline.window) if rule.baseline else "?"
        text = f"{metric} |robust z| {rule.op} {k} ({window} baseline)"
    elif rule.setting is not None and (status.subjects or rule.threshold is None):
        scope, key = rule.setting
        path = f"{scope}s.<name>.{key}"
        if not status.subjects:
            return f"needs {path}" if rule.enabled else f"{metric} {rule.op} {path}"
        text = f"{metric} {rule.op} {path} ({', '.join(status.subjects)})"
        if rule.threshold is not None:
            text += f", else {format_value(rule.unit, rule.threshold)}"
    else:
        shown = format_value(rule.unit, rule.threshold) if rule.threshold is not None else "?"
        text = f"{metric} {rule.op} {shown}"
    if not rule.enabled:
        text += f" [disabled in {rule.origins.get('enabled', rule.source)}]"
    return text


def rule_lines(statuses: Sequence[RuleStatus]) -> list[str]:
    """One aligned line per rule: ON/OFF, name, condition, ``for``, group, kind."""
    rows = [
        (
            "ON" if s.on else "OFF",
            s.rule.name,
            condition(s),
            f"for {short_duration(s.rule.for_)}",
            s.rule.group,
            s.rule.kind,
        )
        for s in statuses
    ]
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row[:5], widths, strict=True)), row[5]])
        for row in rows
    ]


def counts(statuses: Sequence[RuleStatus]) -> tuple[int, int, int]:
    """``(on, off until configured, disabled)``."""
    on = sum(1 for s in statuses if s.on)
    disabled = sum(1 for s in statuses if not s.rule.enabled)
    return on, len(statuses) - on - disabled, disabled
