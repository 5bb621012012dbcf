"""A beat's body, the metrics a heartbeat yields, and a beat's problems in words. Pure.

A plain heartbeat only notices silence; these also look at what the run produced, because a
job that ran but wrote nothing, or wrote a different schema, is what hurts a model::

    POST /api/v1/heartbeats/fraud-scoring
    {"rows": 48210, "schema_hash": "9f2c…", "label_delay_seconds": 5400,
     "timestamp": "2026-11-24T02:00:00Z"}

Every field is optional (an empty body is a plain "I ran"). ``timestamp`` is when the run
finished (default: when the beat arrived); lateness counts from it. From a heartbeat's
stored state, ``readings`` gives one value per metric, labelled ``heartbeat=<name>`` plus
the spec's labels, for the rules of ``rules/default.yaml``:

- ``heartbeat_overdue_seconds``: now - last run (or, never run, when Vigil first knew the
  heartbeat) - every - grace; negative while on time, emitted always;
- ``heartbeat_rows``: the last run's row count, when it sent one;
- ``heartbeat_schema_changed``: 1 when the last run's schema hash differs from the expected
  one (the pinned ``schema_hash``, else the first hash received), else 0;
- ``heartbeat_label_delay_seconds``: the last run's label delay, when it sent one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import NamedTuple

from bot.core.durations import short_duration
from bot.heartbeats.spec import MAX_SCHEMA_HASH, HeartbeatSpec
from bot.ingest.validate import (
    bounded_text,
    child,
    fail,
    json_type,
    optional_time,
    require_object,
)

FIELDS = ("rows", "schema_hash", "label_delay_seconds", "timestamp")
#: How far in the future a job's clock may put ``timestamp`` before it is refused.
MAX_SKEW = timedelta(minutes=5)
MAX_ROWS = 2**63 - 1
OVERDUE = "heartbeat_overdue_seconds"
ROWS = "heartbeat_rows"
SCHEMA_CHANGED = "heartbeat_schema_changed"
LABEL_DELAY = "heartbeat_label_delay_seconds"
_SHOWN_HASH = 16


@dataclass(frozen=True)
class Beat:
    """One run's report: when it finished, and what it says about its data."""

    at: datetime
    rows: int | None = None
    schema_hash: str | None = None
    label_delay_s: float | None = None


@dataclass(frozen=True)
class HeartbeatState:
    """What Vigil remembers of one heartbeat: the last run (by finish time) and the count.

    ``learned_schema_hash`` is the first hash ever received: the expected one unless the
    spec pins ``schema_hash``.
    """

    known_since: datetime
    last_beat_at: datetime | None = None
    last_rows: int | None = None
    last_schema_hash: str | None = None
    learned_schema_hash: str | None = None
    last_label_delay_s: float | None = None
    beats: int = 0


class Reading(NamedTuple):
    """One metric value of one heartbeat, before it becomes a ``Sample``."""

    metric: str
    value: float
    labels: Mapping[str, str]
    notes: Mapping[str, str] = MappingProxyType({})  # evidence for the alert (schema hashes)


def parse_beat(payload: object, *, now: datetime) -> Beat:
    """Validate a decoded body (``{}`` for an empty one); ``ValidationError`` names the field."""
    body = require_object(payload, "")
    extra = sorted(set(body) - set(FIELDS))
    if extra:
        raise fail(child("", extra[0]), f"is not a heartbeat field ({', '.join(FIELDS)})")
    at = optional_time(body.get("timestamp"), "timestamp") or now
    if at > now + MAX_SKEW:
        raise fail(
            "timestamp",
            f"is {short_duration(at - now)} in the future; send when the run finished "
            f"(clocks may differ by at most {short_duration(MAX_SKEW)})",
        )
    schema = body.get("schema_hash")
    return Beat(
        at=min(at, now),
        rows=_rows(body.get("rows")),
        schema_hash=None
        if schema is None
        else bounded_text(schema, "schema_hash", max_len=MAX_SCHEMA_HASH),
        label_delay_s=_seconds(body.get("label_delay_seconds"), "label_delay_seconds"),
    )


