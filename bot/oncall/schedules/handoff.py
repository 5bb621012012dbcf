"""Handoffs: the instants an on-call schedule changes hands, and the notice that says so.

Pure (no I/O, no clock): ``watch.py`` does the timers and the posting. Why this shape:

- **A handoff is a change of person, nothing else.** It is read off the *final* shifts of
  ``layers.py``, which already merge back-to-back pieces of one person (two turns in a
  row, an override followed by their own shift), so a boundary where the same person
  continues is no handoff, while an override's start and end are handoffs like any other.
  A stretch with nobody on call (a restricted layer with nothing below it) is a change too:
  ``to_person`` is None, since "nobody is on call now" is what the team must hear then.
- **Bounded searches.** Both searches look a little way first and widen (four times, up to
  a limit), like ``on_call``: a schedule whose only participant never hands off costs a few
  calls and answers None; it never loops.
- **What someone coming on shift needs.** The notice's first line says who is on call, for
  which schedule, until when, taking over from whom, and who is next; then the open
  incidents they inherit with severity and state. A notice posted late (Vigil was down over
  the handoff) says "since" instead of "now", and is about the latest handoff only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from bot.oncall.schedules.layers import (
    OVERRIDE,
    SEARCH_LIMIT,
    Schedule,
    Shift,
    aware_utc,
    final_shifts,
    local_when,
    next_shift,
    on_call,
    widening,
)

LATE = timedelta(minutes=15)
"""A notice posted this long after its handoff says so ("since 09:00")."""
MAX_LISTED = 5  # open incidents named in a notice; the rest are counted
_TICK = timedelta(microseconds=1)

_Change = tuple[datetime, str | None, str | None]  # at (UTC), from, to


@dataclass(frozen=True)
class Handoff:
    """``schedule`` passes from ``from_person`` to ``to_person`` at ``at`` (UTC; None: nobody).

    ``until`` is when ``to_person``'s shift ends (with nobody on call: when someone comes on);
    None when further than the search limit. ``next_person`` comes on at ``next_at``, which is
    later than ``until`` when nobody is on call in between. ``source`` says what puts
    ``to_person`` on call (``"layer primary"``, ``"override (swap)"``)."""

    schedule: str
    at: datetime
    from_person: str | None
    to_person: str | None
    until: datetime | None
    next_person: str | None
    next_at: datetime | None
    source: str = ""


@dataclass(frozen=True)
class OpenIncident:
    """What a notice says of one open incident; ``by`` moved it into its ``state``."""

    id: int
    severity: str
    title: str
    state: str
    by: str | None = None


def can_hand_off(schedule: Schedule) -> bool:
    """Whether ``schedule`` can ever change hands: two people across its layers and overrides.

    One person alone (even with gaps) is never worth a notice, and watching such a schedule
    would only cost searches that find nothing."""
    people = {p for layer in schedule.layers for p in layer.participants}
    people.update(o.person for o in schedule.overrides)
    return len(people) >= 2


def next_handoff(
    schedule: Schedule, after: datetime, *, limit: timedelta = SEARCH_LIMIT
) -> Handoff | None:
    """The first handoff strictly after ``after`` (aware) and within ``limit``, else None."""
    after = aware_utc(after, "after")
    for window in widening(schedule, limit):
        end = after + window
        changes = _changes(final_shifts(schedule, after, end), after, end)
        if changes:
            return _handoff(schedule, changes[0])
    return None


def last_handoff(
    schedule: Schedule, at: datetime, *, limit: timedelta = SEARCH_LIMIT
) -> Handoff | None:
    """The latest handoff in ``(at - limit, at]``, else None: what a late notice is about."""
    at = aware_utc(at, "at")
    for window in widening(schedule, limit):
        start, end = at - window, at + _TICK
        changes = _changes(final_shifts(schedule, start, end), start, end)
        if changes:
            return _handoff(schedule, changes[-1])
    return None


def _changes(shifts: list[Shift], start: datetime, end: datetime) -> list[_Change]:
    """Every change of person strictly inside ``(start, end)``, in order, from the final
    shifts of ``[start, end)`` (edges clipped by the range are not changes)."""
    out: list[_Change] = []
    previous: Shift | None = None
    for shift in shifts:
        if previous is not None and previous.end < shift.start:
            out.append((previous.end, previous.person, None))  # a gap: nobody on call
        if shift.start > start:
            joined = previous is not None and previous.end == shift.start
            handing = previous.person if joined and previous is not None else None
            out.append((shift.start, handing, shift.person))
        previous = shift
    if shifts and shifts[-1].end < end:
        out.append((shifts[-1].end, shifts[-1].person, None))
    return out


def _handoff(schedule: Schedule, change: _Change) -> Handoff:
    at, before, after = change
    if after is None:
        coming = next_shift(schedule, at)
        return Handoff(
            schedule.name,
            at,
            before,
            None,
            until=coming.start if coming else None,
            next_person=coming.person if coming else None,
            next_at=coming.start if coming else None,
        )
    now = on_call(schedule, at)
    assert now is not None  # a change to someone: they are on call at that instant
    return Handoff(
        schedule.name,
        at,
        before,
        after,
        until=now.until,
        next_person=now.next_person,
        next_at=now.next_at,
        source=now.source,
    )


# ----------------------------------------------------------------------------- wording


def handoff_text(
    handoff: Handoff,
    tz: ZoneInfo,
    open_incidents: Sequence[OpenIncident],
    *,
    now: datetime | None = None,
    late_after: timedelta = LATE,
    total: int | None = None,
) -> str:
    """The notice for the team channel: what happened first, then the open incidents
    (``total`` of them, when more are open than ``open_incidents`` holds).

    ``now`` is when it is posted (default: at the handoff); later than ``late_after`` after
    the handoff, it says "since" and that the notice is late rather than "now"."""
    now = aware_utc(now, "now") if now is not None else handoff.at
    when = partial(local_when, tz=tz, now=now)
    late = now - handoff.at > late_after
    since = f" since {when(handoff.at)}," if late else ""
    if handoff.to_person is None:
        verb = "nobody has been on call" if late else "nobody is on call"
        line = _nobody(handoff, verb, since, when)
    else:
        verb = "has been on call" if late else "is now on call"
        took = f"took over from {handoff.from_person}" if handoff.from_person else "nobody before"
        line = f"{handoff.to_person} {verb} for {handoff.schedule}{since}"
        line += _rest(handoff, took, when)
        if handoff.source.startswith(OVERRIDE):
            line += f" Via {handoff.source}."
    head = "📟 Handoff (late notice): " if late else "📟 Handoff: "
    return head + line + "\n" + incidents_text(open_incidents, total=total)


def _nobody(handoff: Handoff, verb: str, since: str, when: Callable[[datetime], str]) -> str:
    """``nobody is on call for ml-oncall until … (@alice's shift ended); next: @bob. …``"""
    name = handoff.schedule
    ended = f" ({handoff.from_person}'s shift ended)" if handoff.from_person else ""
    if handoff.next_person is None or handoff.next_at is None:
        line = f"{verb} for {name}{since.rstrip(',')}{ended}; nobody is scheduled in the next year."
    else:
        until = when(handoff.next_at)
        line = f"{verb} for {name}{since} until {until}{ended}; next: {handoff.next_person}."
    return line + f" Until then, pages for {name} go to the escalation fallback."


def _rest(handoff: Handoff, took: str, when: Callable[[datetime], str]) -> str:
    """`` until Mon 7 Dec 09:00 CET (took over from @alice); next: @carol.`` and variants."""
    if handoff.until is None:
        return f" with no handoff in the next year ({took})."
    out = f" until {when(handoff.until)} ({took}); "
    if handoff.next_person is None or handoff.next_at is None:
        return out + "nobody is scheduled after that."
    if handoff.next_at > handoff.until:
        return out + f"then nobody until {when(handoff.next_at)}; next: {handoff.next_person}."
    return out + f"next: {handoff.next_person}."


def incidents_text(open_incidents: Sequence[OpenIncident], *, total: int | None = None) -> str:
    """``Open incidents: #12 P2 fraud-scorer drift (acknowledged by @alice).`` or none;
    ``total`` counts the open ones beyond those given (the list read may be cut)."""
    if not open_incidents:
        return "No open incidents."
    named = "; ".join(_incident(i) for i in open_incidents[:MAX_LISTED])
    more = max(total or 0, len(open_incidents)) - min(len(open_incidents), MAX_LISTED)
    tail = f"; and {more} more (/incident list)" if more > 0 else ""
    return f"Open incidents: {named}{tail}."


def _incident(incident: OpenIncident) -> str:
    if incident.state == "triggered":
        state = "not acknowledged yet"
    else:
        state = incident.state + (f" by {incident.by}" if incident.by else "")
    return f"#{incident.id} {incident.severity} {incident.title} ({state})"
