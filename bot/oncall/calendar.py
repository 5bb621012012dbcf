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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NoReturn
from zoneinfo import ZoneInfo

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


def parse_working_hours(raw: object, *, where: str, key: str = "working_hours") -> WorkingHours:
    """``{days, from, to, tz, holidays}``; ``tz`` is required (a guessed zone pages at 3 a.m.)."""
    p = _Parser(where)
    spec = p.mapping(raw, key, ("days", "from", "to", "tz", "holidays"))
    tz_raw = spec.get("tz")
    if not isinstance(tz_raw, str) or not tz_raw:
        p.fail(f"{key}.tz", "missing: an IANA time zone such as Europe/Berlin")
    tz = parse_tz(tz_raw, where=where, key=f"{key}.tz")
    days = p.days(spec.get("days", "mon-fri"), f"{key}.days")
    start = p.clock(spec.get("from", "09:00"), f"{key}.from")
    end = p.clock(spec.get("to", "17:00"), f"{key}.to")
    if end <= start:
        p.fail(f"{key}.to", f"must be later than from ({start:%H:%M}); overnight is not supported")
    holidays = parse_holidays(spec.get("holidays"), where=where, key=f"{key}.holidays")
    return WorkingHours(days, start, end, tz, holidays)


def parse_holidays(raw: object, *, where: str, key: str) -> frozenset[date]:
    """A list of dates (``2026-12-25``, quoted or not: YAML may already hand us dates)."""
    if raw is None:
        return frozenset()
    p = _Parser(where)
    if not isinstance(raw, list):
        p.fail(key, "must be a list of dates like 2026-12-25")
    out: set[date] = set()
    for j, item in enumerate(raw):
        value: object = item
        if isinstance(item, str):
            try:
                value = date.fromisoformat(item.strip())
            except ValueError:
                value = None
        if isinstance(value, datetime) or not isinstance(value, date):
            p.fail(f"{key}[{j}]", f"must be a date like 2026-12-25, not {item!r}")
        out.add(value)
    return frozenset(out)


@dataclass(frozen=True)
class _Parser:
    """The ``where`` every ConfigError needs, held once so each check reads as one line."""

    where: str

    def fail(self, key: str, message: str) -> NoReturn:
        raise ConfigError(message, where=self.where, key=key)

    def mapping(self, raw: object, key: str, known: tuple[str, ...]) -> dict[object, object]:
        if not isinstance(raw, dict):
            self.fail(key, f"must be a mapping with {', '.join(known)}")
        for name in raw:
            if name not in known:
                self.fail(f"{key}.{name}", f"unknown key (allowed: {', '.join(sorted(known))})")
        return raw

    def days(self, raw: object, key: str) -> frozenset[int]:
        problem = f"must be day names like [mon, tue, wed] or a range like mon-fri, not {raw!r}"
        if isinstance(raw, str) and "-" in raw:
            first, _, last = (part.strip()[:3] for part in raw.lower().partition("-"))
            if first not in _DAY_NAMES or last not in _DAY_NAMES:
                self.fail(key, problem)
            a, b = _DAY_NAMES.index(first), _DAY_NAMES.index(last)
            if b < a:
                self.fail(key, f"{raw!r} runs backwards; write it like mon-fri")
            return frozenset(range(a, b + 1))
        items = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        names = [i.strip().lower()[:3] for i in items if isinstance(i, str)]
        if not items or len(names) != len(items) or any(n not in _DAY_NAMES for n in names):
            self.fail(key, problem)
        return frozenset(_DAY_NAMES.index(n) for n in names)

    def clock(self, raw: object, key: str) -> time:
        if isinstance(raw, int) and not isinstance(raw, bool):
            self.fail(
                key,
                f"quote the time: '{raw // 60}:{raw % 60:02d}' (YAML reads an unquoted "
                f"{raw // 60}:{raw % 60:02d} as the number {raw})",
            )
        if isinstance(raw, str) and re.fullmatch(r"\d{1,2}:\d{2}", raw.strip()):
            hours, minutes = (int(part) for part in raw.strip().split(":"))
            if hours < 24 and minutes < 60:
                return time(hours, minutes)
        self.fail(key, f"must be a local time like '09:00', not {raw!r}")
