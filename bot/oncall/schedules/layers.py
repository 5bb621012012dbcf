"""On-call schedules: layered rotations plus overrides, as pure functions of time.

Modelled on PagerDuty and Grafana OnCall schedules. A *layer* is a rotation: participants
take turns, one shift each, counted from a handoff anchor. A schedule stacks layers, lowest
first; at any moment the *final* schedule is the latest override that covers it, else the
highest layer that has someone, else nobody. A layer with a ``restrict`` window (say business
hours) has nobody outside it, so a lower layer shows through there. The ``vigil.yaml``
format and its parsing live in ``config.py``; a ``rotations:`` entry is a schedule of one
layer (``roster.py``); the words of ``/incident oncall`` are ``bot.oncall.status``.

Time rules, and why:

* Shifts and restriction windows are counted in the layer's *local wall-clock time*: a
  weekly handoff on Monday 09:00 stays at 09:00 after the clocks change, so the week
  containing a DST change is 167 or 169 real hours long, and a 12h rotation keeps handing
  off at 09:00 and 21:00.
* A local time that happens twice (fall back) means its first occurrence.
* A local time that never happens (spring forward, e.g. 02:30 in Berlin on 29 Mar 2026)
  means the instant the clocks jump (03:00 CEST). RFC 5545 would read it as 03:30 instead,
  but that mapping runs backwards in time around the gap (02:30 would come after 03:00), so
  short custom rotations could get shifts of negative length. With ours, handoffs never go
  backwards; a shift that falls entirely inside the gap has no length and is skipped, and
  that participant simply misses that turn.
* Every instant this module returns is in UTC: comparing or subtracting two datetimes that
  share one ZoneInfo uses wall-clock readings in Python, which is wrong across DST. Convert
  with ``schedule.tz`` to show them (``local_when``: how every answer and notice shows one).
* A shift is one person's uninterrupted time on call: back-to-back pieces for the same person
  (two turns in a row, an override followed by their own shift) merge into one, so "until"
  is when that person really stops being on call.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from bot.core.durations import short_duration

MIN_ROTATION = timedelta(hours=1)  # PagerDuty's minimum too; shorter is not an on-call shift
SEARCH_LIMIT = timedelta(days=366)  # how far on_call looks back and ahead
OVERRIDE = "override"

_Piece = tuple[datetime, datetime, str]  # start, end (UTC), person


def local_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall-clock reading in ``tz`` → the instant, in UTC (see the module rules)."""
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == local.replace(fold=0):
        return first
    # Skipped reading: fold=1 lands before the jump and fold=0 after it; bisect for the jump.
    lo = int(local.replace(tzinfo=tz, fold=1).timestamp())
    hi = int(first.timestamp())
    before = datetime.fromtimestamp(lo, tz).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


def aware_utc(at: datetime, what: str = "time") -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware")
    return at.astimezone(UTC)


