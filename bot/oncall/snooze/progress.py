"""What the snooze watcher keeps of each series between polls, as pure functions.

The service cannot keep every sample of every series for up to 24 h, nor lose the count at
a restart. What the rules of :mod:`bot.oncall.snooze.rules` need of one series is two timestamps:
the newest sample's, and the first sample of the unbroken run of passing samples that ends
there. They fit the ``progress`` JSON column; ``run_holds`` answers from them as
``condition_holds`` would from all the samples (a test drives both with the same random
series).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.oncall.snooze.rules import (
    MAX_GAP,
    Condition,
    Snooze,
    SnoozeCheck,
    check_time,
    held_text,
)


@dataclass(frozen=True)
class Run:
    """One series as the watcher keeps it: ``last``, its newest sample's time; ``since``, the
    first sample of the unbroken run of samples meeting the condition that ends at ``last``
    (None when the newest sample fails it)."""

    last: datetime
    since: datetime | None


Point = tuple[Mapping[str, str], datetime, float]
"""One sample as the watcher takes it: the series' labels, when, the value."""


def observe(
    run: Run | None,
    at: datetime,
    value: float,
    condition: Condition,
    *,
    max_gap: timedelta = MAX_GAP,
) -> Run:
    """The series after one more sample. A sample no newer than ``last`` changes nothing: a
    source that reports its latest value on every poll repeats it, and a late one cannot be
    placed inside a run already counted (strict, like the rest)."""
    at = at.astimezone(UTC)
    if run is not None and at <= run.last:
        return run
    if not condition.test(value):
        return Run(at, None)
    if run is not None and run.since is not None and at - run.last <= max_gap:
        return Run(at, run.since)
    return Run(at, at)


def run_holds(
    run: Run | None,
    condition: Condition,
    now: datetime,
    *,
    since: datetime,
    max_gap: timedelta = MAX_GAP,
) -> bool:
    """:func:`condition_holds` for a series kept as a :class:`Run`, counting from ``since``."""
    if run is None or run.since is None:
        return False
    now, since = now.astimezone(UTC), since.astimezone(UTC)
    if now - run.last > max_gap or run.last < since:  # stale, or nothing seen since the snooze
        return False
    return now - max(run.since, since) >= condition.hold


def series_key(labels: Mapping[str, str]) -> str:
    """A series' name in ``progress``: its labels, sorted, as JSON (unambiguous, unlike a
    ``k=v,…`` join, whatever the label values hold)."""
    return json.dumps(sorted(labels.items()), separators=(",", ":"))


def in_scope(
    condition: Condition, metric: str, labels: Mapping[str, str], scope: Mapping[str, str]
) -> bool:
    """Does this series speak for the snoozed incident? Its metric and the selector must
    match, and a series labelled with another model or service than the incident's
    (``scope``, e.g. ``{"model": "fraud-scorer"}``) is another subject's, never evidence
    here. A series without that label (a global ``error_rate``) counts."""
    return (
        metric == condition.metric
        and condition.matches(labels)
        and all(labels.get(key, value) == value for key, value in scope.items())
    )


def advance(
    runs: Mapping[str, Run],
    points: Iterable[Point],
    condition: Condition,
    now: datetime,
    *,
    max_gap: timedelta = MAX_GAP,
) -> dict[str, Run]:
    """Every series after the new ``points`` (already in scope). A point stamped after
    ``now`` counts as seen at ``now``: Prometheus stamps a query's result with its own
    evaluation time, a moment after the poll began, and such points were once dropped, so
    a snooze waiting on a Prometheus metric never saw one."""
    out = dict(runs)
    for labels, stamped, value in sorted(points, key=lambda p: p[1]):
        at = min(stamped, now)
        key = series_key(labels)
        out[key] = observe(out.get(key), at, value, condition, max_gap=max_gap)
    return out


def check_runs(
    snooze: Snooze,
    snoozed_at: datetime,
    now: datetime,
    runs: Iterable[Run],
    *,
    max_gap: timedelta = MAX_GAP,
) -> SnoozeCheck:
    """:func:`check_snooze` from the watcher's runs: over when every series seen since the
    snooze holds (one that stops reporting keeps it on: absence is not evidence), else by
    the time given or the cap."""
    cond, seen = snooze.condition, list(runs)
    if (
        cond is not None
        and seen
        and all(run_holds(r, cond, now, since=snoozed_at, max_gap=max_gap) for r in seen)
    ):
        return SnoozeCheck(True, "condition", None, held_text(snooze.incident_id, cond))
    return check_time(snooze, snoozed_at, now)


def runs_to_json(runs: Mapping[str, Run]) -> dict[str, Any]:
    """``progress`` as stored: ``{"series": {key: {"last": iso, "since": iso | null}}}``."""
    return {
        "series": {
            key: {"last": r.last.isoformat(), "since": r.since and r.since.isoformat()}
            for key, r in sorted(runs.items())
        }
    }


def runs_from_json(progress: Mapping[str, Any]) -> dict[str, Run]:
    """The runs back from ``progress``; an entry that does not read (hand-edited, an older
    shape) is dropped, which only ever makes the hold count again."""
    series = progress.get("series")
    out: dict[str, Run] = {}
    if not isinstance(series, Mapping):
        return out
    for key, raw in series.items():
        if not isinstance(key, str) or not isinstance(raw, Mapping):
            continue
        last, since = _instant(raw.get("last")), _instant(raw.get("since"))
        if last is not None:
            out[key] = Run(last, since)
    return out


def _instant(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return at.astimezone(UTC) if at.tzinfo is not None else None
