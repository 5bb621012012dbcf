"""The watch after a fix, as pure values: which (rule, subject) pairs are watched closely
until when, the tightened ``for`` and threshold they are judged by, and the words for it.

What "normal" means, per rule kind, from what the rule engine honestly knows:

- ``threshold``: the median of the subject's own values in the hour before the condition
  began to hold (one value a minute, at least three; ``bot.rules.evaluate`` keeps them and
  writes the median on the alert as the ``normal`` annotation when it fires, so the alert
  row in the database carries it across a restart). A median of values that already
  breached the threshold, or too few values, is no normal: only ``for`` is shortened.
- ``baseline``: the threshold is ``k`` on the robust z-score, whose normal is 0 by
  definition, so ``k`` moves toward 0.
- ``absent`` rules and yes/no (``unit: flag``) rules keep their threshold: there is no
  level to move toward. ``absent`` rules keep their ``absent_after`` too (that is no
  ``for``), and the words say so.

A threshold moves ``threshold_fraction`` of the way from where it is toward normal
(``t + f · (normal - t)``): an accuracy floor of 0.90 with a normal of 0.94 and 0.25 becomes
0.91. ``for`` is multiplied by ``for_factor`` and rounded down to whole seconds (0: fire at
once).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo

from bot.core.durations import format_duration, short_duration
from bot.rules.alerts import ABSENT_ALERTNAME, SOURCE, subject
from bot.rules.heightened.config import Sensitivity
from bot.rules.schema import Point, Rule, format_value, holds

NORMAL_WINDOW = timedelta(hours=1)
NORMAL_STEP = timedelta(minutes=1)  # one value a minute is kept for the normal
NORMAL_MIN_POINTS = 3
NORMAL = "normal"  # the alert annotation holding the median of the hour before it fired
USUAL_THRESHOLD = "usual_threshold"  # the threshold a heightened alert would normally use
OP_WORDS = {">": "above", ">=": "at or above", "<": "below", "<=": "at or below"}

WatchKey = tuple[str, tuple[tuple[str, str], ...]]


def watch_key(rule: str, labels: Mapping[str, str]) -> WatchKey:
    """Which rule on which subject: the rule's name and its alert's labels, exactly."""
    return rule, tuple(sorted(labels.items()))


@dataclass(frozen=True)
class Heightening:
    """One rule watching one subject closely until ``until``, after incident
    ``incident_id`` resolved at ``resolved_at``; ``normal`` as the module docstring says."""

    rule: str
    labels: Mapping[str, str]
    incident_id: int
    resolved_at: datetime
    until: datetime
    normal: float | None
    for_factor: float
    threshold_fraction: float

    @property
    def key(self) -> WatchKey:
        return watch_key(self.rule, self.labels)


def tightened_for(for_: timedelta, factor: float) -> timedelta:
    """``for_`` times ``factor``, in whole seconds: ``5m`` times 0.5 → ``2m30s``."""
    return timedelta(seconds=math.floor(for_.total_seconds() * factor))


def normal_of(rule: Rule, h: Heightening) -> float | None:
    """The value the threshold moves toward, or None when the rule has none (see above)."""
    if rule.kind == "baseline":
        return 0.0
    if rule.kind == "absent" or rule.unit == "flag":
        return None
    return h.normal


def tightened_threshold(rule: Rule, threshold: float, h: Heightening) -> float:
    """``threshold`` moved ``h.threshold_fraction`` toward normal; unchanged without one, or
    when the normal is itself past the threshold (it would not be tightening)."""
    normal = normal_of(rule, h)
    if normal is None or not math.isfinite(normal) or holds(rule.op, normal, threshold):
        return threshold
    return threshold + h.threshold_fraction * (normal - threshold)


def shortened(rule: Rule, h: Heightening) -> Rule:
    """The rule with its ``for`` shortened (its threshold is moved where it is read, since a
    ``threshold_from`` rule's threshold is per subject)."""
    if rule.kind == "absent":
        return rule
    return replace(rule, for_=tightened_for(rule.for_, h.for_factor))


def tighten(rule: Rule, h: Heightening, threshold: float | None = None) -> Rule:
    """The rule as it judges ``h``'s subject during the watch: shorter ``for`` and, for the
    given threshold (or the rule's own), the tightened one."""
    base = threshold if threshold is not None else rule.threshold
    moved = None if base is None else tightened_threshold(rule, base, h)
    return replace(shortened(rule, h), threshold=moved)


def median_before(points: Sequence[Point], since: datetime) -> float | None:
    """The median of the values in the hour before ``since`` (at least three), else None."""
    values = [
        p.value for p in points if since - NORMAL_WINDOW <= p.at < since and not math.isnan(p.value)
    ]
    return statistics.median(values) if len(values) >= NORMAL_MIN_POINTS else None


def keep_recent(points: tuple[Point, ...], point: Point, span: timedelta) -> tuple[Point, ...]:
    """``points`` with ``point`` added if a minute has passed since the last kept one, and
    those older than ``span`` before it dropped (what ``median_before`` will need)."""
    if points and point.at - points[-1].at < NORMAL_STEP:
        return points
    oldest = point.at - span
    return (*(p for p in points if p.at >= oldest), replace(point, notes=None))


def watches_of(
    incident_id: int,
    severity: str,
    resolved_at: datetime | None,
    alerts: Iterable[tuple[str, Mapping[str, str], Mapping[str, str]]],
    sensitivity: Sensitivity,
) -> list[Heightening]:
    """The watches a resolved incident starts: one per (rule, subject) among its alerts
    ``(source, labels, annotations)`` that Vigil's own rules raised (a missing-data alert
    watches nothing: it has no threshold). Empty when its severity is not watched."""
    period = sensitivity.period(severity)
    if period is None or resolved_at is None:
        return []
    found: dict[WatchKey, Heightening] = {}
    for source, labels, notes in alerts:
        rule = notes.get("rule")
        if source != SOURCE or not rule or labels.get("alertname") == ABSENT_ALERTNAME:
            continue
        h = Heightening(
            rule=rule,
            labels=dict(labels),
            incident_id=incident_id,
            resolved_at=resolved_at,
            until=resolved_at + period,
            normal=_number(notes.get(NORMAL)),
            for_factor=sensitivity.for_factor,
            threshold_fraction=sensitivity.threshold_fraction,
        )
        found.setdefault(h.key, h)
    return list(found.values())


def _number(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw is not None else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def at_words(at: datetime, tz: tzinfo = UTC) -> str:
    """``Sun 6 Dec 14:00 UTC``."""
    local = at.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %H:%M %Z}"


def watch_words(rule: Rule, h: Heightening, threshold: float | None, tz: tzinfo = UTC) -> str:
    """``accuracy-below-sla on model fraud-scorer: fires after 2m30s (normally 5m) below
    91% (normally 90%), until Sun 6 Dec 14:00 UTC``; ``threshold`` is the one it normally
    uses for this subject (None: unknown, only ``for`` is said)."""
    on = subject(h.labels)
    head = f"{rule.name}" + (f" on {on}" if on else "")
    until = f"until {at_words(h.until, tz)}"
    if rule.kind == "absent":
        return f"{head}: unchanged (an absence rule has no threshold or `for`), {until}"
    was, now = rule.for_, tightened_for(rule.for_, h.for_factor)
    fires = f"fires after {short_duration(now)} (normally {short_duration(was)})"
    if threshold is None:
        return f"{head}: {fires}, {until}"
    moved = tightened_threshold(rule, threshold, h)
    if rule.kind == "baseline":
        what, unit = "|robust z| ", "z"
    else:
        what, unit = "", rule.unit
    op = OP_WORDS.get(rule.op, rule.op)
    if moved == threshold:
        why = "a yes/no signal" if rule.unit == "flag" else "no normal known for it"
        shown = format_value(unit, threshold)
        return f"{head}: {fires}, {what}{op} {shown} as before ({why}), {until}"
    new, old = format_value(unit, moved), format_value(unit, threshold)
    return f"{head}: {fires} {what}{op} {new} (normally {old}), {until}"


def watching_words(period: timedelta, lines: Sequence[str]) -> str:
    """The timeline line at resolve: ``Watching closely for 24 h: <line>; <line>``."""
    return f"Watching closely for {format_duration(period)}: " + "; ".join(lines)


def listed_form(rule: Rule, sensitivity: Sensitivity) -> str:
    """The last column of ``vigil rules list``: how the rule judges a subject after a fix."""
    after = sensitivity.after_words()
    if after == "off":
        return "after a fix: not watched (sensitivity: off)"
    head = f"watched {after}:"
    if rule.kind == "absent":
        return f"{head} unchanged"
    fires = f"for {short_duration(tightened_for(rule.for_, sensitivity.for_factor))}"
    share = f"{sensitivity.threshold_fraction * 100:g}%"
    if rule.kind == "baseline":
        k = (rule.threshold or 0) * (1 - sensitivity.threshold_fraction)
        return f"{head} {fires}, |robust z| {rule.op} {format_value('z', k)}"
    if rule.unit == "flag" or sensitivity.threshold_fraction == 0:
        return f"{head} {fires}"
    return f"{head} {fires}, threshold {share} toward normal"
