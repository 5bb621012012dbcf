"""The value checks of the ``schedules:`` and ``rotations:`` sections, pure: each takes what
YAML gave and returns the value, or raises ValueError (or :func:`bot.config.model.problem`)
in the words a user reads. ``config.py`` puts them on its pydantic fields; ``zone`` is also
``working_hours.tz``'s check (``bot.oncall.calendar``).

Apart from ``config.py`` because that module is the sections' shape (which keys, which
nest, what spans fields) and this one what each value may be.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from bot.config.model import ConfigModel, problem
from bot.core.durations import parse_duration
from bot.oncall.schedules.layers import MIN_ROTATION, local_to_utc
from bot.oncall.schedules.roster import SHORTEST_SHIFT

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")
T = TypeVar("T")


class _Absent:
    """The default of a required key: told apart from a YAML null, which is a value."""


_ABSENT: Any = _Absent()


def required(check: Callable[[object], T]) -> Callable[[object], T]:
    def run(raw: object) -> T:
        if isinstance(raw, _Absent):
            raise ValueError("missing")
        return check(raw)

    return run


def required_field() -> Any:
    return Field(default=_ABSENT, validate_default=True)


def zone(raw: object) -> ZoneInfo:
    """An IANA time zone name → ZoneInfo; ValueError in the words a user reads."""
    if not isinstance(raw, str) or not raw:
        raise ValueError("must be an IANA time zone such as Europe/Berlin")
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {raw!r} (IANA names, e.g. America/New_York)") from None


def local_time(raw: object, *, hint: str, strip: bool = True) -> datetime:
    """A date and time (YAML may hand us a datetime already); no bare dates, which would
    silently mean midnight."""
    value: object = raw
    if isinstance(raw, str) and ":" in raw:  # fromisoformat would take a bare date as 00:00
        try:
            value = datetime.fromisoformat(raw.strip() if strip else raw)
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        extra = hint if isinstance(raw, date) else ""
        raise ValueError(f"must be a local date and time like 2026-03-02T09:00, not {raw!r}{extra}")
    return value


def people(is_person: Callable[[object], bool]) -> Callable[[object], tuple[str, ...]]:
    def check(raw: object) -> tuple[str, ...]:
        if not isinstance(raw, list) or not raw or not all(is_person(p) for p in raw):
            raise ValueError("must list at least one '@person'")
        return tuple(raw)

    return check


def is_person(value: object) -> bool:
    return (
        isinstance(value, str)
        and value.startswith("@")
        and len(value) > 1
        and not any(c.isspace() for c in value)
    )


def is_rotation_person(value: object) -> bool:
    """What ``rotations:`` has always taken: an ``@`` and a name."""
    return isinstance(value, str) and value.startswith("@") and len(value) > 1


def shift_length(raw: object) -> timedelta:
    shift = parse_duration(raw)  # its ValueError names the units
    if shift < SHORTEST_SHIFT:
        raise ValueError("a shift must last at least 1m")
    return shift


def rotation_length(raw: object) -> timedelta:
    named = {"daily": timedelta(days=1), "weekly": timedelta(weeks=1)}
    if isinstance(raw, str) and raw.strip().lower() in named:
        return named[raw.strip().lower()]
    try:
        length = parse_duration(raw)
    except ValueError as exc:
        raise ValueError(f"must be daily, weekly or a duration: {exc}") from None
    if length < MIN_ROTATION:
        raise ValueError("a rotation must last at least 1h")
    return length


def layer_name(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("must be a non-empty string")
    return raw.strip()


def day_set(raw: object) -> frozenset[int]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise ValueError("must list days such as [mon, tue] or [mon-fri]")
    days: set[int] = set()
    for j, item in enumerate(items):
        text = item.strip().lower() if isinstance(item, str) else ""
        first, _, last = text.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise problem(
                f"{item!r} is not a day; use {', '.join(DAY_NAMES)} or a range like mon-fri",
                at=(j,),
            )
        a = DAY_NAMES.index(first)
        b = DAY_NAMES.index(last) if last else a
        days.update((a + k) % 7 for k in range((b - a) % 7 + 1))
    return frozenset(days)


def clock_time(raw: object) -> int:
    """``"09:00"`` → 540 minutes after midnight; ``"24:00"`` → 1440."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raise ValueError(f"quote the time of day: YAML read it as the number {raw}; write '09:00'")
    if not isinstance(raw, str) or not _CLOCK.fullmatch(raw.strip()):
        raise ValueError(f"must be a time of day HH:MM from 00:00 to 24:00, not {raw!r}")
    hours, minutes = raw.strip().split(":")
    return int(hours) * 60 + int(minutes)


def a_person(raw: object) -> str:
    if not isinstance(raw, str) or not is_person(raw):
        raise ValueError(f"must be '@person', not {raw!r}")
    return raw


def reason_text(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError("must be text")
    return raw.strip()


def some_layers(raw: object) -> object:
    if not isinstance(raw, list) or not raw:
        raise ValueError("needs at least one layer")
    return raw


def override_list(raw: object) -> object:
    if not raw:  # left out, null or []
        return []
    if not isinstance(raw, list):
        raise ValueError("must be a list of overrides")
    return raw


def instant(value: datetime, tz: ZoneInfo) -> datetime:
    return local_to_utc(value, tz) if value.tzinfo is None else value.astimezone(UTC)


def only_known(model: type[ConfigModel], value: dict[Any, Any]) -> bool:
    """No unknown key (pydantic reports those, first, when there are any)."""
    known = {info.alias or name for name, info in model.model_fields.items()}
    return all(k in known for k in value)


def missing_first(value: dict[Any, Any], order: tuple[str, ...]) -> None:
    """The first of ``order`` left out is "missing", before any value is checked: the order
    these sections always reported in (pydantic's would be the fields' alphabetical one)."""
    for key in order:
        if key not in value:
            raise problem("missing", at=(key,))


def mapping_said(message: str) -> Callable[[object], object]:
    """A ``mode="before"`` check that the value is a mapping, in this section's words."""

    def check(value: object) -> object:
        if not isinstance(value, dict):
            raise problem(message)
        return value

    return check
