"""On-call schedules as iCalendar (RFC 5545): export the final shifts, import overrides.

Pure apart from bytes in and out: no clock (``now`` is passed in), no files, no network.

Export: one VEVENT per final shift (``layers.final_shifts``), in the schedule's time zone
(``DTSTART;TZID=Europe/Berlin:…`` with the VTIMEZONE included), summary
``On call: @maya (ml-oncall)``, the person again in ``X-VIGIL-PERSON``, and
``TRANSP:TRANSPARENT`` because being on call does not make anyone busy. Events are *whole*
shifts that overlap the asked-for range, not shifts cut at its edges, and each UID is a
hash of schedule, person and shift start: exporting a sliding window every day gives the
same UIDs for the same shifts, so calendar apps update events instead of duplicating them.

Import: every VEVENT becomes an :class:`~bot.oncall.schedules.layers.Override`. The person comes
from ``X-VIGIL-PERSON``, else from an ATTENDEE whose CN is an ``@handle`` (a ``mailto:``
address is not a chat handle), else from a summary such as ``@lee`` or ``On call: @lee``.
Decisions, each refused or handled with a :class:`~bot.core.errors.ValidationError` naming the
event:

* all-day events (DATE values) run from local midnight to local midnight in the
  schedule's time zone, DTEND being exclusive as RFC 5545 says;
* floating times (no TZID, no ``Z``) are read in the schedule's time zone; a TZID that
  neither the file nor the tz database knows is refused rather than guessed;
* recurring events (RRULE or RDATE) are refused: an override covers one window, and a
  repeating arrangement is a layer with ``restrict`` in vigil.yaml, where it stays visible;
* cancelled events (``STATUS:CANCELLED``) are skipped;
* an event marked for another schedule (``X-VIGIL-SCHEDULE``) is refused, so one team's
  export is not loaded into another team's schedule by mistake.

Import is all or nothing: the first bad event fails the whole file, so a half-applied
calendar never changes who gets paged.

Each imported override carries a UID, the key a store replaces it by on the next import:
the event's UID (plus its RECURRENCE-ID, for the occurrences of a series exported one by
one, which share the series' UID), hashed when longer than :data:`MAX_UID` characters;
an event without a UID (RFC 5545 requires one, some tools forget) gets a hash of schedule,
person, start and end, so re-importing that same file is still idempotent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from bot.core.errors import ValidationError
from bot.ingest.json_body import check_text
from bot.oncall.schedules.layers import Override, Schedule, Shift, final_shifts, local_to_utc

if TYPE_CHECKING:  # at run time icalendar loads in export_ics and read_entries, which use it:
    # listing or removing overrides (``vigil schedule overrides``) reads no calendar file
    from icalendar import Event

PRODID = "-//Vigil//on-call schedule//EN"
MAX_EVENTS = 5000
MAX_UID = 300  # longer UIDs are hashed: a key, not a text anyone reads
_SUMMARY = re.compile(r"\s*(?:on[ -]?call\s*:?\s*)?(@[^\s()]+)(?:\s*\(.*\))?\s*", re.IGNORECASE)


def export_ics(schedule: Schedule, start: datetime, end: datetime, *, now: datetime) -> bytes:
    """The final shifts overlapping ``[start, end)`` as an iCalendar file (bytes)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    from icalendar import Calendar, Event  # see the imports above

    tz = schedule.tz
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"On call: {schedule.name}")
    cal.add("x-wr-timezone", tz.key)
    shifts = export_shifts(schedule, start, end)
    for shift in shifts:
        event = Event()
        event.add("uid", shift_uid(schedule.name, shift))
        event.add("dtstamp", now.astimezone(UTC))
        event.start = shift.start.astimezone(tz)
        event.end = shift.end.astimezone(tz)
        event.add("summary", f"On call: {shift.person} ({schedule.name})")
        event.add("description", "From " + ", then ".join(shift.sources) + ".")
        event.add("transp", "TRANSPARENT")
        event.add("x-vigil-person", shift.person)
        event.add("x-vigil-schedule", schedule.name)
        cal.add_component(event)
    if shifts:
        # Only the years the file uses: a full 1970-2038 VTIMEZONE is mostly noise.
        cal.add_missing_timezones(
            first_date=shifts[0].start.astimezone(tz).date() - timedelta(days=1),
            last_date=shifts[-1].end.astimezone(tz).date() + timedelta(days=1),
        )
    return bytes(cal.to_ical())


