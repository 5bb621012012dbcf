"""What ``vigil rules list`` prints: one line per rule, on or off, and why. Pure.

::

    ON   cpu-high   cpu_utilization > 80%  for 5m  infrastructure  threshold  watched 24h aft…
    OFF  api-late…  needs services.<name>…  for 5m  infrastructure  threshold  watched 24h aft…

(shortened here; the real lines are aligned to the longest cell). The last column is the
rule's form during the watch after a fix (``sensitivity:``): the shortened ``for`` and how
the threshold moves. A threshold rule's normal is its subject's own recent median, known
only when it fires, so the list says the share rather than a number; no database is read.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.durations import short_duration
from bot.rules.effective import RuleStatus
from bot.rules.heightened.config import Sensitivity
from bot.rules.heightened.tighten import listed_form
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


def when(rule: Rule) -> str:
    """When the rule fires once its condition holds: ``for 5m``, or its sequential detector
    (``detect: cusum ARL0 100,000 rows, else for 10m``: the wait for series without rows)."""
    wait = f"for {short_duration(rule.for_)}"
    return wait if rule.detect is None else f"detect: {rule.detect.describe()}, else {wait}"


def rule_lines(statuses: Sequence[RuleStatus], sensitivity: Sensitivity | None = None) -> list[str]:
    """One aligned line per rule: ON/OFF, name, condition, ``for`` (or ``detect``), group,
    kind, and with ``sensitivity`` its form while watching a subject closely after a fix."""
    rows = [
        (
            "ON" if s.on else "OFF",
            s.rule.name,
            condition(s),
            when(s.rule),
            s.rule.group,
            s.rule.kind,
            *([listed_form(s.rule, sensitivity)] if sensitivity is not None else []),
        )
        for s in statuses
    ]
    if not rows:
        return []
    aligned = len(rows[0]) - 1
    widths = [max(len(row[i]) for row in rows) for i in range(aligned)]
    return [
        "  ".join(
            [*(cell.ljust(w) for cell, w in zip(row[:aligned], widths, strict=True)), row[-1]]
        )
        for row in rows
    ]


def counts(statuses: Sequence[RuleStatus]) -> tuple[int, int, int]:
    """``(on, off until configured, disabled)``."""
    on = sum(1 for s in statuses if s.on)
    disabled = sum(1 for s in statuses if not s.rule.enabled)
    return on, len(statuses) - on - disabled, disabled
