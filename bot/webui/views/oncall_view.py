"""What ``/oncall`` shows, computed from the schedules, the rotations, the routing and the
time. Pure.

A ``rotations:`` entry is a schedule of one layer (``Rotation.schedule``), so both are read
the same way: who is on call now and until when (``layers.on_call``), the next shifts (the
final schedule ahead, overrides applied, so "next" is who really takes over), and the
overrides in effect or to come. Each instant is shown in the schedule's zone and in UTC,
since the reader's zone is neither. The escalation policies are listed level by level, a
``schedule:``/``rotation:`` target with who it pages now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.durations import format_duration, short_relative
from bot.oncall.paging.escalation import ROTATION_PREFIX, SCHEDULE_PREFIX, EscalationPolicy
from bot.oncall.paging.routing import Routing, describe_routing
from bot.oncall.schedules.layers import (
    OVERRIDE,
    SEARCH_LIMIT,
    Schedule,
    Shift,
    final_shifts,
    local_when,
    on_call,
    widening,
)
from bot.oncall.schedules.roster import Rotation

NEXT_SHIFTS = 5


@dataclass(frozen=True)
class When:
    """An instant as the page shows it: the schedule's local reading and UTC."""

    at: datetime
    local: str
    utc: str
    relative: str  # "in 3h 20m" or "2h ago"


@dataclass(frozen=True)
class Upcoming:
    person: str
    start: When
    end: When
    via: str  # "layer primary", "override (imported from swaps.ics)"


@dataclass(frozen=True)
class OverrideRow:
    person: str
    start: When
    end: When
    why: str
    imported: bool
    now: bool  # in effect now (else: to come)


@dataclass(frozen=True)
class OnCallRow:
    """One schedule or rotation: who now, until when, the shifts ahead, its overrides."""

    name: str
    kind: str  # "schedule" or "rotation"
    zone: str
    person: str | None
    via: str | None
    until: When | None
    next_person: str | None
    coming: tuple[Upcoming, ...]
    overrides: tuple[OverrideRow, ...]


@dataclass(frozen=True)
class LevelRow:
    number: int
    targets: tuple[tuple[str, str | None], ...]  # (target, who it pages now, if a schedule)
    after: str  # "at once" or "after 10 min without ack"
    wait: str


@dataclass(frozen=True)
class PolicyRow:
    name: str
    levels: tuple[LevelRow, ...]
    repeat: str  # "" or "then again from level 1 …"
    exhausted: str


@dataclass(frozen=True)
class OncallView:
    rows: tuple[OnCallRow, ...]
    policies: tuple[PolicyRow, ...]
    routing: tuple[str, ...]


def when(at: datetime, tz: ZoneInfo, now: datetime) -> When:
    delta = at - now
    relative = f"in {short_relative(delta)}" if delta >= timedelta() else ""
    if delta < timedelta():
        relative = f"{short_relative(-delta)} ago"
    utc = at.astimezone(UTC)
    return When(utc, local_when(at, tz, now), f"{utc:%a} {utc.day} {utc:%b %H:%M} UTC", relative)


def coming_shifts(schedule: Schedule, now: datetime, most: int = NEXT_SHIFTS) -> list[Shift]:
    """The first ``most`` shifts that start after ``now`` (the final schedule, overrides
    applied), looking wider only while too few are found, up to a year."""
    later: list[Shift] = []
    for window in widening(schedule, SEARCH_LIMIT):
        later = [s for s in final_shifts(schedule, now, now + window) if s.start > now]
        if len(later) >= most:
            break
    return later[:most]


def schedule_row(schedule: Schedule, kind: str, now: datetime) -> OnCallRow:
    tz = schedule.tz
    current = on_call(schedule, now)
    coming = tuple(
        Upcoming(
            s.person,
            when(s.start, tz, now),
            when(s.end, tz, now),
            ", then ".join(dict.fromkeys(s.sources)),
        )
        for s in coming_shifts(schedule, now)
    )
    overrides = tuple(
        OverrideRow(
            o.person,
            when(o.start, tz, now),
            when(o.end, tz, now),
            o.reason or OVERRIDE,
            bool(o.uid),
            o.start <= now,
        )
        for o in sorted(schedule.overrides, key=lambda o: (o.start, o.end))
        if o.end > now
    )
    return OnCallRow(
        name=schedule.name,
        kind=kind,
        zone=tz.key,
        person=current.person if current else None,
        via=current.source if current else None,
        until=when(current.until, tz, now) if current and current.until else None,
        next_person=(current.next_person if current else (coming[0].person if coming else None)),
        coming=coming,
        overrides=overrides,
    )


People = Mapping[tuple[str, str], str | None]
"""(kind, name) → who is on call there now (None: nobody)."""


def _pages_now(target: str, people: People) -> str | None:
    """Who a ``schedule:``/``rotation:`` target pages now; None for a person or group."""
    for prefix, kind, other in (
        (SCHEDULE_PREFIX, "schedule", "rotation"),
        (ROTATION_PREFIX, "rotation", "schedule"),
    ):
        if target.startswith(prefix):
            name = target.removeprefix(prefix)
            for key in ((kind, name), (other, name)):
                if key in people:
                    return people[key] or "nobody"
    return None


def policy_row(policy: EscalationPolicy, people: People) -> PolicyRow:
    levels: list[LevelRow] = []
    offset = timedelta()
    for number, level in enumerate(policy.levels, start=1):
        after = "at once" if not offset else f"after {format_duration(offset)} without ack"
        targets = tuple((t, _pages_now(t, people)) for t in level.targets)
        levels.append(LevelRow(number, targets, after, format_duration(level.wait)))
        offset += level.wait
    repeat = ""
    if policy.repeat:
        times = "once" if policy.repeat == 1 else f"{policy.repeat} times"
        repeat = f"Then again from level 1 every {format_duration(offset)}, {times}."
    total = policy.round_length * (policy.repeat + 1)
    exhausted = f"Nobody acknowledged after {format_duration(total)}: escalation exhausted."
    return PolicyRow(policy.name, tuple(levels), repeat, exhausted)


def oncall_view(
    schedules: Mapping[str, Schedule],
    rotations: Mapping[str, Rotation],
    routing: Routing,
    now: datetime,
) -> OncallView:
    """Every schedule, then every rotation, by name; the policies as configured."""
    now = now.astimezone(UTC)
    rows = [schedule_row(s, "schedule", now) for _, s in sorted(schedules.items())]
    rows += [schedule_row(r.schedule, "rotation", now) for _, r in sorted(rotations.items())]
    people = {(r.kind, r.name): r.person for r in rows}
    policies = tuple(policy_row(p, people) for p in routing.policies.values())
    lines = tuple(describe_routing(routing)) if routing.policies else ()
    return OncallView(tuple(rows), policies, lines)
