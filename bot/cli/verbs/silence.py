"""``vigil silence add|query|expire``: silences from a terminal, as ``amtool silence`` makes
them against Alertmanager (``amtool`` itself works against Vigil's HTTP API too).

A database verb: it writes the silence and its timers to Vigil's database, so it works with
the bot stopped, and the serving process runs the timers (it looks every few seconds). The
same checks as chat and the API (``bot.silences.spec``); ``add`` prints the firing alerts the
silence mutes, ``--dry-run`` only those. Of vigil.yaml it reads the top level only.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
from datetime import timedelta

from bot.cli.common import quiet
from bot.cli.database import once, printed
from bot.core.clock import utcnow
from bot.core.durations import parse_duration, words_rounded
from bot.core.errors import ValidationError
from bot.silences.matchers import Matcher, MatcherError, parse_matchers
from bot.silences.service import SilenceService, TimerRowsSink
from bot.silences.spec import SilenceSpec, matchers_text, silence_words
from bot.store.db import Database

SHOWN = 20  # matched alerts printed


def main(args: argparse.Namespace) -> int:
    """Carry out the action and print what changed; 1 after one line naming the field."""
    config = quiet(args).settings
    text = asyncio.run(once(config, lambda db: run(args, _service(db))))
    return printed(text)


def _service(db: Database) -> SilenceService:
    return SilenceService(db, clock=utcnow, timers=TimerRowsSink(db))


async def run(args: argparse.Namespace, silences: SilenceService) -> str:
    """One action; the text to print."""
    if args.silence_command == "query":
        views = await silences.listed(include_expired=args.expired)
        now = utcnow()
        if args.matchers:
            wanted = _matchers(args.matchers, "matchers")
            views = [
                v for v in views if any(str(m) in {str(w) for w in wanted} for m in v.matchers)
            ]
        if args.quiet:
            return "\n".join(v.id for v in views)
        return "\n".join(silence_words(v, now) for v in views) or "No silences."
    if args.silence_command == "expire":
        done = [await silences.expire(ref, args.author or _author()) for ref in args.ids]
        return "\n".join(f"Expired {v.short_id}: {matchers_text(v.matchers)}" for v in done)
    assert args.silence_command == "add", args.silence_command
    matchers = _matchers(args.matchers, "matchers")
    try:
        length = parse_duration(args.duration)
    except ValueError as exc:
        raise ValidationError("--duration", str(exc)) from exc
    now = utcnow()
    spec = SilenceSpec(
        matchers=matchers,
        starts_at=now,
        ends_at=now + length,
        created_by=args.author or _author(),
        comment=args.comment or "",
        expire_unused=_unused(args.expire_unused),
    )
    silences.check(spec)
    alerts = await silences.preview(matchers)
    listed = [
        f"  {a.title} ({f'#{a.incident_id}' if a.incident_id else 'already muted'})"
        for a in alerts[:SHOWN]
    ]
    more = [f"  … and {len(alerts) - SHOWN} more"] if len(alerts) > SHOWN else []
    head = f"{len(alerts)} firing alert(s) match {matchers_text(matchers)}" + (
        ":" if alerts else "."
    )
    if args.dry_run:
        return "\n".join([head, *listed, *more, "Dry run: nothing silenced."])
    view = await silences.create(spec)
    return "\n".join(
        [
            view.id,
            f"Silenced for {words_rounded(length)}: {head}",
            *listed,
            *more,
            f"End it early: vigil silence expire {view.short_id}",
        ]
    )


def _matchers(texts: list[str], field: str) -> tuple[Matcher, ...]:
    try:
        return parse_matchers(texts)
    except MatcherError as exc:
        raise ValidationError(field, str(exc)) from exc


def _unused(text: str | None) -> timedelta | None:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ValidationError("--expire-unused", str(exc)) from exc


def _author() -> str:
    """Who the terminal's user is, as amtool says it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"
