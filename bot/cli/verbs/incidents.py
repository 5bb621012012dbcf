"""``vigil incidents [--all] [--limit N] [--cursor C]``: the incident list in a terminal.

The same page and wording as ``/incident list`` (``render.listing``), so a list cut at the
page size says "Showing 50 of 312" and ends with the ``vigil incidents … --cursor C`` that
prints the next page. Reads the database; changes nothing. Of vigil.yaml it reads the top
level only (the database URL, the log level).
"""

from __future__ import annotations

import argparse
import asyncio
import shlex

from bot.chat.commands import render
from bot.cli.common import quiet
from bot.cli.database import once, printed
from bot.core.clock import utcnow
from bot.core.pagination import DEFAULT_LIMIT
from bot.incidents.service import IncidentService


def main(args: argparse.Namespace) -> int:
    """Print one page; 1 after one line naming a cursor that is not this list's."""
    config = quiet(args).settings
    text = asyncio.run(once(config, lambda db: run(args, IncidentService(db, clock=utcnow))))
    return printed(text)


async def run(args: argparse.Namespace, incidents: IncidentService) -> str:
    """The page to print; a cursor from elsewhere is a ``ValidationError`` naming it."""
    page = await incidents.page(include_closed=args.all, limit=args.limit, cursor=args.cursor)
    return render.listing(page, include_closed=args.all, more=lambda cursor: _more(args, cursor))


def _more(args: argparse.Namespace, cursor: str) -> str:
    """The command line that prints the next page, with the options this one was given."""
    options = ["--all"] if args.all else []
    if args.limit != DEFAULT_LIMIT:
        options.append(f"--limit {args.limit}")
    if args.config:
        options.append(f"--config {shlex.quote(args.config)}")
    return " ".join(["vigil incidents", *options, f"--cursor {cursor}"])
