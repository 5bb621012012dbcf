"""Working hours and business days: the one calendar that on-call time is counted in.

Two modules need to know what a working day is: routing pages a P3 only in working hours,
and the SLA clock counts ``1bd`` targets in business days. Neither owns the other's idea of
a day, so the calendar lives here and both import it: "working hours" and "1 business day"
can never disagree about a holiday or a time zone. Pure: ``now`` comes in, nothing is read.

In ``vigil.yaml`` (``tz`` is required: a guessed zone pages at 3 a.m.)::

    working_hours: {days: mon-fri, from: "09:00", to: "18:00", tz: Europe/Berlin,
                    holidays: [2026-12-25]}

Business time (:func:`add_business_time`) runs only on working days (``days`` minus
``holidays``), whole local days rather than just the hours, in local wall-clock time, so
Fri 16:00 + 1 business day = Mon 16:00 even across a DST change, and Sat 10:00 + 1 business
day = Tue 00:00.

``working_hours:`` is validated by a pydantic model (:mod:`bot.config.model`); each mistake
is a ConfigError naming its key (``working_hours.tz``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field, PlainValidator, model_validator

from bot.config.model import ConfigModel, problem, validate_section
from bot.core.errors import ConfigError
from bot.oncall.schedules.config import parse_tz

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HORIZON_DAYS = 3660  # look this far for a working day before calling the calendar empty
_NO_WORKING_DAY = "no working day in the next ten years: check working_hours"


@dataclass(frozen=True)
class WorkingHours:
    """Local days and hours in ``tz``; also the business-day calendar of the SLA clock, so
    "working hours" and "1 business day" never disagree about what a working day is."""

    days: frozenset[int] = frozenset(range(5))  # Monday = 0
    start: time = time(9)
    end: time = time(17)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    holidays: frozenset[date] = frozenset()

    def is_work_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def contains(self, at: datetime) -> bool:
        """True when ``at`` (aware) falls inside working hours, local time in ``tz``."""
        local = at.astimezone(self.tz)
        return self.is_work_day(local.date()) and self.start <= local.time() < self.end

    def opens_at(self, at: datetime) -> datetime:
        """``at`` itself inside working hours, else the next start (09:00 local stays 09:00
        across a DST change), in UTC. ValueError if no working day comes within ten years."""
        if self.contains(at):
            return at.astimezone(UTC)
        day = at.astimezone(self.tz).date()
        for _ in range(_HORIZON_DAYS):
            if self.is_work_day(day):
                start = datetime.combine(day, self.start, tzinfo=self.tz)
                if start > at:
                    return start.astimezone(UTC)
            day += timedelta(days=1)
        raise ValueError(_NO_WORKING_DAY)

    def describe(self) -> str:
        """``Mon-Fri 09:00-18:00 Europe/Berlin`` (plus the number of holidays, if any)."""
        runs: list[list[int]] = []
        for d in sorted(self.days):
            if runs and runs[-1][-1] == d - 1:
                runs[-1].append(d)
            else:
                runs.append([d])
        days = ", ".join(
            f"{_title(r[0])}-{_title(r[-1])}" if len(r) > 2 else ", ".join(map(_title, r))
            for r in runs
        )
        text = f"{days} {self.start:%H:%M}-{self.end:%H:%M} {self.tz.key}"
        if self.holidays:
            text += f", except {len(self.holidays)} holiday{'s' if len(self.holidays) > 1 else ''}"
        return text


def add_business_time(start: datetime, amount: timedelta, calendar: WorkingHours) -> datetime:
    """``start`` plus ``amount`` of working-day wall-clock time (see the module docstring),
    in UTC. ValueError if no working day comes within ten years."""
    tz = calendar.tz
    cursor = start.astimezone(tz).replace(tzinfo=None)
    remaining = amount
    for _ in range(_HORIZON_DAYS):
        day = cursor.date()
        if not calendar.is_work_day(day):
            cursor = datetime.combine(day + timedelta(days=1), time())
            continue
        left_today = datetime.combine(day + timedelta(days=1), time()) - cursor
        if remaining <= left_today:
            return (cursor + remaining).replace(tzinfo=tz).astimezone(UTC)
        remaining -= left_today
        cursor += left_today
    raise ValueError(_NO_WORKING_DAY)


def _title(day: int) -> str:
    return _DAY_NAMES[day].title()


# -- parsing --------------------------------------------------------------------------


def _days(raw: object) -> frozenset[int]:
    wrong = f"must be day names like [mon, tue, wed] or a range like mon-fri, not {raw!r}"
    if isinstance(raw, str) and "-" in raw:
        first, _, last = (part.strip()[:3] for part in raw.lower().partition("-"))
        if first not in _DAY_NAMES or last not in _DAY_NAMES:
            raise problem(wrong)
        a, b = _DAY_NAMES.index(first), _DAY_NAMES.index(last)
        if b < a:
            raise problem(f"{raw!r} runs backwards; write it like mon-fri")
        return frozenset(range(a, b + 1))
    items = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    names = [i.strip().lower()[:3] for i in items if isinstance(i, str)]
    if not items or len(names) != len(items) or any(n not in _DAY_NAMES for n in names):
        raise problem(wrong)
    return frozenset(_DAY_NAMES.index(n) for n in names)


def _clock(raw: object) -> time:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raise problem(
            f"quote the time: '{raw // 60}:{raw % 60:02d}' (YAML reads an unquoted "
            f"{raw // 60}:{raw % 60:02d} as the number {raw})"
        )
    if isinstance(raw, str) and re.fullmatch(r"\d{1,2}:\d{2}", raw.strip()):
        hours, minutes = (int(part) for part in raw.strip().split(":"))
        if hours < 24 and minutes < 60:
            return time(hours, minutes)
    raise problem(f"must be a local time like '09:00', not {raw!r}")


def _holidays(raw: object) -> frozenset[date]:
    """A list of dates (``2026-12-25``, quoted or not: YAML may already hand us dates)."""
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise problem("must be a list of dates like 2026-12-25")
    out: set[date] = set()
    for j, item in enumerate(raw):
        value: object = item
        if isinstance(item, str):
            try:
                value = date.fromisoformat(item.strip())
            except ValueError:
                value = None
        if isinstance(value, datetime) or not isinstance(value, date):
            raise problem(f"must be a date like 2026-12-25, not {item!r}", at=(j,))
        out.add(value)
    return frozenset(out)


def _tz(raw: object) -> ZoneInfo:
    if not isinstance(raw, str) or not raw:
        raise problem("missing: an IANA time zone such as Europe/Berlin")
    try:  # the schedules' own reading of a zone, so both say the same
        return parse_tz(raw, where="", key="")
    except ConfigError as exc:
        raise problem(exc.message) from None


class WorkingHoursSection(ConfigModel):
    """``working_hours:`` as written. (Keys in alphabetical order: the unknown-key message
    lists them so.)"""

    days: Annotated[frozenset[int], PlainValidator(_days)] = frozenset(range(5))
    start: Annotated[time, PlainValidator(_clock)] = Field(time(9), alias="from")
    holidays: Annotated[frozenset[date], PlainValidator(_holidays)] = frozenset()
    end: Annotated[time, PlainValidator(_clock)] = Field(time(17), alias="to")
    tz: Annotated[ZoneInfo, PlainValidator(_tz)] = Field(None, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, raw: object) -> object:
        if not isinstance(raw, dict):
            raise problem("must be a mapping with days, from, to, tz, holidays")
        return raw

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> WorkingHoursSection:
        if self.end <= self.start:
            raise problem(
                f"must be later than from ({self.start:%H:%M}); overnight is not supported",
                at=("to",),
            )
        return self

    def calendar(self) -> WorkingHours:
        return WorkingHours(self.days, self.start, self.end, self.tz, self.holidays)


def parse_working_hours(raw: object, *, where: str, key: str = "working_hours") -> WorkingHours:
    """``{days, from, to, tz, holidays}``; ``tz`` is required (a guessed zone pages at 3 a.m.)."""
    return validate_section(WorkingHoursSection, raw, where=where, key=key).calendar()
