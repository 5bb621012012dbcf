"""The answer to ``/incident oncall``, worded without I/O from the config and the time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.oncall.paging.escalation import describe
from bot.oncall.paging.routing import Routing, describe_routing
from bot.oncall.schedules.layers import Schedule, oncall_answer
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