def _rows(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        rows = value
    elif isinstance(value, float) and value.is_integer():
        rows = int(value)
    else:
        shown = repr(value) if isinstance(value, float) else json_type(value)
        raise fail("rows", f"must be a whole number, not {shown}")
    if not 0 <= rows <= MAX_ROWS:
        raise fail("rows", f"must be between 0 and {MAX_ROWS}, got {rows}")
    return rows


def _seconds(value: object, path: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(path, f"must be a number of seconds, not {json_type(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        number = math.inf
    if not math.isfinite(number) or number < 0:
        raise fail(path, f"must be a finite number of seconds >= 0, got {value!r}")
    return number


def expected_hash(spec: HeartbeatSpec, state: HeartbeatState) -> str | None:
    """The schema hash runs should have: the pinned one, else the first one received."""
    return spec.schema_hash or state.learned_schema_hash


def late_after(spec: HeartbeatSpec, last: datetime) -> datetime:
    """When a heartbeat last heard from at ``last`` becomes late: every + grace later."""
    return last + spec.every + spec.grace


def overdue_seconds(spec: HeartbeatSpec, state: HeartbeatState, now: datetime) -> float:
    """Seconds past every + grace since the last run (or since Vigil knew it); < 0 on time."""
    last = state.last_beat_at or state.known_since
    return (now - late_after(spec, last)).total_seconds()


def readings(spec: HeartbeatSpec, state: HeartbeatState, now: datetime) -> list[Reading]:
    """The heartbeat's metrics as of ``now`` (see the module docstring)."""
    labels = {**spec.labels, "heartbeat": spec.name}
    out = [Reading(OVERDUE, overdue_seconds(spec, state, now), labels)]
    if state.last_rows is not None:
        out.append(Reading(ROWS, float(state.last_rows), labels))
    expected = expected_hash(spec, state)
    if state.last_schema_hash is not None and expected is not None:
        changed = state.last_schema_hash != expected
        detail = f"expected {_short(expected)}, got {_short(state.last_schema_hash)}"
        notes = {"detail": detail} if changed else {}
        out.append(Reading(SCHEMA_CHANGED, float(changed), labels, notes))
    if state.last_label_delay_s is not None:
        out.append(Reading(LABEL_DELAY, state.last_label_delay_s, labels))
    return out


def problems(
    spec: HeartbeatSpec,
    beat: Beat,
    expected: str | None,
    now: datetime,
    *,
    latest: datetime | None = None,
) -> list[str]:
    """What is wrong with this run, in words, for the job's own log; empty when fine.

    ``expected`` is the schema hash the run should have had (``expected_hash`` after the
    beat was recorded: a first hash is learned, not a change). ``latest`` is the newest run
    Vigil knows of (this one unless an older run was reported late): lateness counts from it.
    """
    found: list[str] = []
    if beat.rows == 0:
        found.append("0 rows")
    if beat.schema_hash is not None and expected is not None and beat.schema_hash != expected:
        found.append(f"schema changed: expected {_short(expected)}, got {_short(beat.schema_hash)}")
    limit = spec.max_label_delay
    if beat.label_delay_s is not None and limit is not None and beat.label_delay_s > limit:
        found.append(
            f"label delay {short_duration(timedelta(seconds=beat.label_delay_s))} over the "
            f"{short_duration(timedelta(seconds=limit))} limit"
        )
    last = max(latest or beat.at, beat.at)
    if late_after(spec, last) < now:
        found.append(
            f"late already: the run finished {short_duration(now - last)} ago, "
            f"more than every {short_duration(spec.every)} + grace {short_duration(spec.grace)}"
        )
    return found


def _short(digest: str) -> str:
    return digest if len(digest) <= _SHOWN_HASH else digest[:_SHOWN_HASH] + "…"
