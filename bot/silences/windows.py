"""Maintenance windows: when a planned piece of work hushes the alerts it will cause. Pure.

A window is one-off (a start and a duration) or recurring (an RFC 5545 RRULE such as
``FREQ=WEEKLY;BYDAY=SU``, read by ``dateutil.rrule``: recurrence is not to be hand-written),
for some services or models, or for what its matchers select. This module says *when* a
window is on and *which* alerts its services and models name; the matchers are stored as
written and evaluated by the caller, which combines the two (``Window.covers`` and the
matchers must both hold).

Time rules (the on-call schedules' rules, ``bot.oncall.schedules.layers``, whose
``local_to_utc`` this module reuses):

* Occurrences are counted in the window's *local wall-clock time*: the rule runs over naive
  local readings, so "every Sunday 02:00" stays at 02:00 after the clocks change.
* Each occurrence's start is that reading converted to UTC, and its end is the reading
  ``start + duration`` (wall time) converted the same way. So "02:00-04:00 local" is 2 real
  hours on most days, and on a DST day it is what the clocks say:

  - clocks go forward (Europe/Berlin, last Sunday of March, 02:00 → 03:00): 02:00 never
    happens, a skipped reading means the instant of the jump, so the window is
    03:00-04:00 CEST: **one** real hour;
  - clocks go back (last Sunday of October, 03:00 → 02:00): a repeated reading means its
    first occurrence, so the window runs from the first 02:00 (CEST) to 04:00 CET, across
    the repeated hour: **three** real hours.

  An occurrence that falls entirely inside a skipped hour has no length and is left out.
* Every instant taken or returned is aware; those returned are in UTC.

The rule is bounded as RFC 5545 says (``COUNT``, ``UNTIL``), and it is only ever asked for a
range (``between``) or the next occurrence after a time (``xafter``), never iterated
unboundedly. ``UNTIL`` may be written in UTC (``…Z``, what RFC 5545 asks for with a zoned
start) or as a local reading; either bounds the local starts. The rule may not hold
``DTSTART``: ``start`` is when the first occurrence begins.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule as RRule
from dateutil.rrule import rrulestr

from bot.oncall.schedules.layers import aware_utc, local_to_utc

__all__ = [
    "Occurrence",
    "Window",
    "active",
    "next_change",
    "occurrences",
    "parse_rrule",
    "window_words",
]

_MARGIN = timedelta(days=2)
"""How far around a UTC range the local readings are searched: a local reading and its
instant differ by the zone's offset, and offsets change by at most a day (Samoa, 2011)."""
_TOO_OFTEN = ("MINUTELY", "SECONDLY")
_UTC_UNTIL = re.compile(r"UNTIL=(\d{8}(?:T\d{6})?)Z", re.IGNORECASE)
_EPSILON = timedelta(microseconds=1)
_TO = "\u2013"  # an en dash, on purpose: "02:00\u201304:00"


@dataclass(frozen=True)
class Occurrence:
    """One time a window is on: ``[start, end)``, in UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Window:
    """A maintenance window. ``start`` is the local wall time of the first occurrence in
    ``tz`` (naive, or aware: then read in ``tz``); ``rrule`` None is a one-off window."""

    name: str
    tz: ZoneInfo
    start: datetime
    duration: timedelta
    rrule: str | None = None
    services: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    matchers: tuple[str, ...] = ()
    """Raw matcher texts (``alertname=~"Latency.*"``), parsed and evaluated by the caller."""
    comment: str = ""
    rule: RRule | None = field(default=None, init=False, repr=False, compare=False)
    """The parsed ``rrule`` over naive local readings (None for a one-off window)."""

    def __post_init__(self) -> None:
        if self.duration <= timedelta():
            raise ValueError("a maintenance window must last longer than zero")
        if self.start.tzinfo is not None:
            local = self.start.astimezone(self.tz).replace(tzinfo=None, fold=0)
            object.__setattr__(self, "start", local)
        if self.rrule is not None:
            object.__setattr__(self, "rule", parse_rrule(self.rrule, self.start, self.tz))

    def covers(self, labels: Mapping[str, str]) -> bool:
        """Whether the alert's ``service`` is one of ``services`` or its ``model`` one of
        ``models``. An empty list does not restrict by it; with both empty every alert is
        covered (the config allows that only with matchers, or with ``all: true``). The
        matchers are not evaluated here: the caller requires them too."""
        if self.services and labels.get("service") in self.services:
            return True
        if self.models and labels.get("model") in self.models:
            return True
        return not self.services and not self.models


def parse_rrule(text: str, start: datetime, tz: ZoneInfo) -> RRule:
    """``FREQ=WEEKLY;BYDAY=SU`` (an ``RRULE:`` prefix is allowed) → the rule from ``start``
    (a naive local reading in ``tz``); ValueError in the words a user reads."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :].strip()
    if not body:
        raise ValueError("is empty; write a rule such as FREQ=WEEKLY;BYDAY=SU")
    if "DTSTART" in body.upper():
        raise ValueError("must not hold DTSTART: the window's start is when it first begins")
    if any(c in body for c in "\r\n:"):
        raise ValueError("must be one RRULE (FREQ=…;BYDAY=…), without EXDATE, RDATE or more lines")
    parts = {name.strip().upper(): value.strip() for name, _, value in _parts(body)}
    if parts.get("FREQ", "").upper() in _TOO_OFTEN:
        raise ValueError("recurs too often: a maintenance window recurs at most HOURLY")
    interval = parts.get("INTERVAL", "1")
    if interval.isdigit() and int(interval) < 1:
        raise ValueError("INTERVAL must be 1 or more")
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError("has both COUNT and UNTIL; RFC 5545 allows one of them")
    try:
        body = _UTC_UNTIL.sub(lambda m: "UNTIL=" + _until_local(m.group(1), tz), body)
        rule = rrulestr(body, dtstart=start.replace(tzinfo=None))
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"is not an RFC 5545 RRULE: {exc}") from None
    if not isinstance(rule, RRule):
        raise ValueError("must be one RRULE")
    return rule


