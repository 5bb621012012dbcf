"""Importing a calendar over stored overrides, decided without a database: what is added,
updated, left alone, removed, kept and skipped, and the UID each event is stored under."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.errors import ValidationError
from bot.oncall.schedules.ical import MAX_UID, IcsEntry, import_overrides, read_entries
from bot.oncall.schedules.layers import Override, Schedule
from bot.oncall.schedules.override_plan import (
    ImportResult,
    Skipped,
    StoredOverride,
    import_json,
    plan_import,
)

NOW = datetime(2026, 11, 24, 2, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
SCHED = Schedule("ml-oncall", BERLIN, ())


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


SPAN = (at(25, 17), at(26, 7))


def entry(i: int, uid: str, person: str | None, start: datetime, end: datetime) -> IcsEntry:
    override = None if person is None else Override(person, start, end, "", uid=uid)
    return IcsEntry(f"events[{i}]", uid, override)


def stored(
    uid: str, person: str, start: datetime, end: datetime, source: str = "a.ics"
) -> StoredOverride:
    return StoredOverride("ml-oncall", uid, person, start, end, source, "cli:bob", NOW)


def plan(entries: list[IcsEntry], rows: list[StoredOverride], **kw: object) -> ImportResult:
    options: dict[str, object] = {"source": "a.ics", "actor": "cli:alice", "now": NOW, **kw}
    return plan_import(
        entries,
        {r.uid: r for r in rows},
        schedule="ml-oncall",
        **options,  # type: ignore[arg-type]
    )


def uids(rows: tuple[StoredOverride, ...]) -> list[str]:
    return [r.uid for r in rows]


def test_a_new_file_adds_each_event_stamped_with_who_and_when() -> None:
    result = plan([entry(0, "b", "@lee", at(26, 8), at(26, 9)), entry(1, "a", "@kim", *SPAN)], [])
    assert uids(result.added) == ["a", "b"]  # in start order, whatever the file's order
    assert result.added[0] == StoredOverride(
        "ml-oncall", "a", "@kim", *SPAN, "a.ics", "cli:alice", NOW
    )
    assert result.changed
    assert result.counts() == {
        "added": 2,
        "updated": 0,
        "unchanged": 0,
        "removed": 0,
        "kept": 0,
        "skipped": 0,
    }


def test_the_same_event_again_is_unchanged_and_keeps_its_first_import() -> None:
    old = stored("a", "@kim", *SPAN)
    result = plan([entry(0, "a", "@kim", *SPAN)], [old], actor="cli:carol")
    assert result.unchanged == (old,)  # as stored: imported_by stays cli:bob
    assert not result.changed


@pytest.mark.parametrize(
    ("person", "span", "source"),
    [
        ("@sam", SPAN, "a.ics"),
        ("@kim", (at(25, 18), at(26, 7)), "a.ics"),
        ("@kim", SPAN, "b.ics"),
    ],
)
def test_a_different_person_time_or_source_under_one_uid_is_an_update(
    person: str, span: tuple[datetime, datetime], source: str
) -> None:
    result = plan([entry(0, "a", person, *span)], [stored("a", "@kim", *SPAN)], source=source)
    [new] = result.updated
    assert (new.person, (new.start, new.end), new.source) == (person, span, source)
    assert new.imported_by == "cli:alice"


def test_a_cancelled_event_removes_what_is_stored_under_its_uid() -> None:
    old = stored("a", "@kim", *SPAN, source="elsewhere")
    result = plan([entry(0, "a", None, *SPAN), entry(1, "x", None, *SPAN)], [old])
    assert result.removed == (old,)
    assert result.skipped == (
        Skipped("events[1]", "x", "cancelled, and nothing was stored under its UID"),
    )


def test_a_uid_twice_in_a_file_counts_the_later_event() -> None:
    result = plan([entry(0, "a", "@kim", *SPAN), entry(1, "a", "@sam", *SPAN)], [])
    assert [r.person for r in result.added] == ["@sam"]
    assert result.skipped == (
        Skipped("events[0]", "a", "the same UID comes again in events[1], which counts"),
    )


def test_an_event_long_over_is_skipped_unless_stored() -> None:
    old_span = (at(20, 8), at(22, 8))  # ended two days before NOW
    result = plan([entry(0, "a", "@kim", *old_span)], [])
    assert result.skipped == (
        Skipped("events[0]", "a", "already over (ended 2026-11-22T08:00:00Z)"),
    )
    moved = plan([entry(0, "a", "@kim", *old_span)], [stored("a", "@kim", *SPAN)])
    assert uids(moved.updated) == ["a"]  # the row follows its event, even into the past


def test_overrides_the_file_no_longer_has_are_kept_unless_replace() -> None:
    rows = [
        stored("a", "@kim", *SPAN),
        stored("gone", "@sam", at(27, 8), at(28, 8)),
        stored("other-source", "@ana", at(27, 8), at(28, 8), source="b.ics"),
        stored("long-over", "@ana", at(10, 8), at(11, 8)),
    ]
    merged = plan([entry(0, "a", "@kim", *SPAN)], rows)
    assert (uids(merged.kept), merged.removed) == (["gone"], ())
    replaced = plan([entry(0, "a", "@kim", *SPAN)], rows, replace=True)
    assert (uids(replaced.removed), replaced.kept) == (["gone"], ())


def test_the_api_answer_counts_first_and_writes_times_with_z() -> None:
    result = plan(
        [entry(0, "a", "@kim", *SPAN), entry(1, "b", "@sam", at(27, 8), at(27, 9))],
        [stored("b", "@sam", at(27, 8), at(27, 9))],
    )
    body = import_json(result)
    assert list(body)[:4] == ["schedule", "source", "changed", "counts"]
    assert body["counts"]["added"] == body["counts"]["unchanged"] == 1
    first, second = body["overrides"]
    assert first == {
        "uid": "a",
        "person": "@kim",
        "start": "2026-11-25T17:00:00Z",
        "end": "2026-11-26T07:00:00Z",
        "source": "a.ics",
        "imported_by": "cli:alice",
        "imported_at": "2026-11-24T02:00:00Z",
        "change": "added",
    }
    assert (second["uid"], second["change"]) == ("b", "unchanged")


# ----------------------------------------------------------------------- UIDs from the file


def ics(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\nDTSTAMP:20260101T000000Z\n{e}END:VEVENT\n" for e in events)
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{body}END:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


GOOD = "DTSTART:20261125T170000Z\nDTEND:20261126T070000Z\nSUMMARY:@kim\n"


def test_each_override_carries_its_event_uid() -> None:
    data = ics(
        f"UID:swap-1@cal.example\n{GOOD}",
        f"UID:series@cal.example\nRECURRENCE-ID:20261202T170000Z\n{GOOD}",
        f"UID:series@cal.example\nRECURRENCE-ID;TZID=Europe/Berlin:20261209T180000\n{GOOD}",
    )
    assert [o.uid for o in import_overrides(data, schedule=SCHED)] == [
        "swap-1@cal.example",
        "series@cal.example#2026-12-02T17:00:00+00:00",
        "series@cal.example#2026-12-09T17:00:00+00:00",  # one series, one key per occurrence
    ]


def test_an_event_without_uid_gets_a_stable_one_from_person_and_times() -> None:
    one = import_overrides(ics(GOOD), schedule=SCHED)[0].uid
    again = import_overrides(ics(GOOD), schedule=SCHED)[0].uid
    moved = import_overrides(ics(GOOD.replace("T170000Z", "T180000Z")), schedule=SCHED)[0].uid
    assert one == again != moved
    assert one.endswith("@vigil-import")


def test_a_very_long_uid_is_hashed_to_fit() -> None:
    [override] = import_overrides(ics(f"UID:{'x' * 1000}\n{GOOD}"), schedule=SCHED)
    assert len(override.uid) <= MAX_UID
    assert override.uid.endswith("@vigil-hashed")


def test_a_file_of_cancellations_reads_as_removals_but_is_no_import_alone() -> None:
    data = ics(f"UID:swap-1\nSTATUS:CANCELLED\n{GOOD}", f"STATUS:CANCELLED\n{GOOD}")
    assert read_entries(data, schedule=SCHED) == [
        IcsEntry("events[0]", "swap-1", None),
        IcsEntry("events[1]", "", None),
    ]
    with pytest.raises(ValidationError, match="cancelled"):
        import_overrides(data, schedule=SCHED)


def test_config_overrides_have_no_uid() -> None:
    assert Override("@a", NOW, NOW + timedelta(hours=1)).uid == ""
