"""The answer to ``/incident oncall``, worded without I/O from the config and the time:
a schedule's (``oncall_answer``, also what ``vigil schedule`` shows), a rotation's, and how a
page escalates. The time maths it words is ``bot.oncall.schedules.layers``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.core.durations import short_relative
from bot.oncall.paging.escalation import describe
from bot.oncall.paging.routing import Routing, describe_routing
from bot.oncall.schedules.layers import (
    OVERRIDE,
    Schedule,
    aware_utc,
    local_when,
    next_shift,
    on_call,
)
from bot.oncall.schedules.roster import Rotation
from bot.oncall.settings import OncallSettings


def _when(at: datetime) -> str:
    return at.strftime("%a %d %b %H:%M %Z")


def oncall_text(
    settings: OncallSettings,
    now: datetime,
    schedule: str | None = None,
    schedules: Mapping[str, Schedule] | None = None,
) -> str:
    """Who is on call now and until when, who is next, and how a page escalates; with a
    ``schedule`` name (a schedule's or a rotation's: escalation levels name both, and the
    person asking cannot tell which one a name is), that one's answer only. ``schedules``:
    the schedules with their imported overrides, when the caller has read them (else the
    configured ones)."""
    book = settings.schedules if schedules is None else schedules
    if schedule is not None:
        return _one(settings, book, schedule, now)
    lines: list[str] = [f"📟 {oncall_answer(s, now)}" for s in book.values()]
    lines += [f"📟 {_rotation_line(r, now)}" for r in settings.rotations.values()]
    if not settings.routing.policies:
        lines.append(
            "No escalation policy is configured, so nobody is paged. Add `escalation:` to "
            "vigil.yaml (see vigil.example.yaml)."
        )
    else:
        lines.extend(paging_lines(settings.routing))
    return "\n".join(lines)


def _one(settings: OncallSettings, book: Mapping[str, Schedule], name: str, now: datetime) -> str:
    """The answer for one schedule or rotation; when nothing has that name, every name
    there is, of both kinds, so the next try is a copy."""
    found = book.get(name)
    if found is not None:
        return oncall_answer(found, now)
    rotation = settings.rotations.get(name)
    if rotation is not None:
        return _rotation_line(rotation, now)
    schedules = ", ".join(sorted(book)) or "none"
    rotations = ", ".join(sorted(settings.rotations)) or "none"
    if not book and not settings.rotations:
        return (
            f"Nothing on call is named {name!r}: no schedules or rotations are configured "
            "(schedules: or rotations: in vigil.yaml)."
        )
    return f"Nothing on call is named {name!r}. Schedules: {schedules}. Rotations: {rotations}."


def oncall_answer(schedule: Schedule, now: datetime) -> str:
    """The text of ``/incident oncall SCHEDULE``: who, until when, who next; then the source
    when it is not obvious (an override, or one of several layers)."""
    now = aware_utc(now, "now")
    name, tz = schedule.name, schedule.tz
    current = on_call(schedule, now)
    if current is None:
        coming = next_shift(schedule, now)
        if coming is None:
            return f"Nobody is on call for {name}, and nobody is scheduled in the next year."
        return (
            f"Nobody is on call for {name} until {local_when(coming.start, tz, now)} "
            f"(in {short_relative(coming.start - now)}); next: {coming.person}. "
            f"Until then, pages for {name} go to the escalation fallback."
        )
    if current.until is None:
        line = f"{current.person} is on call for {name}, with no handoff in the next year."
    else:
        line = (
            f"{current.person} is on call for {name} until {local_when(current.until, tz, now)} "
            f"(in {short_relative(current.until - now)}); "
        )
        if current.next_person is None:
            line += "nobody is scheduled after that."
        elif current.next_at is not None and current.next_at > current.until:
            line += (
                f"then nobody until {local_when(current.next_at, tz, now)}; "
                f"next: {current.next_person}."
            )
        else:
            line += f"next: {current.next_person}."
    later = [p.source for p in current.shift.parts if p.start >= current.source_until]
    if current.source.startswith(OVERRIDE) or len(schedule.layers) > 1 or later:
        via = f"Via {current.source}"
        if later:
            via += (
                f" until {local_when(current.source_until, tz, now)}, then {', then '.join(later)}"
            )
        line += f"\n{via}."
    return line


def _rotation_line(rotation: Rotation, now: datetime) -> str:
    shift = rotation.on_call(now)
    return (
        f"{shift.person} is on call for {rotation.name} until {_when(shift.until)}; "
        f"next: {shift.next_person}"
    )


def paging_lines(routing: Routing) -> tuple[str, ...]:
    """What each severity does, the routes, and every policy's levels: who gets woken, for
    ``/incident oncall`` and ``vigil check`` (a routing mistake seen before 2 a.m.)."""
    if not routing.policies:
        return ("Paging: no escalation policy, so nobody is paged (incidents still post).",)
    head = "Paging: " + "; ".join(describe_routing(routing)) + "."
    return (head, *(f"Policy {name}: {describe(p)}" for name, p in routing.policies.items()))
