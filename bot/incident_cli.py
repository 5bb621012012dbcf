"""``vigil incidents [--all] [--limit N] [--cursor C]``: the incident list in a terminal.

The same page and wording as ``/incident list`` (``render.listing``), so a list cut at the
page size says "Showing 50 of 312" and ends with the ``vigil incidents … --cursor C`` that
prints the next page. Reads the database; changes nothing.
"""

from __future__ import annotations

import argparse
import shlex

from bot.chat.commands import render
from bot.errors import ValidationError
from bot.incidents.service import IncidentService
from bot.pagination import DEFAULT_LIMIT, MAX_LIMIT, parse_limit


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``incidents`` command."""
    p = sub.add_parser(
        "incidents",
        help="list the open incidents (all with --all), a page at a time",
        description="Print the open incidents, most severe first (with --all every "
        f"incident, newest first), {DEFAULT_LIMIT} at a time unless --limit says otherwise. "
        "A list longer than that says so and ends with the command that prints the next page.",
    )
    p.add_argument("--all", action="store_true", help="resolved incidents too, newest first")
    p.add_argument(
        "--limit",
        type=_limit,
        default=DEFAULT_LIMIT,
        help=f"incidents per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})",
    )
    p.add_argument("--cursor", help="where to start: what a cut list's last line gives")
    p.add_argument("--config", help="path of vigil.yaml")


def _limit(raw: str) -> int:
    try:
        return parse_limit(raw)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(exc.detail) from None


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
