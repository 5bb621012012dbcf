"""Schedules and rotations from ``vigil.yaml``: the ``schedules:`` and ``rotations:``
sections, validated by pydantic models (:mod:`bot.config.model`) into values of
``layers.py`` and ``roster.py``, or a ConfigError naming the exact offending key
(``schedules.ml-oncall.layers[0].rotation``) with the words these sections always had.

Separate from ``layers.py`` because the two jobs differ: this module is config validation
(unknown keys, the common YAML slips); ``layers.py`` is the time maths on values already
known to be valid and knows nothing of YAML. The format::

    schedules:
      ml-oncall:
        tz: Europe/Berlin                     # IANA zone; layers may set their own tz
        layers:                               # lowest first
          - name: primary
            rotation: weekly                  # daily | weekly | a duration: 3d, 12h (>= 1h)
            handoff: "2026-03-02T09:00"       # local time in tz: the first shift starts here
            participants: ["@maya", "@sam", "@lee"]
          - name: business-hours-lead
            rotation: daily
            handoff: "2026-03-02T09:00"
            participants: ["@ana"]
            restrict: {days: [mon-fri], from: "09:00", to: "17:00"}
        overrides:                            # later ones win where they overlap
          - {person: "@lee", start: "2026-12-24T18:00", end: "2026-12-26T09:00", reason: swap}

    rotations:                                # the simple form: a schedule of one layer
      infra:
        participants: ["@alice", "@bob"]
        shift: 1w                             # a duration, at least 1m
        handoff: "2026-03-02T09:00"
        tz: Europe/Berlin

``restrict`` is optional: ``days`` (mon … sun, ranges like ``mon-fri``; default every day),
``from`` (default ``"00:00"``) and ``to`` (default ``"24:00"``); ``to`` before ``from`` is an
overnight window that starts on a listed day. Times of day must be quoted: YAML 1.1 reads
an unquoted ``09:00`` as the number 540. A layer's ``name`` defaults to ``layer-N``; its
``tz`` to the schedule's. Override times are local in the schedule's tz unless they carry an
offset (``2026-12-24T18:00+01:00``).

Local times follow the rules in ``layers.py``'s docstring (a repeated reading is its first
occurrence, a skipped one the instant the clocks jump).

A key left out says "missing" (not pydantic's "is required": these sections always said
so); a key written with no value (YAML null) is checked as that value.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, PlainValidator, model_validator

from bot.config.model import ConfigModel, problem, validate_section
from bot.core.errors import ConfigError
from bot.oncall.schedules.checks import (
    a_person,
    clock_time,
    day_set,
    instant,
    is_person,
    is_rotation_person,
    layer_name,
    local_time,
    mapping_said,
    missing_first,
    only_known,
    override_list,
    people,
    reason_text,
    required,
    required_field,
    rotation_length,
    shift_length,
    some_layers,
    zone,
)
from bot.oncall.schedules.layers import Layer, Override, Restriction, Schedule
from bot.oncall.schedules.roster import Rotation

Section = TypeVar("Section", bound=ConfigModel)


def parse_schedules(raw: object, *, where: str, key: str = "schedules") -> dict[str, Schedule]:
    """``schedules:`` mapping (name → schedule) → Schedules, or ConfigError naming the key."""
    found = _named(_ScheduleSection, raw, what="schedule", where=where, key=key)
    return {name: section.build(name) for name, section in found.items()}


def parse_roster(raw: object, *, where: str, key: str = "rotations") -> dict[str, Rotation]:
    """``rotations:`` mapping (name → rotation) → Rotations (each a one-layer schedule), or
    ConfigError naming the key."""
    found = _named(_RotationSection, raw, what="rotation", where=where, key=key)
    return {name: section.build(name) for name, section in found.items()}


def parse_rosters(
    schedules: object, rotations: object, *, where: str
) -> tuple[dict[str, Rotation], dict[str, Schedule]]:
    """``rotations:`` and ``schedules:`` together (rotations first), as the running bot and
    ``vigil schedule`` read them: one name in both is a ConfigError (a route's target and
    ``/oncall NAME`` would not know which is meant)."""
    roster = parse_roster(rotations, where=where)
    found = parse_schedules(schedules, where=where)
    both = sorted(set(roster) & set(found))
    if both:
        raise ConfigError(
            f"{both[0]!r} is both a rotation and a schedule; rename one",
            where=where,
            key=f"schedules.{both[0]}",
        )
    return roster, found


def parse_tz(raw: object, *, where: str, key: str) -> ZoneInfo:
    """An IANA time zone, or ConfigError naming ``key`` (also ``working_hours.tz``)."""
    try:
        return zone(raw)
    except ValueError as exc:
        raise ConfigError(str(exc), where=where, key=key) from None


def _named(
    model: type[Section], raw: object, *, what: str, where: str, key: str
) -> dict[str, Section]:
    """A ``NAME: body`` section → ``{name: body validated by model}``; a name must be
    non-empty text without whitespace (it is typed after ``schedule:`` in a target)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"must be a mapping of {what} name to {what}", where=where, key=key)
    found: dict[str, Section] = {}
    for name, body in raw.items():
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            raise ConfigError(f"bad {what} name {name!r}", where=where, key=f"{key}.{name}")
        found[name] = validate_section(model, body, where=where, key=f"{key}.{name}")
    return found


