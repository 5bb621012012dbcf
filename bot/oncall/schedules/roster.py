"""Who is on call now: simple rotations from ``vigil.yaml``, pure functions of time.

This is deliberately small: one rotation = participants taking turns, one shift each,
starting from a handoff anchor in the rotation's own time zone. Layers, overrides, holidays
and iCal export are the full schedule system (``layers.py`` beside this module, issue 8);
this module is what ``/incident oncall`` and escalation targets such as
``rotation:ml-oncall`` read. In ``vigil.yaml``::

    rotations:
      ml-oncall:
        participants: ["@alice", "@bob", "@carol"]
        shift: 1w                      # 30s … 1w, see escalation.parse_duration
        handoff: "2026-03-02T09:00"    # local time in tz: a Monday, 09:00
        tz: Europe/Berlin

Shifts are counted in *local wall-clock time*, not elapsed seconds: a weekly rotation that
hands off at 09:00 on Mondays still hands off at 09:00 after the clocks change, so the week
that contains a DST change is 167 or 169 real hours long. (A handoff inside a repeated or
skipped local hour takes the earlier reading; pick a handoff time away from 02:00 to 03:00.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.durations import parse_duration
from bot.core.errors import ConfigError
from bot.oncall.paging.escalation import ROTATION_PREFIX, SCHEDULE_PREFIX
from bot.oncall.schedules.layers import Schedule, on_call

T = TypeVar("T")


@dataclass(frozen=True)
class OnCall:
    """The answer to "who is on call": the person, their shift, and who comes next."""

    rotation: str
    person: str
    since: datetime
    until: datetime
    next_person: str


@dataclass(frozen=True)
class Rotation:
    """Participants in turn, ``shift`` each, the first shift starting at ``handoff``.

    ``handoff`` is aware and expressed in ``tz``; only its local wall-clock reading matters.
    """

    name: str
    participants: tuple[str, ...]
    shift: timedelta
    handoff: datetime
    tz: ZoneInfo

    def on_call(self, now: datetime) -> OnCall:
        """Who holds the shift that contains ``now`` (aware). Works before the anchor too."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        local_now = now.astimezone(self.tz).replace(tzinfo=None)
        anchor = self.handoff.astimezone(self.tz).replace(tzinfo=None)
        shifts = (local_now - anchor) // self.shift
        start = anchor + shifts * self.shift
        count = len(self.participants)
        return OnCall(
            rotation=self.name,
            person=self.participants[shifts % count],
            since=start.replace(tzinfo=self.tz),
            until=(start + self.shift).replace(tzinfo=self.tz),
            next_person=self.participants[(shifts + 1) % count],
        )


def resolve_targets(
    targets: tuple[str, ...],
    rotations: Mapping[str, Rotation],
    now: datetime,
    schedules: Mapping[str, Schedule] | None = None,
) -> tuple[str, ...]:
    """Replace each ``rotation:NAME`` / ``schedule:NAME`` target with the person on call now
    (duplicates dropped). A schedule with nobody on call now (a gap between restricted
    layers) contributes nobody: the level's other targets, or the next level, get the page.

    Raises KeyError naming an unknown rotation or schedule; ``vigil check`` should have
    caught it first with :func:`unknown_rotations`.
    """
    people: list[str] = []
    for target in targets:
        if target.startswith(ROTATION_PREFIX):
            name = target.removeprefix(ROTATION_PREFIX)
            if name not in rotations:
                raise KeyError(f"no rotation named {name!r}")
            target = rotations[name].on_call(now).person
        elif target.startswith(SCHEDULE_PREFIX):
            name = target.removeprefix(SCHEDULE_PREFIX)
            if schedules is None or name not in schedules:
                raise KeyError(f"no schedule named {name!r}")
            now_on = on_call(schedules[name], now)
            if now_on is None:
                continue
            target = now_on.person
        if target not in people:
            people.append(target)
    return tuple(people)


def unknown_rotations(
    targets: tuple[str, ...],
    rotations: Mapping[str, Rotation],
    schedules: Mapping[str, object] | None = None,
) -> list[str]:
    """The ``rotation:NAME`` / ``schedule:NAME`` targets that name nothing configured."""
    known = {ROTATION_PREFIX: rotations, SCHEDULE_PREFIX: schedules or {}}
    return [
        t
        for t in targets
        for prefix, names in known.items()
        if t.startswith(prefix) and t.removeprefix(prefix) not in names
    ]


def parse_roster(raw: object, *, where: str, key: str = "rotations") -> dict[str, Rotation]:
    """``rotations:`` mapping (name → rotation) → Rotations, or ConfigError naming the key."""
    return parse_named(raw, parse_rotation, what="rotation", where=where, key=key)


def parse_named(
    raw: object, parse: Callable[..., T], *, what: str, where: str, key: str
) -> dict[str, T]:
    """A ``NAME: body`` section (``rotations:``, ``schedules:``) → ``{name: parse(name, body,
    where=…, key=…)}``; a name must be non-empty text without whitespace."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"must be a mapping of {what} name to {what}", where=where, key=key)
    parsed: dict[str, T] = {}
    for name, body in raw.items():
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            raise ConfigError(f"bad {what} name {name!r}", where=where, key=f"{key}.{name}")
        parsed[name] = parse(name, body, where=where, key=f"{key}.{name}")
    return parsed


def parse_rotation(name: str, raw: object, *, where: str, key: str) -> Rotation:
    if not isinstance(raw, dict):
        raise ConfigError("must be a mapping", where=where, key=key)
    known = {"participants", "shift", "handoff", "tz"}
    for field in raw:
        if field not in known:
            allowed = ", ".join(sorted(known))
            raise ConfigError(
                f"unknown key (allowed: {allowed})", where=where, key=f"{key}.{field}"
            )
    for field in sorted(known):
        if field not in raw:
            raise ConfigError("missing", where=where, key=f"{key}.{field}")
    people = raw["participants"]
    if (
        not isinstance(people, list)
        or not people
        or not all(isinstance(p, str) and p.startswith("@") and len(p) > 1 for p in people)
    ):
        raise ConfigError(
            "must list at least one '@person'", where=where, key=f"{key}.participants"
        )
    try:
        shift = parse_duration(raw["shift"])
    except ValueError as exc:
        raise ConfigError(str(exc), where=where, key=f"{key}.shift") from None
    if shift < timedelta(minutes=1):
        raise ConfigError("a shift must last at least 1m", where=where, key=f"{key}.shift")
    tz = parse_tz(raw["tz"], where=where, key=f"{key}.tz")
    handoff = _parse_handoff(raw["handoff"], tz, where=where, key=f"{key}.handoff")
    return Rotation(name, tuple(people), shift, handoff, tz)


def parse_tz(raw: object, *, where: str, key: str) -> ZoneInfo:
    if not isinstance(raw, str) or not raw:
        raise ConfigError("must be an IANA time zone such as Europe/Berlin", where=where, key=key)
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {raw!r} (IANA names, e.g. America/New_York)", where=where, key=key
        ) from None


def _parse_handoff(raw: object, tz: ZoneInfo, *, where: str, key: str) -> datetime:
    """Local date and time in ``tz`` (YAML may hand us a datetime already); no bare dates."""
    value: object = raw
    if isinstance(raw, str) and ":" in raw:  # fromisoformat would take a bare date as 00:00
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        hint = " (a date alone has no handoff time)" if isinstance(raw, date) else ""
        raise ConfigError(
            f"must be a local date and time like 2026-03-02T09:00, not {raw!r}{hint}",
            where=where,
            key=key,
        )
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)
