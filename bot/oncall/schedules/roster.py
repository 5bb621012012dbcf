"""Who is on call now for a ``rotations:`` entry: a schedule of one layer, pure.

A rotation is the simple form a team starts with: participants taking turns, one shift each,
from a handoff anchor in the rotation's own time zone. It is a :class:`Schedule` of one
layer, with no restriction and no overrides (``layers.py`` has the time maths, once:
``Layer.turn_at``); this module keeps what a rotation answers that a schedule does not: the
shift as one turn (a rotation of one person still hands over to themselves at each
handoff) with its times in the rotation's zone, and the ``rotation:NAME`` targets that
escalation levels name. ``/incident oncall`` words it in ``bot.oncall.status``; the
section is parsed in ``config.py``. In ``vigil.yaml``::

    rotations:
      ml-oncall:
        participants: ["@alice", "@bob", "@carol"]
        shift: 1w                      # 1m … 1w, see bot.core.durations.parse_duration
        handoff: "2026-03-02T09:00"    # local time in tz: a Monday, 09:00
        tz: Europe/Berlin

Shifts are counted in *local wall-clock time*, not elapsed seconds: a weekly rotation that
hands off at 09:00 on Mondays still hands off at 09:00 after the clocks change, so the week
that contains a DST change is 167 or 169 real hours long. A handoff inside a repeated local
hour means its first occurrence, one inside a skipped hour the instant the clocks jump
(``layers.py``'s rules); pick a handoff time away from 02:00 to 03:00.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.oncall.paging.escalation import ROTATION_PREFIX, SCHEDULE_PREFIX
from bot.oncall.schedules.layers import Layer, Schedule, on_call

SHORTEST_SHIFT = timedelta(minutes=1)
"""A rotation's shortest shift (a schedule's layers: 1h, ``layers.MIN_ROTATION``)."""


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
    """A ``rotations:`` entry: ``schedule`` has one layer, participants in turn, ``shift``
    each, the first shift starting at ``handoff``."""

    schedule: Schedule

    @classmethod
    def of(
        cls,
        name: str,
        participants: tuple[str, ...],
        shift: timedelta,
        handoff: datetime,
        tz: ZoneInfo,
    ) -> Rotation:
        """The one-layer schedule of a rotation; ``handoff``: a local reading in ``tz``
        (naive) or an aware instant. ValueError for no participants or a shift under 1m."""
        layer = Layer(name, participants, shift, handoff, tz, shortest=SHORTEST_SHIFT)
        return cls(Schedule(name, tz, (layer,)))

    @property
    def layer(self) -> Layer:
        return self.schedule.layers[0]

    @property
    def name(self) -> str:
        return self.schedule.name

    @property
    def participants(self) -> tuple[str, ...]:
        return self.layer.participants

    @property
    def shift(self) -> timedelta:
        return self.layer.length

    @property
    def tz(self) -> ZoneInfo:
        return self.schedule.tz

    @property
    def handoff(self) -> datetime:
        """The anchor, aware, in ``tz``."""
        return self.layer.handoff.replace(tzinfo=self.tz)

    def on_call(self, now: datetime) -> OnCall:
        """Who holds the shift that contains ``now`` (aware). Works before the anchor too.

        ``since``/``until`` are in ``tz``: subtracting them gives the shift's wall-clock
        length (a day is a day across DST), ``astimezone(UTC)`` its real one."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        layer, people = self.layer, self.participants
        turn = layer.turn_at(now)
        return OnCall(
            rotation=self.name,
            person=people[turn % len(people)],
            since=layer.boundary(turn).astimezone(self.tz),
            until=layer.boundary(turn + 1).astimezone(self.tz),
            next_person=people[(turn + 1) % len(people)],
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
    caught it first with :func:`unknown_rotations`. A rotation's person is its layer's turn
    (``Rotation.on_call``), which a one-layer schedule's answer would give too.
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
