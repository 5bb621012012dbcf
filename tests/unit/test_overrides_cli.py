"""The words ``vigil schedule import`` and ``vigil schedule overrides`` print: the change
first, one line per override in the schedule's time zone, then who is on call now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.cli.verbs.schedule import import_summary, overrides_text
from bot.oncall.schedules.layers import Layer, Schedule
from bot.oncall.schedules.override_plan import ImportResult, Skipped, StoredOverride

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 24, 2, tzinfo=UTC)
SCHED = Schedule(
    "ml-oncall",
    BERLIN,
    (Layer("primary", ("@maya", "@sam"), timedelta(days=7), datetime(2026, 11, 23, 9), BERLIN),),
)


def row(uid: str, person: str, day: int, hours: int = 14) -> StoredOverride:
    """From 18:00 in Berlin on ``day`` of November (past 30: into December)."""
    start = datetime(2026, 11, 1, 17, tzinfo=UTC) + timedelta(days=day - 1)
    end = start + timedelta(hours=hours)
    return StoredOverride("ml-oncall", uid, person, start, end, "swaps.ics", "cli:bob", NOW)


def test_the_summary_says_what_changed_then_each_override_then_who_is_on_call() -> None:
    result = ImportResult(
        "ml-oncall",
        "swaps.ics",
        added=(row("a", "@kim", 25),),
        updated=(row("b", "@alexandra", 27),),
        unchanged=(row("c", "@sam", 29),),
        removed=(row("d", "@lee", 28),),
        kept=(row("e", "@noor", 30), row("f", "@noor", 31)),
        skipped=(Skipped("events[4]", "g", "already over (ended 2026-11-02T07:00:00Z)"),),
    )
    assert import_summary(result, SCHED, NOW).splitlines() == [
        "Imported swaps.ics into ml-oncall: 1 added, 1 updated, 1 removed; 1 already there.",
        "  added    @kim        Wed 25 Nov 18:00 → Thu 26 Nov 08:00 CET",
        "  updated  @alexandra  Fri 27 Nov 18:00 → Sat 28 Nov 08:00 CET",
        "  removed  @lee        Sat 28 Nov 18:00 → Sun 29 Nov 08:00 CET",
        "  skipped  events[4]: already over (ended 2026-11-02T07:00:00Z)",
        "2 overrides imported earlier from swaps.ics are not in this file and stay "
        "(import with --replace to remove them):",
        "  kept     @noor       Mon 30 Nov 18:00 → Tue 1 Dec 08:00 CET",
        "  kept     @noor       Tue 1 Dec 18:00 → Wed 2 Dec 08:00 CET",
        "Now: @maya is on call for ml-oncall until Mon 30 Nov 09:00 CET (in 6d 6h); next: @sam.",
    ]


def test_a_repeat_import_says_nothing_changed_first() -> None:
    result = ImportResult(
        "ml-oncall", "swaps.ics", unchanged=(row("a", "@k", 25), row("b", "@k", 27))
    )
    first = import_summary(result, SCHED, NOW).splitlines()[0]
    assert first == "Nothing changed in ml-oncall: both overrides in swaps.ics were already there."


def test_a_listing_names_source_importer_and_the_uid_to_remove_by() -> None:
    listing = overrides_text(SCHED, [row("swap-1@team", "@kim", 25, hours=24 * 400)], NOW)
    assert listing.splitlines() == [
        "ml-oncall: 1 imported override, by start:",
        "  @kim  Wed 25 Nov 18:00 → Thu 30 Dec 2027 18:00 CET  from swaps.ics, "
        "by cli:bob 2026-11-24 02:00Z  uid swap-1@team",
    ]
    assert overrides_text(SCHED, [], NOW) == (
        "ml-oncall has no imported overrides in effect or to come. "
        "Import some: vigil schedule import ml-oncall FILE"
    )
