"""The ``maintenance:`` section of ``vigil.yaml``: validated by a pydantic model
(:mod:`bot.config.model`) into :class:`bot.silences.windows.Window` values, or a ConfigError
naming the exact key (``vigil.yaml: maintenance[0].rrule: …``). Pure::

    maintenance:
      - name: db-migration                 # unique
        timezone: Europe/Berlin            # IANA; default UTC
        start: "2026-12-13T02:00"          # local wall time of the first occurrence
        duration: 2h                       # or end: "2026-12-13T04:00"; at most 7 days
        rrule: FREQ=WEEKLY;BYDAY=SU        # optional (RFC 5545); without it, one-off
        services: [payments]
        models: [fraud-detector]
        matchers: ['alertname=~"Latency.*"']
        comment: weekly vacuum

A window must say what it hushes: services, models or matchers, or ``all: true`` for every
alert (one that would silence everything by leaving them out is refused). The rule must not
hold ``DTSTART`` (``start`` is the first occurrence), must recur at most hourly, and its
first occurrence must be ``start`` itself: a start the rule would skip is a typo, refused
with the occurrence the rule would begin with. Occurrences may not overlap (checked over
the first year). A one-off window already over is accepted: it simply never applies.

A rule whose parts contradict each other (``FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30``) is
refused as never occurring; dateutil searches up to the year 9999 to find that out, which
takes it a few seconds at daily or hourly frequency: the cost of a mistake, paid once, by
``vigil check`` or at start-up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, PlainValidator, model_validator

from bot.config.checks import true_or_false
from bot.config.model import ConfigModel, problem, validate_section
from bot.core.durations import parse_duration, short_duration
from bot.core.errors import ConfigError
from bot.oncall.schedules.checks import local_time, zone
from bot.silences.windows import Window

__all__ = ["MAX_LENGTH", "parse_maintenance"]

MAX_LENGTH = timedelta(days=7)
"""The longest window: longer work is a change freeze, not maintenance, and a forgotten
week-long window already hides a lot."""
_OVERLAP_CHECK = timedelta(days=366)


def _name(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise problem("must be a non-empty name")
    return raw.strip()


def _start(raw: object) -> datetime:
    try:
        value = local_time(raw, hint=" (a date alone has no time of day)")
    except ValueError as exc:
        raise problem(str(exc)) from None
    if value.tzinfo is not None:
        raise problem("must be a local time without an offset: timezone says where it is")
    return value


def _duration(raw: object) -> timedelta:
    try:
        length = parse_duration(raw)
    except ValueError as exc:
        raise problem(str(exc)) from None
    return _length(length)


def _length(length: timedelta) -> timedelta:
    if length <= timedelta():
        raise problem("must be longer than zero")
    if length > MAX_LENGTH:
        raise problem(f"a maintenance window lasts at most 7d, not {short_duration(length)}")
    return length


def _zone(raw: object) -> ZoneInfo:
    try:
        return zone(raw)
    except ValueError as exc:
        raise problem(str(exc)) from None


def _texts(what: str) -> PlainValidator:
    def check(raw: object) -> tuple[str, ...]:
        if not isinstance(raw, list):
            raise problem(f"must be a list of {what}")
        for i, item in enumerate(raw):
            if not isinstance(item, str) or not item.strip():
                raise problem(f"must be one of the {what}, as text", at=(i,))
        return tuple(item.strip() for item in raw)

    return PlainValidator(check)


def _text(raw: object) -> str:
    if not isinstance(raw, str):
        raise problem("must be text")
    return raw


def _rule_text(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise problem("must be an RFC 5545 rule such as FREQ=WEEKLY;BYDAY=SU")
    return raw.strip()


class _WindowSection(ConfigModel):
    """One window as written (fields in alphabetical order: the unknown-key message lists
    them so)."""

    all: Annotated[bool, BeforeValidator(true_or_false)] = False
    comment: Annotated[str, PlainValidator(_text)] = ""
    duration: Annotated[timedelta | None, PlainValidator(_duration)] = None
    end: Annotated[datetime | None, PlainValidator(_start)] = None
    matchers: Annotated[tuple[str, ...], _texts("matchers")] = ()
    models: Annotated[tuple[str, ...], _texts("model names")] = ()
    name: Annotated[str, PlainValidator(_name)]
    rrule: Annotated[str | None, PlainValidator(_rule_text)] = None
    services: Annotated[tuple[str, ...], _texts("service names")] = ()
    start: Annotated[datetime, PlainValidator(_start)]
    timezone: Annotated[ZoneInfo, PlainValidator(_zone)] = Field(
        default_factory=lambda: ZoneInfo("UTC")
    )

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, value: object) -> object:
        if not isinstance(value, dict):
            raise problem("must be a mapping like {name: db, start: ..., duration: 2h}")
        return value

    @model_validator(mode="after")
    def _whole(self) -> _WindowSection:
        self.length()
        if not (self.services or self.models or self.matchers or self.all):
            raise problem(
                "would silence everything; name services, models or matchers, "
                "or say all: true if you mean it"
            )
        if self.all and (self.services or self.models or self.matchers):
            raise problem(
                "all: true covers every alert; drop it or the services, models and matchers",
                at=("all",),
            )
        try:
            window = self.window()
        except ValueError as exc:
            raise problem(str(exc), at=("rrule",)) from None
        _first_is_start(window)
        _no_overlap(window)
        return self

    def length(self) -> timedelta:
        """``duration``, or from ``start`` to ``end`` in wall time."""
        if self.duration is not None and self.end is not None:
            raise problem("give duration or end, not both", at=("end",))
        if self.duration is not None:
            return self.duration
        if self.end is None:
            raise problem("needs a duration (2h) or an end", at=("duration",))
        length = self.end - self.start  # wall time, as a duration is
        if length <= timedelta():
            raise problem("must be after start", at=("end",))
        if length > MAX_LENGTH:
            raise problem(
                f"a maintenance window lasts at most 7d; this one {short_duration(length)}",
                at=("end",),
            )
        return length

    def window(self) -> Window:
        return Window(
            name=self.name,
            tz=self.timezone,
            start=self.start,
            duration=self.length(),
            rrule=self.rrule,
            services=self.services,
            models=self.models,
            matchers=self.matchers,
            comment=self.comment,
        )


def _first_is_start(window: Window) -> None:
    """The rule's first occurrence is ``start`` (dateutil would silently skip a start the
    rule does not match; RFC 5545 leaves that case undefined)."""
    if window.rule is None:
        return
    first = window.rule.after(window.start, inc=True)
    if first is None:
        raise problem("never occurs from start on", at=("rrule",))
    if first != window.start:
        raise problem(
            f"{_when(window.start)} is not an occurrence of the rule; "
            f"its first would be {_when(first)}",
            at=("start",),
        )


def _no_overlap(window: Window) -> None:
    """Occurrences in the first year do not overlap (in wall time; real time follows it)."""
    if window.rule is None:
        return
    starts = window.rule.between(window.start, window.start + _OVERLAP_CHECK, inc=True)
    for one, following in pairwise(starts):
        if one + window.duration > following:
            raise problem(
                f"occurrences overlap: the one at {_when(one)} lasts "
                f"{short_duration(window.duration)}, past the next at {_when(following)}",
                at=("duration",),
            )


def _when(local: datetime) -> str:
    return f"{local:%a} {local.day} {local:%b} {local.year} {local:%H:%M}"


def parse_maintenance(raw: object, where: str, key: str = "maintenance") -> tuple[Window, ...]:
    """``maintenance:`` → its windows, or ConfigError naming the key (``maintenance[1].name``
    for a name used twice)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("must be a list of maintenance windows", where=where, key=key)
    windows: list[Window] = []
    for i, item in enumerate(raw):
        window = validate_section(_WindowSection, item, where=where, key=f"{key}[{i}]").window()
        if any(w.name == window.name for w in windows):
            raise ConfigError(
                f"{window.name!r} is already the name of another window",
                where=where,
                key=f"{key}[{i}].name",
            )
        windows.append(window)
    return tuple(windows)
