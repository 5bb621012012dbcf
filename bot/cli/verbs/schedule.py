"""``vigil schedule …``: import calendar overrides into an on-call schedule, list, remove.

``import NAME FILE`` stores each event of an iCalendar file as an override of schedule NAME
(in the database, so every running replica reads it on its next look) and prints what
changed, then who is on call now; ``overrides NAME`` lists those in effect or to come;
``remove NAME UID`` deletes one. Refusals (an unknown schedule, a bad event) are
``VigilError``s, which the CLI prints as one line naming the field and exits 1 with. Of
vigil.yaml it reads the top level, ``schedules:`` and ``rotations:`` (a name may not be
both), with the running bot's parser.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cli.common import actor, quiet
from bot.cli.database import once, printed
from bot.core.clock import utcnow
from bot.core.errors import ValidationError
from bot.oncall.schedules.config import parse_rosters
from bot.oncall.schedules.layers import Schedule
from bot.oncall.schedules.override_plan import ImportResult, StoredOverride
from bot.oncall.schedules.overrides import ScheduleBook
from bot.oncall.status import oncall_answer


def main(args: argparse.Namespace) -> int:
    """Carry out the action and print what changed; 1 after one line naming the field."""
    config = quiet(args)
    _, configured = parse_rosters(config.top.schedules, config.top.rotations, where=config.where)
    text = asyncio.run(
        once(
            config.settings,
            lambda db: run(args, ScheduleBook(db, configured, utcnow), who=actor(), now=utcnow()),
        )
    )
    return printed(text)


async def run(args: argparse.Namespace, book: ScheduleBook, *, who: str, now: datetime) -> str:
    """Carry out one ``vigil schedule`` action; the text to print."""
    name = args.name
    book.check(name)  # a mistyped name first, before reading any file
    if args.schedule_command == "import":
        data = _read(args.file)
        source = args.source or ("stdin" if args.file == "-" else Path(args.file).name)
        result = await book.import_ics(name, data, actor=who, source=source, replace=args.replace)
        return import_summary(result, await book.get(name), now)
    if args.schedule_command == "overrides":
        rows = await book.list(name)
        return overrides_text(book.configured[name], rows, now)
    assert args.schedule_command == "remove", args.schedule_command
    gone = await book.remove(name, args.uid)
    tz = book.configured[name].tz
    return f"Removed {gone.person}'s override of {name} ({_span(gone, tz, now)}).\n" + _now_line(
        await book.get(name), now
    )


def _read(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(file).read_bytes()
    except OSError as exc:
        raise ValidationError("FILE", f"cannot read {file}: {exc.strerror or exc}") from None


def import_summary(result: ImportResult, schedule: Schedule, now: datetime) -> str:
    """What an import did, the change first, then each override it touched, then who is on
    call now, so the person importing sees the effect without another command."""
    name, source, tz = result.schedule, result.source, schedule.tz
    done = [
        f"{len(rows)} {word}"
        for rows, word in (
            (result.added, "added"),
            (result.updated, "updated"),
            (result.removed, "removed"),
        )
        if rows
    ]
    same = len(result.unchanged)
    if done:
        first = f"Imported {source} into {name}: {', '.join(done)}"
        first += f"; {same} already there." if same else "."
    elif same == 1:
        first = f"Nothing changed in {name}: the override in {source} was already imported."
    elif same:
        every = "both" if same == 2 else f"all {same}"
        first = f"Nothing changed in {name}: {every} overrides in {source} were already there."
    else:
        first = f"Nothing changed in {name}: no event of {source} could be used (see below)."
    lines = [first]
    width = max((len(r.person) for r in _all(result)), default=0)
    changes = (("added", result.added), ("updated", result.updated), ("removed", result.removed))
    for word, rows in changes:
        lines += [f"  {word:<8} {r.person:<{width}}  {_span(r, tz, now)}" for r in rows]
    lines += [f"  skipped  {s.field}: {s.reason}" for s in result.skipped]
    if result.kept:
        one = len(result.kept) == 1
        lines.append(
            f"{_n(len(result.kept), 'override')} imported earlier from {source} "
            + ("is not in this file and stays" if one else "are not in this file and stay")
            + f" (import with --replace to remove {'it' if one else 'them'}):"
        )
        lines += [f"  {'kept':<8} {r.person:<{width}}  {_span(r, tz, now)}" for r in result.kept]
    lines.append(_now_line(schedule, now))
    return "\n".join(lines)


def overrides_text(schedule: Schedule, rows: Sequence[StoredOverride], now: datetime) -> str:
    """``vigil schedule overrides NAME``: one line each, with the UID that ``remove`` takes."""
    name = schedule.name
    if not rows:
        return (
            f"{name} has no imported overrides in effect or to come. "
            f"Import some: vigil schedule import {name} FILE"
        )
    width = max(len(r.person) for r in rows)
    lines = [f"{name}: {_n(len(rows), 'imported override')}, by start:"]
    for r in rows:
        lines.append(
            f"  {r.person:<{width}}  {_span(r, schedule.tz, now)}  from {r.source}, "
            f"by {r.imported_by} {r.imported_at:%Y-%m-%d %H:%MZ}  uid {r.uid}"
        )
    return "\n".join(lines)


def _now_line(schedule: Schedule, now: datetime) -> str:
    return "Now: " + oncall_answer(schedule, now).splitlines()[0]


def _all(result: ImportResult) -> list[StoredOverride]:
    return [*result.added, *result.updated, *result.removed, *result.kept]


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _span(row: StoredOverride, tz: ZoneInfo, now: datetime) -> str:
    """``Tue 24 Nov 18:00 → Wed 25 Nov 08:00 CET`` in the schedule's zone (year when not
    this year's)."""
    start, end = row.start.astimezone(tz), row.end.astimezone(tz)
    this_year = now.astimezone(tz).year

    def day(at: datetime) -> str:
        year = f" {at.year}" if at.year != this_year else ""
        return f"{at:%a} {at.day} {at:%b}{year} {at:%H:%M}"

    tail = f" {end:%Z}" if start.utcoffset() == end.utcoffset() else f" {end:%Z} (from {start:%Z})"
    return f"{day(start)} → {day(end)}{tail}"
