"""The calendar: working hours in local time across DST, business days, parse errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core.errors import ConfigError
from bot.oncall.calendar import WorkingHours, add_business_time, parse_working_hours

BERLIN = ZoneInfo("Europe/Berlin")
HOURS = {"days": "mon-fri", "from": "09:00", "to": "18:00", "tz": "Europe/Berlin"}
CAL = parse_working_hours({"days": "mon-fri", "tz": "Europe/Berlin"}, where="w")
# 2026-03-25 is a Wednesday; Berlin is on CET (UTC+1) until Sunday 29 March.
WED_NOON = datetime(2026, 3, 25, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
SAT_NOON = datetime(2026, 3, 28, 11, 0, tzinfo=UTC)


def berlin(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


# -- working hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "inside"),
    [
        (datetime(2026, 3, 27, 9, 0), True),  # Friday, start is inside
        (datetime(2026, 3, 27, 8, 59), False),
        (datetime(2026, 3, 27, 17, 59), True),
        (datetime(2026, 3, 27, 18, 0), False),  # end is outside
        (datetime(2026, 3, 28, 12, 0), False),  # Saturday
        (datetime(2026, 3, 30, 9, 0), True),  # Monday after the change to CEST
    ],
)
def test_contains_reads_local_time(local: datetime, inside: bool) -> None:
    hours = parse_working_hours(HOURS, where="w")
    assert hours.contains(local.replace(tzinfo=BERLIN).astimezone(UTC)) is inside


@pytest.mark.parametrize(
    ("tz", "now_utc", "opens_utc"),
    [
        # Berlin spring forward (Sun 29 Mar): Friday evening → Monday 09:00 CEST = 07:00 UTC.
        ("Europe/Berlin", datetime(2026, 3, 27, 17, 30), datetime(2026, 3, 30, 7, 0)),
        # Berlin fall back (Sun 25 Oct): Saturday → Monday 09:00 CET = 08:00 UTC.
        ("Europe/Berlin", datetime(2026, 10, 24, 12, 0), datetime(2026, 10, 26, 8, 0)),
        # New York spring forward (Sun 8 Mar): Monday 09:00 EDT = 13:00 UTC (14:00 the week before).
        ("America/New_York", datetime(2026, 3, 7, 12, 0), datetime(2026, 3, 9, 13, 0)),
        ("America/New_York", datetime(2026, 3, 2, 12, 0), datetime(2026, 3, 2, 14, 0)),  # early
        # New York fall back (Sun 1 Nov): Monday 09:00 EST = 14:00 UTC.
        ("America/New_York", datetime(2026, 10, 30, 23, 0), datetime(2026, 11, 2, 14, 0)),
    ],
)
def test_opens_at_the_next_local_start_across_dst(
    tz: str, now_utc: datetime, opens_utc: datetime
) -> None:
    hours = parse_working_hours({**HOURS, "tz": tz}, where="w")
    assert hours.opens_at(now_utc.replace(tzinfo=UTC)) == opens_utc.replace(tzinfo=UTC)


def test_opens_at_skips_holidays_and_returns_now_inside_hours() -> None:
    hours = parse_working_hours({**HOURS, "holidays": ["2026-03-30", date(2026, 3, 31)]}, where="w")
    assert hours.opens_at(SAT_NOON) == datetime(2026, 4, 1, 7, 0, tzinfo=UTC)
    assert hours.opens_at(WED_NOON) == WED_NOON
    assert "except 2 holidays" in hours.describe()


def test_working_hours_days_as_list_and_describe() -> None:
    hours = parse_working_hours(
        {**HOURS, "days": ["Mon", "tuesday", "wed", "fri", "sun"]}, where="w"
    )
    assert hours.days == frozenset({0, 1, 2, 4, 6})
    assert hours.describe() == "Mon-Wed, Fri, Sun 09:00-18:00 Europe/Berlin"
    assert WorkingHours().describe() == "Mon-Fri 09:00-17:00 UTC"
    assert (WorkingHours().start, WorkingHours().end) == (time(9), time(17))


# -- business days ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Friday 16:00 → Monday 16:00 local, across the spring change (71 real hours).
        (berlin(2026, 3, 27, 16, 0), berlin(2026, 3, 30, 16, 0)),
        # ... and across the autumn change (73 real hours).
        (berlin(2026, 10, 23, 16, 0), berlin(2026, 10, 26, 16, 0)),
        (berlin(2026, 3, 26, 10, 0), berlin(2026, 3, 27, 10, 0)),  # Thursday → Friday
        (berlin(2026, 3, 28, 10, 0), berlin(2026, 3, 31, 0, 0)),  # Saturday: from Monday 00:00
    ],
)
def test_one_business_day(start: datetime, expected: datetime) -> None:
    assert add_business_time(start, timedelta(days=1), CAL) == expected


def test_business_days_real_hours_across_dst() -> None:
    spring = add_business_time(berlin(2026, 3, 27, 16, 0), timedelta(days=1), CAL)
    assert spring - berlin(2026, 3, 27, 16, 0) == timedelta(hours=71)
    assert spring.astimezone(UTC) == datetime(2026, 3, 30, 14, 0, tzinfo=UTC)


def test_business_days_skip_holidays() -> None:
    cal = parse_working_hours(
        {"days": "mon-fri", "tz": "Europe/Berlin", "holidays": ["2026-03-30"]}, where="w"
    )
    assert add_business_time(berlin(2026, 3, 27, 16, 0), timedelta(days=1), cal) == berlin(
        2026, 3, 31, 16, 0
    )


# -- parse errors name the exact key ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key", "message"),
    [
        ("9-5", "working_hours", "must be a mapping with days, from, to, tz, holidays"),
        ({"days": "mon-fri"}, "working_hours.tz", "IANA time zone"),
        ({**HOURS, "tz": "Mars/Olympus"}, "working_hours.tz", "unknown time zone"),
        ({**HOURS, "to": 1080}, "working_hours.to", "quote the time: '18:00'"),
        ({**HOURS, "to": "08:00"}, "working_hours.to", "later than from (09:00)"),
        ({**HOURS, "from": "9am"}, "working_hours.from", "like '09:00'"),
        ({**HOURS, "days": "fri-mon"}, "working_hours.days", "runs backwards"),
        ({**HOURS, "days": ["mon", "funday"]}, "working_hours.days", "day names"),
        ({**HOURS, "holidays": "2026-12-25"}, "working_hours.holidays", "a list of dates"),
        ({**HOURS, "holidays": ["25 Dec"]}, "working_hours.holidays[0]", "a date"),
        ({**HOURS, "lunch": "12:00"}, "working_hours.lunch", "unknown key"),
    ],
)
def test_parse_errors_name_the_key(raw: Any, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_working_hours(raw, where="vigil.yaml")
    assert info.value.key == key
    assert info.value.where == "vigil.yaml"
    assert message in info.value.message
