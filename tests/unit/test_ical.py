"""iCalendar: export the final shifts with time zones and stable UIDs; import overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bot.core.errors import ValidationError
from bot.oncall.schedules.config import parse_schedules
from bot.oncall.schedules.ical import export_ics, export_shifts, import_overrides, shift_uid
from bot.oncall.schedules.layers import Schedule, final_shifts

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def schedule(**over: Any) -> Schedule:
    body = {
        "tz": "Europe/Berlin",
        "layers": [
            {
                "name": "primary",
                "rotation": "weekly",
                "handoff": "2026-03-02T09:00",
                "participants": ["@maya", "@sam", "@lee"],
            },
            {
                "name": "business-hours",
                "rotation": "daily",
                "handoff": "2026-03-02T09:00",
                "participants": ["@ana"],
                "restrict": {"days": ["mon-fri"], "from": "09:00", "to": "17:00"},
            },
        ],
        **over,
    }
    return parse_schedules({"ml-oncall": body}, where="vigil.yaml")["ml-oncall"]


def ics(*events: str, extra: str = "") -> bytes:
    body = "".join(
        f"BEGIN:VEVENT\nUID:{i}\nDTSTAMP:20260101T000000Z\n{e}END:VEVENT\n"
        for i, e in enumerate(events)
    )
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{extra}{body}END:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


def window(days: int = 14) -> tuple[datetime, datetime]:
    start = datetime(2026, 3, 23, tzinfo=BERLIN)  # the week of the spring change
    return start, start + timedelta(days=days)


# ------------------------------------------------------------------------ export


def test_export_parses_back_with_time_zone_and_summary() -> None:
    sched = schedule()
    cal = Calendar.from_ical(export_ics(sched, *window(), now=NOW))
    assert [tz.tz_name for tz in cal.timezones] == ["Europe/Berlin"]
    assert str(cal["X-WR-TIMEZONE"]) == "Europe/Berlin"
    events = cal.events
    shifts = export_shifts(sched, *window())
    assert len(events) == len(shifts) > 10
    first = events[0]
    assert first["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert first["DTEND"].params["TZID"] == "Europe/Berlin"
    assert str(first["SUMMARY"]) == f"On call: {shifts[0].person} (ml-oncall)"
    assert str(first["X-VIGIL-PERSON"]) == shifts[0].person
    assert first.decoded("DTSTAMP") == NOW
    assert [(e.start, e.end) for e in events] == [(s.start, s.end) for s in shifts]


def test_export_keeps_the_handoff_at_local_nine_after_the_change() -> None:
    cal = Calendar.from_ical(export_ics(schedule(), *window(), now=NOW))
    starts = [e.start for e in cal.events if isinstance(e.start, datetime)]
    monday = [t for t in starts if t.date() == datetime(2026, 3, 30).date()]
    assert [(t.hour, t.utcoffset()) for t in monday] == [
        (9, timedelta(hours=2)),  # @ana, business hours, CEST
        (17, timedelta(hours=2)),
    ]
    assert b"DTSTART;TZID=Europe/Berlin:20260330T090000" in export_ics(
        schedule(), *window(), now=NOW
    )


def test_export_writes_whole_shifts_not_cut_at_the_window() -> None:
    start = datetime(2026, 3, 28, 12, tzinfo=BERLIN)  # a Saturday, mid-shift
    events = Calendar.from_ical(
        export_ics(schedule(), start, start + timedelta(days=1), now=NOW)
    ).events
    assert events[0].start == datetime(2026, 3, 27, 17, tzinfo=BERLIN)
    assert events[0].end == datetime(2026, 3, 30, 9, tzinfo=BERLIN)


def test_uids_are_unique_and_stable_across_exports() -> None:
    sched = schedule()
    start, end = window()
    one = {
        str(e["UID"]): e.start
        for e in Calendar.from_ical(export_ics(sched, start, end, now=NOW)).events
    }
    later = NOW + timedelta(days=3)
    shifted = Calendar.from_ical(
        export_ics(sched, start + timedelta(days=3), end + timedelta(days=3), now=later)
    ).events
    two = {str(e["UID"]): e.start for e in shifted}
    assert len(one) == len(export_shifts(sched, start, end))  # unique within a file
    common = set(one) & set(two)
    assert len(common) > 10
    assert all(one[uid] == two[uid] for uid in common)
    assert all(e.decoded("DTSTAMP") == later for e in shifted)


def test_uid_changes_with_person_or_start() -> None:
    shift = final_shifts(schedule(), *window())[0]
    assert shift_uid("ml-oncall", shift) == shift_uid("ml-oncall", shift)
    assert shift_uid("ml-oncall", shift) != shift_uid("other", shift)
    assert shift_uid("ml-oncall", shift).endswith("@vigil")


def test_export_of_an_empty_range_is_a_valid_empty_calendar() -> None:
    start = datetime(2026, 3, 7, tzinfo=BERLIN)
    only_weekdays = schedule(layers=[_business_layer()])
    cal = Calendar.from_ical(export_ics(only_weekdays, start, start + timedelta(hours=12), now=NOW))
    assert cal.events == []
    assert cal.timezones == []


def _business_layer() -> dict[str, Any]:
    return {
        "rotation": "daily",
        "handoff": "2026-03-02T09:00",
        "participants": ["@ana"],
        "restrict": {"days": ["mon-fri"], "from": "09:00", "to": "17:00"},
    }


def test_export_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        export_ics(schedule(), *window(), now=datetime(2026, 3, 1))


# ------------------------------------------------------------------------ round trip


def test_round_trip_gives_overrides_equal_to_the_shifts() -> None:
    sched = schedule()
    start, end = window(21)
    overrides = import_overrides(export_ics(sched, start, end, now=NOW), schedule=sched)
    shifts = export_shifts(sched, start, end)
    assert [(o.person, o.start, o.end) for o in overrides] == [
        (s.person, s.start, s.end) for s in shifts
    ]
    assert overrides[0].reason == f"On call: {shifts[0].person} (ml-oncall)"
    # As overrides on a schedule of their own, they reproduce the same final schedule.
    copy = Schedule("ml-oncall", BERLIN, sched.layers[:1], tuple(overrides))
    assert [(s.person, s.start, s.end) for s in final_shifts(copy, start, end)] == [
        (s.person, s.start, s.end) for s in final_shifts(sched, start, end)
    ]


# ------------------------------------------------------------------------ import


@pytest.mark.parametrize(
    "lines",
    [
        "SUMMARY:@lee\n",
        "SUMMARY:On call: @lee\n",
        "SUMMARY:on-call @lee (ml-oncall)\n",
        "SUMMARY:Holiday cover\nX-VIGIL-PERSON:@lee\n",
        "SUMMARY:On call: @sam\nX-VIGIL-PERSON:@lee\n",  # the explicit property wins
        "SUMMARY:Cover\nATTENDEE;CN=@lee:mailto:lee@example.com\n",
    ],
)
def test_import_finds_the_person(lines: str) -> None:
    data = ics(f"DTSTART:20261224T170000Z\nDTEND:20261226T080000Z\n{lines}")
    [override] = import_overrides(data, schedule=schedule())
    assert override.person == "@lee"
    assert override.start == datetime(2026, 12, 24, 18, tzinfo=BERLIN)
    assert override.end == datetime(2026, 12, 26, 9, tzinfo=BERLIN)


def test_import_reads_tzid_floating_all_day_and_duration() -> None:
    data = ics(
        "DTSTART;TZID=America/New_York:20261224T090000\nDTEND;TZID=America/New_York:20261224T170000\nSUMMARY:@a\n",
        "DTSTART:20261224T180000\nDTEND:20261224T200000\nSUMMARY:@b\n",
        "DTSTART;VALUE=DATE:20260329\nDTEND;VALUE=DATE:20260330\nSUMMARY:@c\n",
        "DTSTART;TZID=Europe/Berlin:20261224T180000\nDURATION:PT2H\nSUMMARY:@d\n",
    )
    a, b, c, d = import_overrides(data, schedule=schedule())
    assert a.start == datetime(2026, 12, 24, 14, tzinfo=UTC)
    assert (b.start, b.end) == (
        datetime(2026, 12, 24, 18, tzinfo=BERLIN),  # floating: the schedule's zone
        datetime(2026, 12, 24, 20, tzinfo=BERLIN),
    )
    # All day on the spring-forward Sunday: local midnight to midnight, 23 real hours.
    assert (c.start, c.end) == (
        datetime(2026, 3, 29, tzinfo=BERLIN),
        datetime(2026, 3, 30, tzinfo=BERLIN),
    )
    assert c.end - c.start == timedelta(hours=23)
    assert d.end - d.start == timedelta(hours=2)


def test_import_skips_cancelled_events() -> None:
    data = ics(
        "DTSTART:20261224T170000Z\nDTEND:20261226T080000Z\nSUMMARY:@a\nSTATUS:CANCELLED\n",
        "DTSTART:20261224T170000Z\nDTEND:20261226T080000Z\nSUMMARY:@b\n",
    )
    assert [o.person for o in import_overrides(data, schedule=schedule())] == ["@b"]


GOOD = "DTSTART:20261224T170000Z\nDTEND:20261226T080000Z\n"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (b"hello", "ics", "not an iCalendar file"),
        (b"", "ics", "not an iCalendar file"),
        (b"BEGIN:VEVENT\r\nEND:VEVENT\r\n", "ics", "BEGIN:VCALENDAR"),
        (ics(), "ics", "no events"),
        (ics(f"{GOOD}SUMMARY:@a\nSTATUS:CANCELLED\n"), "ics", "cancelled"),
        (ics("DTEND:20261226T080000Z\nSUMMARY:@a\n"), "events[0].DTSTART", "missing"),
        (ics("DTSTART:20261224T170000Z\nSUMMARY:@a\n"), "events[0].DTEND", "missing"),
        (
            ics("DTSTART:20261226T080000Z\nDTEND:20261224T170000Z\nSUMMARY:@a\n"),
            "events[0].DTEND",
            "does not end after it starts",
        ),
        (
            ics("DTSTART:20261224T170000Z\nDTEND:20261224T170000Z\nSUMMARY:@a\n"),
            "events[0].DTEND",
            "does not end after it starts",
        ),
        (ics(f"{GOOD}SUMMARY:Lee covers\n"), "events[0].SUMMARY", "no person"),
        (
            ics(f"{GOOD}SUMMARY:Cover\nATTENDEE:mailto:lee@example.com\n"),
            "events[0].SUMMARY",
            "e-mail attendee is not a chat handle",
        ),
        (ics(f"{GOOD}SUMMARY:@a\nRRULE:FREQ=WEEKLY;COUNT=3\n"), "events[0].RRULE", "recurring"),
        (ics(f"{GOOD}SUMMARY:@a\nRDATE:20261231T170000Z\n"), "events[0].RDATE", "recurring"),
        (
            ics("DTSTART;TZID=Nowhere/Land:20261224T180000\nDTEND:20261226T080000Z\nSUMMARY:@a\n"),
            "events[0].DTSTART",
            "unknown time zone 'Nowhere/Land'",
        ),
        (
            ics("DTSTART;VALUE=DATE:20261224\nDTEND:20261226T080000Z\nSUMMARY:@a\n"),
            "events[0].DTSTART",
            "same type",
        ),
        (
            ics(f"{GOOD}SUMMARY:@a\nX-VIGIL-SCHEDULE:data-oncall\n"),
            "events[0].X-VIGIL-SCHEDULE",
            "belongs to schedule 'data-oncall'",
        ),
        (
            ics(f"{GOOD}SUMMARY:@a\n", f"{GOOD}SUMMARY:nobody\n"),
            "events[1].SUMMARY",
            "'nobody'",
        ),
    ],
)
def test_import_errors_name_the_field(data: bytes, field: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        import_overrides(data, schedule=schedule())
    assert caught.value.field == field


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York"])
def test_round_trip_across_both_dst_changes_with_a_handoff_in_the_gap(tz: str) -> None:
    layer = {"rotation": "daily", "handoff": "2026-03-01T02:30", "participants": ["@a", "@b"]}
    sched = parse_schedules({"s": {"tz": tz, "layers": [layer]}}, where="w")["s"]
    for start in (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 10, 20, tzinfo=UTC)):
        end = start + timedelta(days=16)
        data = export_ics(sched, start, end, now=NOW)
        overrides = import_overrides(data, schedule=sched)
        assert [(o.person, o.start, o.end) for o in overrides] == [
            (s.person, s.start, s.end) for s in export_shifts(sched, start, end)
        ]
    spring = "20260329T030000" if tz == "Europe/Berlin" else "20260308T030000"
    assert f"DTSTART;TZID={tz}:{spring}".encode() in export_ics(
        sched, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC), now=NOW
    )