# -- sections (fields in alphabetical order: the unknown-key message lists them so) --------

_ScheduleLocal = Annotated[
    datetime,
    PlainValidator(required(partial(local_time, hint=" (a date alone has no time of day)"))),
]
_Zone = Annotated[ZoneInfo, PlainValidator(required(zone))]


class _RotationSection(ConfigModel):
    """One ``rotations:`` entry."""

    handoff: Annotated[
        datetime,
        PlainValidator(
            required(partial(local_time, hint=" (a date alone has no handoff time)", strip=False))
        ),
    ] = required_field()
    participants: Annotated[
        tuple[str, ...], PlainValidator(required(people(is_rotation_person)))
    ] = required_field()
    shift: Annotated[timedelta, PlainValidator(required(shift_length))] = required_field()
    tz: _Zone = required_field()

    def build(self, name: str) -> Rotation:
        return Rotation.of(name, self.participants, self.shift, self.handoff, self.tz)


class _RestrictSection(ConfigModel):
    """A layer's ``restrict`` window."""

    days: Annotated[frozenset[int], PlainValidator(day_set)] = frozenset(range(7))
    start: Annotated[int, PlainValidator(clock_time)] = Field(default=0, alias="from")
    end: Annotated[int, PlainValidator(clock_time)] = Field(default=24 * 60, alias="to")

    _a_mapping = model_validator(mode="before")(
        mapping_said("must be a mapping such as {days: [mon-fri], from: '09:00', to: '17:00'}")
    )

    @model_validator(mode="after")
    def _a_window(self) -> _RestrictSection:
        if self.start == 1440:
            raise problem("must be a time of day before 24:00", at=("from",))
        if self.start == self.end % 1440 and not (self.start == 0 and self.end == 1440):
            raise problem(
                "from and to are the same time; for the whole day leave both out", at=("to",)
            )
        return self


class _LayerSection(ConfigModel):
    """One layer of a schedule; ``name`` and ``tz`` are filled in by the schedule."""

    handoff: _ScheduleLocal = required_field()
    name: Annotated[str | None, PlainValidator(layer_name)] = None
    participants: Annotated[tuple[str, ...], PlainValidator(required(people(is_person)))] = (
        required_field()
    )
    restrict: _RestrictSection | None = None
    rotation: Annotated[timedelta, PlainValidator(required(rotation_length))] = required_field()
    tz: Annotated[ZoneInfo | None, PlainValidator(zone)] = None

    @model_validator(mode="before")
    @classmethod
    def _missing_in_order(cls, value: object) -> object:
        if isinstance(value, dict) and only_known(cls, value):
            missing_first(value, ("rotation", "handoff", "participants"))
        return value

    def build(self, index: int, tz: ZoneInfo) -> Layer:
        window = self.restrict
        restrict = None if window is None else Restriction(window.days, window.start, window.end)
        return Layer(
            self.name or f"layer-{index + 1}",
            self.participants,
            self.rotation,
            self.handoff,
            self.tz or tz,
            restrict,
        )


class _OverrideSection(ConfigModel):
    """One entry of a schedule's ``overrides``; its times are read in the schedule's zone."""

    end: _ScheduleLocal = required_field()
    person: Annotated[str, PlainValidator(required(a_person))] = required_field()
    reason: Annotated[str, PlainValidator(reason_text)] = ""
    start: _ScheduleLocal = required_field()

    @model_validator(mode="before")
    @classmethod
    def _first_things_first(cls, value: object) -> object:
        """A mapping; then, as this section always checked, what is missing and the person
        before the times ("a" for a person is the mistake to hear about first)."""
        if not isinstance(value, dict):
            raise problem("must be a mapping with person, start and end")
        if only_known(cls, value):
            missing_first(value, ("person", "start", "end"))
            if "person" in value and not is_person(value["person"]):
                raise problem(f"must be '@person', not {value['person']!r}", at=("person",))
        return value

    def build(self, tz: ZoneInfo) -> Override:
        return Override(self.person, instant(self.start, tz), instant(self.end, tz), self.reason)


class _ScheduleSection(ConfigModel):
    """One ``schedules:`` entry."""

    layers: Annotated[list[_LayerSection], BeforeValidator(some_layers)] = Field(
        default=None, validate_default=True
    )
    overrides: Annotated[list[_OverrideSection], BeforeValidator(override_list)] = Field(
        default_factory=list
    )
    tz: _Zone = required_field()

    _a_mapping = model_validator(mode="before")(
        mapping_said("must be a mapping with 'tz' and 'layers'")
    )

    @model_validator(mode="after")
    def _consistent(self) -> _ScheduleSection:
        """Layer names once each; every override ending after it starts (in the zone)."""
        names: list[str] = []
        for i, layer in enumerate(self.layers):
            name = layer.name or f"layer-{i + 1}"
            if name in names:
                raise problem(f"another layer is already named {name!r}", at=("layers", i, "name"))
            names.append(name)
        for i, override in enumerate(self.overrides):
            if instant(override.end, self.tz) <= instant(override.start, self.tz):
                raise problem("must be after start", at=("overrides", i, "end"))
        return self

    def build(self, name: str) -> Schedule:
        layers = tuple(layer.build(i, self.tz) for i, layer in enumerate(self.layers))
        overrides = tuple(o.build(self.tz) for o in self.overrides)
        return Schedule(name, self.tz, layers, overrides)