@dataclass(frozen=True)
class Restriction:
    """When a layer has anyone: ``days`` (0 = Monday) from ``start`` to ``end`` minutes after
    local midnight. ``end <= start`` is an overnight window that begins on a listed day."""

    days: frozenset[int] = frozenset(range(7))
    start: int = 0
    end: int = 24 * 60

    def windows(
        self, tz: ZoneInfo, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """The UTC windows that overlap ``[start, end)``, clipped to it, merged, in order."""
        span = self.end - self.start if self.end > self.start else self.end + 1440 - self.start
        day = start.astimezone(tz).date() - timedelta(days=1)
        last = end.astimezone(tz).date()
        out: list[tuple[datetime, datetime]] = []
        while day <= last:
            if day.weekday() in self.days:
                opens = datetime.combine(day, time()) + timedelta(minutes=self.start)
                lo = max(local_to_utc(opens, tz), start)
                hi = min(local_to_utc(opens + timedelta(minutes=span), tz), end)
                if lo < hi:
                    if out and out[-1][1] >= lo:
                        out[-1] = (out[-1][0], max(out[-1][1], hi))
                    else:
                        out.append((lo, hi))
            day += timedelta(days=1)
        return out


@dataclass(frozen=True)
class Layer:
    """One rotation: ``participants`` in turn, ``length`` of local wall-clock time each, the
    first turn starting at ``handoff`` (a naive local reading in ``tz``)."""

    name: str
    participants: tuple[str, ...]
    length: timedelta
    handoff: datetime
    tz: ZoneInfo
    restrict: Restriction | None = None
    shortest: timedelta = field(default=MIN_ROTATION, compare=False, repr=False)
    """The shortest turn allowed: a schedule's layer turns last 1h or more; a ``rotations:``
    entry (``roster.py``), a one-layer schedule, has always allowed shifts from 1m."""

    def __post_init__(self) -> None:
        if not self.participants:
            raise ValueError(f"layer {self.name!r} has no participants")
        if self.length < self.shortest:
            least = short_duration(self.shortest)
            raise ValueError(f"layer {self.name!r}: a rotation must last at least {least}")
        if self.handoff.tzinfo is not None:
            object.__setattr__(
                self, "handoff", self.handoff.astimezone(self.tz).replace(tzinfo=None)
            )

    def boundary(self, turn: int) -> datetime:
        """When turn number ``turn`` starts (turn 0 at the anchor; negative turns before)."""
        return local_to_utc(self.handoff + turn * self.length, self.tz)

    def turn_at(self, at: datetime) -> int:
        """The turn whose (non-empty) shift contains the UTC instant ``at``."""
        local = at.astimezone(self.tz).replace(tzinfo=None)
        turn = (local - self.handoff) // self.length
        while self.boundary(turn) > at:
            turn -= 1
        while self.boundary(turn + 1) <= at:
            turn += 1
        return turn

    def pieces(self, start: datetime, end: datetime) -> list[_Piece]:
        """Who this layer has on call within ``[start, end)`` (UTC), restriction applied."""
        out: list[_Piece] = []
        turn = self.turn_at(start)
        begins = self.boundary(turn)
        while begins < end:
            ends = self.boundary(turn + 1)
            lo, hi = max(begins, start), min(ends, end)
            if lo < hi:
                out.append((lo, hi, self.participants[turn % len(self.participants)]))
            turn, begins = turn + 1, ends
        if self.restrict is None:
            return out
        return _intersect(out, self.restrict.windows(self.tz, start, end))


def _intersect(pieces: list[_Piece], windows: list[tuple[datetime, datetime]]) -> list[_Piece]:
    out: list[_Piece] = []
    i = j = 0
    while i < len(pieces) and j < len(windows):
        lo = max(pieces[i][0], windows[j][0])
        hi = min(pieces[i][1], windows[j][1])
        if lo < hi:
            out.append((lo, hi, pieces[i][2]))
        if pieces[i][1] <= windows[j][1]:
            i += 1
        else:
            j += 1
    return out


@dataclass(frozen=True)
class Override:
    """``person`` covers ``[start, end)``, whatever the layers say. Stored in UTC.

    ``uid`` names an imported override (its calendar event's UID), so a re-import replaces
    it instead of stacking a copy; empty for the overrides written in ``vigil.yaml``."""

    person: str
    start: datetime
    end: datetime
    reason: str = ""
    uid: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", aware_utc(self.start, "override start"))
        object.__setattr__(self, "end", aware_utc(self.end, "override end"))
        if self.end <= self.start:
            raise ValueError("an override must end after it starts")

    @property
    def source(self) -> str:
        return f"{OVERRIDE} ({self.reason})" if self.reason else OVERRIDE


@dataclass(frozen=True)
class Schedule:
    """Layers lowest first; among overlapping overrides the later one in the list wins."""

    name: str
    tz: ZoneInfo
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True)
class Part:
    """A stretch of a shift that one source gives: ``"layer primary"`` or ``"override (swap)"``."""

    source: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Shift:
    """One person's uninterrupted time on call, made of one or more parts in order."""

    person: str
    start: datetime
    end: datetime
    parts: tuple[Part, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(part.source for part in self.parts)


@dataclass(frozen=True)
class OnCallNow:
    """Who is on call at one instant, and why (``source``, in charge until ``source_until``).

    ``since``/``until`` bound the whole shift and are None when further away than the search
    limit; ``next_at`` is later than ``until`` when nobody is on call in between."""

    schedule: str
    person: str
    source: str
    source_until: datetime
    since: datetime | None
    until: datetime | None
    next_person: str | None
    next_at: datetime | None
    shift: Shift


def final_shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The final schedule within ``[start, end)``: shifts in order, clipped to the range.

    Times when nobody is on call are simply absent. Used by iCal export and "who is next".
    """
    start, end = aware_utc(start, "start"), aware_utc(end, "end")
    if end <= start:
        return []
    layers = [layer.pieces(start, end) for layer in schedule.layers]
    starts = [[p[0] for p in pieces] for pieces in layers]
    overrides = [o for o in schedule.overrides if o.start < end and o.end > start]
    cuts = {start, end}
    for pieces in layers:
        cuts.update(t for p in pieces for t in p[:2])
    cuts.update(t for o in overrides for t in (o.start, o.end) if start < t < end)
    shifts: list[Shift] = []
    for lo, hi in pairwise(sorted(cuts)):
        who = _who(lo, schedule, layers, starts, overrides)
        if who is None:
            continue
        person, source = who
        last = shifts[-1] if shifts else None
        if last is None or last.person != person or last.end != lo:
            shifts.append(Shift(person, lo, hi, (Part(source, lo, hi),)))
            continue
        tail = last.parts[-1]
        if tail.source == source:
            parts = (*last.parts[:-1], Part(source, tail.start, hi))
        else:
            parts = (*last.parts, Part(source, lo, hi))
        shifts[-1] = Shift(person, last.start, hi, parts)
    return shifts


def _who(
    at: datetime,
    schedule: Schedule,
    layers: list[list[_Piece]],
    starts: list[list[datetime]],
    overrides: list[Override],
) -> tuple[str, str] | None:
    for override in reversed(overrides):
        if override.start <= at < override.end:
            return override.person, override.source
    for layer, pieces, begins in zip(
        reversed(schedule.layers), reversed(layers), reversed(starts), strict=True
    ):
        i = bisect_right(begins, at) - 1
        if i >= 0 and at < pieces[i][1]:
            return pieces[i][2], f"layer {layer.name}"
    return None


def on_call(
    schedule: Schedule, at: datetime, *, limit: timedelta = SEARCH_LIMIT
) -> OnCallNow | None:
    """Who is on call at ``at`` (aware), since and until when, and who is next; None: nobody.

    Looks two of the longest turns either side first and widens the view (up to ``limit``)
    only when the shift or the next one reaches its edge, so the usual answer costs little.
    """
    at = aware_utc(at, "at")
    for window in widening(schedule, limit):
        shifts = final_shifts(schedule, at - window, at + window)
        index = next((i for i, s in enumerate(shifts) if s.start <= at < s.end), None)
        if index is None:
            return None
        shift = shifts[index]
        nxt = shifts[index + 1] if index + 1 < len(shifts) else None
        open_start = shift.start == at - window
        open_end = shift.end == at + window
        if not (open_start or open_end or nxt is None):
            break
    part = next(p for p in shift.parts if p.start <= at < p.end)
    return OnCallNow(
        schedule=schedule.name,
        person=shift.person,
        source=part.source,
        source_until=part.end,
        since=None if open_start else shift.start,
        until=None if open_end else shift.end,
        next_person=nxt.person if nxt else None,
        next_at=nxt.start if nxt else None,
        shift=shift,
    )


def _first_window(schedule: Schedule) -> timedelta:
    """How far to look first: two of the longest turns usually show this shift and the next."""
    return max([timedelta(days=1), *(2 * layer.length for layer in schedule.layers)])


def widening(schedule: Schedule, limit: timedelta) -> Iterator[timedelta]:
    """Spans to search, smallest first: two of the longest turns, then four times wider each
    time, the last exactly ``limit``. Most searches end in the first, cheaply; one that can
    find nothing (a schedule of one person) ends at ``limit`` instead of looping."""
    window = _first_window(schedule)
    while True:
        window = min(window, limit)
        yield window
        if window >= limit:
            return
        window *= 4


def next_shift(
    schedule: Schedule, at: datetime, *, limit: timedelta = SEARCH_LIMIT
) -> Shift | None:
    """The first shift starting after ``at`` (aware), within ``limit``; None if there is none."""
    at = aware_utc(at, "at")
    for window in widening(schedule, limit):
        later = [s for s in final_shifts(schedule, at, at + window) if s.start > at]
        if later:
            return later[0]
    return None


def local_when(at: datetime, tz: ZoneInfo, now: datetime) -> str:
    """``Sat 7 Mar 09:00 CET``, the year only when it is not ``now``'s: how an answer or a
    handoff notice shows an instant of a schedule."""
    local = at.astimezone(tz)
    year = f" {local.year}" if local.year != now.astimezone(tz).year else ""
    return f"{local:%a} {local.day} {local:%b}{year} {local:%H:%M %Z}"
