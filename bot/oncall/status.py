"""The answer to ``/incident oncall``, worded without I/O from the config and the time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from bot.oncall.escalation import EscalationPolicy, describe
from bot.oncall.roster import Rotation
from bot.oncall.schedule import Schedule, oncall_answer


@dataclass(frozen=True)
class OncallSettings:
    """The escalation policy (None: nobody is paged), the rotations and schedules its levels
    may name, and the severities that page a person (the others only post to the channel)."""

    policy: EscalationPolicy | None = None
    rotations: Mapping[str, Rotation] = field(default_factory=lambda: MappingProxyType({}))
    page_severities: frozenset[str] = frozenset({"P1", "P2"})
    schedules: Mapping[str, Schedule] = field(default_factory=lambda: MappingProxyType({}))


def _when(at: datetime) -> str:
    return at.strftime("%a %d %b %H:%M %Z")


def oncall_text(settings: OncallSettings, now: datetime, schedule: str | None = None) -> str:
    """Who is on call now and until when, who is next, and how a page escalates; with a
    ``schedule`` name, that schedule's answer only."""
    if schedule is not None:
        found = settings.schedules.get(schedule)
        if found is None:
            known = ", ".join(sorted(settings.schedules)) or "none are configured (schedules:)"
            return f"No schedule named {schedule!r}. Schedules: {known}."
        return oncall_answer(found, now)
    lines: list[str] = [f"📟 {oncall_answer(s, now)}" for s in settings.schedules.values()]
    for rotation in settings.rotations.values():
        shift = rotation.on_call(now)
        lines.append(
            f"📟 {shift.person} is on call for {rotation.name} until {_when(shift.until)}; "
            f"next: {shift.next_person}"
        )
    if settings.policy is None:
        lines.append(
            "No escalation policy is configured, so nobody is paged. Add `escalation:` to "
            "vigil.yaml (see vigil.example.yaml)."
        )
    else:
        pages = ", ".join(sorted(settings.page_severities))
        lines.append(f"Escalation ({pages} page): {describe(settings.policy)}")
    return "\n".join(lines)
