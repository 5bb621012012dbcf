"""What the evaluator emits (``AlertChange``) and how it becomes an inbound ``AlertIn``.

An alert from a rule carries the value, the threshold and the window it was judged over, in
its fields and in its annotations, so the classifier's reason can quote them ("error rate
7.5% > 1% for 5m on service payments") and the incident timeline shows why it fired.
Missing data raises its own alert, ``DataAbsent`` with ``signal=dependency``: a source that
stopped reporting is a degraded dependency, never a silent pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from bot.core.durations import short_duration
from bot.incidents.intake.fingerprint import fingerprint
from bot.ingest.model import AlertIn
from bot.rules.baseline import Deviation
from bot.rules.schema import Rule, Series, format_value

SOURCE = "vigil-rules"
ABSENT_ALERTNAME = "DataAbsent"
ABSENT_SIGNAL = "dependency"
_SUBJECT_LABELS = ("heartbeat", "model", "service", "gpu", "instance")


@dataclass(frozen=True)
class AlertChange:
    """A rule's alert for one series started firing or resolved."""

    status: Literal["firing", "resolved"]
    rule: str
    labels: Mapping[str, str]
    value: float | None
    threshold: float | None
    window: timedelta
    summary: str
    starts_at: datetime
    annotations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def subject(labels: Mapping[str, str]) -> str:
    """``service payments`` from the first subject label present, else empty."""
    return next((f"{n} {labels[n]}" for n in _SUBJECT_LABELS if labels.get(n)), "")


def alert_labels(rule: Rule, series: Series) -> dict[str, str]:
    """Series labels under the rule's labels (the rule decides alertname and signal)."""
    return {**series.label_map, **rule.labels}


def absent_labels(rule: Rule, series: Series) -> dict[str, str]:
    """Labels of the missing-data alert; ``kind: absent`` rules use their own labels."""
    if rule.kind == "absent":
        return alert_labels(rule, series)
    severity = {"severity": rule.labels["severity"]} if "severity" in rule.labels else {}
    return {
        **series.label_map,
        **severity,
        "alertname": ABSENT_ALERTNAME,
        "signal": ABSENT_SIGNAL,
        "rule": rule.name,
        "metric": rule.metric,
    }


def describe(
    rule: Rule,
    labels: Mapping[str, str],
    value: float,
    threshold: float,
    *,
    firing: bool,
    dev: Deviation | None = None,
    observed: float | None = None,
) -> str:
    """One line for chat: what, how much, against what, for how long, on what.

    A title may name a label (``{dependency} is down``): it is filled from the alert's
    labels, and then says what it is about by itself, without "on <subject>"."""
    title = fill_title(rule.title, labels)
    on = f" on {subject(labels)}" if subject(labels) and title == rule.title else ""
    if rule.kind == "baseline" and dev is not None:
        window = short_duration(rule.baseline.window) if rule.baseline else "?"
        seen = format_value(rule.unit, observed) if observed is not None else "?"
        what = f"{title} {seen} (robust z {format_value('z', value)})"
        k = f"±{format_value('z', threshold)}"
        base = f"(median {format_value(rule.unit, dev.median)}, MAD "
        base += f"{format_value(rule.unit, dev.mad)} over {window})"
        if firing:
            return f"{what} beyond {k} for {short_duration(rule.for_)}{on} {base}"
        return f"{what} back within {k}{on} {base}"
    if rule.unit == "flag":  # a yes/no condition: the title says it all
        if firing:
            return f"{title}{on}"
        if rule.cleared:
            return f"{fill_title(rule.cleared, labels)}{on}"
        return f"no longer: {title}{on}"
    shown = format_value(rule.unit, threshold)
    now_value = format_value(rule.unit, value)
    held = f" for {short_duration(rule.for_)}" if rule.for_ else ""
    if firing:
        return f"{title} {now_value} {rule.op} {shown}{held}{on}"
    return f"{title} {now_value}, no longer {rule.op} {shown}{on}"


_LABEL_FIELD = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


def fill_title(title: str, labels: Mapping[str, str]) -> str:
    """``{name}`` in a rule's title replaced by that label's value (left as is when the
    alert has no such label, so a typo shows instead of vanishing)."""
    return _LABEL_FIELD.sub(lambda m: labels.get(m.group(1)) or m.group(0), title)


def describe_absent(rule: Rule, labels: Mapping[str, str], *, firing: bool) -> str:
    on = f" on {subject(labels)}" if subject(labels) else ""
    if firing:
        return f"no data for {rule.metric} for {short_duration(rule.absent_after)}{on}"
    return f"data for {rule.metric} is back{on}"


def annotations_for(
    rule: Rule, value: float | None, threshold: float | None, window: timedelta, summary: str
) -> dict[str, str]:
    """The annotations an ``AlertIn`` carries: summary, value, threshold, window, rule."""
    notes = {"summary": summary, "window": short_duration(window), "rule": rule.name}
    if value is not None:
        notes["value"] = repr(value)
    if threshold is not None:
        notes["threshold"] = repr(threshold)
    return notes


def to_alert_in(change: AlertChange, now: datetime) -> AlertIn:
    """The inbound alert the incident pipeline ingests; resolved alerts end at ``now``."""
    labels = dict(change.labels)
    return AlertIn(
        source=SOURCE,
        status=change.status,
        title=change.summary,
        labels=labels,
        fingerprint=fingerprint(labels),
        starts_at=change.starts_at,
        annotations=dict(change.annotations),
        ends_at=now if change.status == "resolved" else None,
        value=change.value,
        severity_hint=labels.get("severity"),
    )