def _parts(body: str) -> Iterator[tuple[str, str, str]]:
    return (part.partition("=") for part in body.split(";") if part.strip())


def _until_local(stamp: str, tz: ZoneInfo) -> str:
    """A UTC ``UNTIL`` (``20261231T235959``) → the same instant as a local reading in ``tz``."""
    utc = datetime.strptime(stamp, "%Y%m%dT%H%M%S" if "T" in stamp.upper() else "%Y%m%d")
    return f"{utc.replace(tzinfo=UTC).astimezone(tz):%Y%m%dT%H%M%S}"


def occurrences(window: Window, start: datetime, end: datetime) -> list[Occurrence]:
    """The occurrences overlapping ``[start, end)`` (aware), in order, including one that
    began before ``start`` and is still on."""
    lo, hi = aware_utc(start, "start"), aware_utc(end, "end")
    return [o for o in _around(window, lo - window.duration, hi) if o.start < hi and o.end > lo]


def active(window: Window, at: datetime) -> Occurrence | None:
    """The occurrence that contains ``at`` (aware), if any (the latest to start, should two
    overlap)."""
    instant = aware_utc(at, "at")
    on = occurrences(window, instant, instant + _EPSILON)
    return on[-1] if on else None


def next_change(window: Window, after: datetime) -> datetime | None:
    """The next start or end strictly after ``after``: when a timer should announce the
    window opening or closing. None once the window has no more occurrences."""
    instant = aware_utc(after, "after")
    first: Occurrence | None = None
    for occ in _from(window, instant - window.duration):
        if first is None:
            if occ.end > instant:
                first = occ
            continue
        # Starts and ends never go backwards, so only the occurrence after the first one
        # still running could begin before that one ends.
        candidates = [t for t in (first.start, first.end, occ.start) if t > instant]
        return min(candidates)
    if first is None:
        return None
    return first.start if first.start > instant else first.end


def _wall(at: datetime, tz: ZoneInfo) -> datetime:
    return at.astimezone(tz).replace(tzinfo=None)


def _occurrence(window: Window, local: datetime) -> Occurrence:
    return Occurrence(
        local_to_utc(local, window.tz), local_to_utc(local + window.duration, window.tz)
    )


def _around(window: Window, lo: datetime, hi: datetime) -> list[Occurrence]:
    """The non-empty occurrences whose local start lies near ``[lo, hi]`` (UTC)."""
    if window.rule is None:
        starts = [window.start]
    else:
        lo_local, hi_local = _wall(lo, window.tz) - _MARGIN, _wall(hi, window.tz) + _MARGIN
        starts = window.rule.between(lo_local, hi_local, inc=True)
    return [o for o in (_occurrence(window, s) for s in starts) if o.start < o.end]


def _from(window: Window, lo: datetime) -> Iterator[Occurrence]:
    """The non-empty occurrences from a little before ``lo`` on, lazily (``xafter`` stops
    at COUNT or UNTIL; the caller stops after two)."""
    if window.rule is None:
        starts: Iterator[datetime] = iter([window.start])
    else:
        starts = window.rule.xafter(_wall(lo, window.tz) - _MARGIN, inc=True)
    return (o for o in (_occurrence(window, s) for s in starts) if o.start < o.end)


def window_words(
    window: Window, occ: Occurrence, tz_of_reader: ZoneInfo | None = None, *, over: bool = False
) -> str:
    """``Maintenance window 'db-migration' (service payments) is on until 04:00
    Europe/Berlin (Sun 6 Dec, 02:00-04:00)``; ``over`` says it has ended instead. Times are
    the window's zone's unless the reader's is given."""
    tz = tz_of_reader or window.tz
    start, end = occ.start.astimezone(tz), occ.end.astimezone(tz)
    span = f"{_day(start)}, {start:%H:%M}{_TO}{end:%H:%M}"
    if start.utcoffset() != end.utcoffset():  # the clocks change during it: say how
        span = f"{_day(start)}, {start:%H:%M %Z}{_TO}{end:%H:%M %Z}"
    if end.date() != start.date():
        span = f"{_day(start)} {start:%H:%M} {_TO} {_day(end)} {end:%H:%M}"
    state = "is over" if over else f"is on until {end:%H:%M} {tz.key}"
    return f"Maintenance window {window.name!r} ({_subject(window)}) {state} ({span})"


def _day(at: datetime) -> str:
    return f"{at:%a} {at.day} {at:%b}"


def _subject(window: Window) -> str:
    """What the window hushes, in words: ``service payments; model fraud; alertname=~"x"``."""
    said = [
        _listed("service", window.services),
        _listed("model", window.models),
        ", ".join(window.matchers),
    ]
    return "; ".join(s for s in said if s) or "all alerts"


def _listed(what: str, names: tuple[str, ...]) -> str:
    if not names:
        return ""
    return f"{what}{'s' if len(names) > 1 else ''} {', '.join(names)}"