def export_shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The whole final shifts that overlap ``[start, end)``: what :func:`export_ics` writes.

    Looks two rotation lengths beyond each edge so that the first and last shift keep their
    real start and end (and so their UID); a shift longer than that is still cut there.
    """
    pad = 2 * max((layer.length for layer in schedule.layers), default=timedelta(days=1))
    return [
        s for s in final_shifts(schedule, start - pad, end + pad) if s.end > start and s.start < end
    ]


def shift_uid(schedule: str, shift: Shift) -> str:
    """Stable UID: the same person starting the same shift is the same event."""
    key = f"{schedule}\0{shift.person}\0{shift.start.astimezone(UTC).isoformat()}"
    return _digest(key) + "@vigil"


@dataclass(frozen=True)
class IcsEntry:
    """One VEVENT as read: where it is in the file (``events[3]``), its UID, and the override
    it asks for; ``override`` is None for a cancelled event, a calendar's way of deleting
    one (``uid`` is then empty when the event had none)."""

    field: str
    uid: str
    override: Override | None


def import_overrides(data: bytes, *, schedule: Schedule) -> list[Override]:
    """Every VEVENT of an iCalendar file as an override of ``schedule``, in file order."""
    overrides = [e.override for e in read_entries(data, schedule=schedule) if e.override]
    if not overrides:
        raise ValidationError("ics", "every event in the calendar is cancelled")
    return overrides


def read_entries(data: bytes, *, schedule: Schedule) -> list[IcsEntry]:
    """Every VEVENT of an iCalendar file, cancelled ones included, in file order.

    What a store needs to keep its overrides in step with a calendar: a cancelled event
    removes the override stored under its UID. Refuses all that :func:`import_overrides`
    refuses except a file whose events are all cancelled, which is a valid set of removals.
    """
    from icalendar import Calendar  # see the imports above

    try:
        cal = Calendar.from_ical(data)
    except ValueError as exc:
        raise ValidationError("ics", f"not an iCalendar file ({exc})") from None
    if not isinstance(cal, Calendar) or cal.name != "VCALENDAR":
        raise ValidationError("ics", "not an iCalendar file: it must start with BEGIN:VCALENDAR")
    events = cal.events
    if not events:
        raise ValidationError("ics", "the calendar has no events (VEVENT) to import")
    if len(events) > MAX_EVENTS:
        raise ValidationError("ics", f"{len(events)} events; at most {MAX_EVENTS} per import")
    entries: list[IcsEntry] = []
    for i, event in enumerate(events):
        _check_texts(event, f"events[{i}]")
        override = _override(event, f"events[{i}]", schedule)
        uid = event_uid(event, override, schedule.name)
        if override is not None:
            override = dataclasses.replace(override, uid=uid)
        entries.append(IcsEntry(f"events[{i}]", uid, override))
    return entries


def _check_texts(event: Event, field: str) -> None:
    """Refuse text that cannot be stored (a NUL, a lone surrogate) in any property or
    parameter of the event, naming it (``events[0].UID``): PostgreSQL would refuse it only
    at the commit, and SQLite would keep what PostgreSQL refuses."""
    for prop, value in event.items():
        for each in value if isinstance(value, list) else [value]:
            texts = [each] if isinstance(each, str) else []
            params = getattr(each, "params", None)
            if isinstance(params, Mapping):
                texts += [p for p in params.values() if isinstance(p, str)]
            for text in texts:
                check_text(text, f"{field}.{prop}")


def event_uid(event: Event, override: Override | None, schedule: str) -> str:
    """The key an imported override is stored under (see the module notes)."""
    uid = str(event.get("uid", "")).strip()
    recurrence = event.get("recurrence-id")
    if uid and recurrence is not None:
        at = getattr(recurrence, "dt", None)
        if isinstance(at, datetime) and at.tzinfo is not None:
            at = at.astimezone(UTC)
        uid += f"#{at.isoformat() if isinstance(at, date) else recurrence}"
    if not uid:
        if override is None:
            return ""
        key = f"{schedule}\0{override.person}\0{override.start.isoformat()}\0"
        return _digest(key + override.end.isoformat()) + "@vigil-import"
    return uid if len(uid) <= MAX_UID else _digest(uid) + "@vigil-hashed"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _override(event: Event, field: str, schedule: Schedule) -> Override | None:
    summary = str(event.get("summary", "")).strip()
    label = f" ({summary!r})" if summary else ""
    if str(event.get("status", "")).upper() == "CANCELLED":
        return None
    for prop in ("RRULE", "RDATE"):
        if prop not in event:
            continue
        raise ValidationError(
            f"{field}.{prop}",
            f"recurring events are not imported{label}: an override covers one window; put a "
            "repeating arrangement in vigil.yaml as a layer with 'restrict', or export the "
            "occurrences as single events",
        )
    marked = event.get("x-vigil-schedule")
    if marked is not None and str(marked) != schedule.name:
        raise ValidationError(
            f"{field}.X-VIGIL-SCHEDULE",
            f"this event belongs to schedule {str(marked)!r}, not {schedule.name!r}{label}",
        )
    for prop in ("DTSTART", "DTEND"):
        if prop not in event and not (prop == "DTEND" and "DURATION" in event):
            raise ValidationError(
                f"{field}.{prop}", f"missing{label}: an override needs a start and an end"
            )
    start_value = _read(event, "DTSTART", field, label)
    end_value = _read(event, "DTEND", field, label)
    start = _instant(start_value, event, "DTSTART", field, label, schedule)
    end_prop = "DTEND" if "DTEND" in event else "DTSTART"  # DURATION counts from DTSTART
    end = _instant(end_value, event, end_prop, field, label, schedule)
    if end <= start:
        raise ValidationError(f"{field}.DTEND", f"the event does not end after it starts{label}")
    person = _person(event, summary)
    if person is None:
        raise ValidationError(
            f"{field}.SUMMARY",
            f"no person{label}: write the summary as '@lee' or 'On call: @lee', or add "
            "X-VIGIL-PERSON:@lee (an e-mail attendee is not a chat handle)",
        )
    return Override(person, start, end, summary or "imported from iCalendar")


def _read(event: Event, prop: str, field: str, label: str) -> date | datetime:
    """DTSTART, or the end (DTEND, or DTSTART + DURATION) as icalendar reads it."""
    try:
        return event.start if prop == "DTSTART" else event.end
    except ValueError as exc:  # InvalidCalendar (e.g. a DATE start with a DATE-TIME end)
        raise ValidationError(f"{field}.{prop}", f"unreadable{label}: {exc}") from None


def _instant(
    value: date | datetime, event: Event, prop: str, field: str, label: str, schedule: Schedule
) -> datetime:
    if not isinstance(value, datetime):  # an all-day DATE: local midnight
        return local_to_utc(datetime.combine(value, time()), schedule.tz)
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    tzid = getattr(event.get(prop), "params", {}).get("TZID")
    if tzid:  # naive although a TZID is given: icalendar did not know the zone
        raise ValidationError(
            f"{field}.{prop}",
            f"unknown time zone {tzid!r}{label}; use an IANA name such as Europe/Berlin",
        )
    return local_to_utc(value, schedule.tz)  # floating time: the schedule's zone


def _person(event: Event, summary: str) -> str | None:
    explicit = event.get("x-vigil-person")
    if explicit is not None:
        return _handle(str(explicit).strip())
    for attendee in event.attendees:
        handle = _handle(str(attendee.params.get("CN", "")).strip())
        if handle:
            return handle
    match = _SUMMARY.fullmatch(summary)
    return _handle(match.group(1)) if match else None


def _handle(text: str) -> str | None:
    ok = text.startswith("@") and len(text) > 1 and not any(c.isspace() for c in text)
    return text if ok else None
