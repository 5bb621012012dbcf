"""The ``vigil`` command: ``run`` (what ``make run`` calls), ``serve`` and ``check``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.app import Vigil, serve, stop_on_signals
from bot.checks import run_checks
from bot.config import Settings, load_settings
from bot.db import redact_url
from bot.errors import ConfigError

log = logging.getLogger("vigil")


class StartupError(Exception):
    """The process cannot start (database unreachable, migration failed); exit 1, no trace."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigil",
        description="Vigil: incident ChatOps for AI models in production.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def server_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config", help="path of vigil.yaml (default: $VIGIL_CONFIG or ./vigil.yaml)"
        )
        p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
        p.add_argument("--port", type=int, help="port to listen on (default 8080)")

    run = sub.add_parser(
        "run",
        help="run the bot: HTTP server plus the chat backend (the console on a terminal)",
        description="Run Vigil on its configured chat backend. With no Slack credentials this "
        "is the console on the terminal; without a terminal on stdin it serves HTTP only.",
    )
    server_options(run)
    serve_p = sub.add_parser(
        "serve",
        help="serve HTTP only (alerts, API, health), no console",
        description="Serve Vigil's HTTP endpoints only, as a platform's web process does.",
    )
    server_options(serve_p)
    check = sub.add_parser(
        "check",
        help="validate config, rules, playbooks and templates; exit 1 on the first error",
        description="Validate vigil.yaml, the classification rules, playbooks/ and templates/. "
        "Prints the file and field of the first problem and exits 1.",
    )
    check.add_argument("--config", help="path of vigil.yaml")
    check.add_argument("--playbooks", type=Path, default=Path("playbooks"))
    check.add_argument("--templates", type=Path, default=Path("templates"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = dict(os.environ)
    try:
        if args.command == "check":
            report = run_checks(
                args.config, env, playbooks=args.playbooks, templates=args.templates
            )
            print(report.summary())
            return 0
        settings = load_settings(args.config, env, host=args.host, port=args.port)
    except ConfigError as exc:
        print(f"vigil: configuration error: {exc}", file=sys.stderr)
        return 1
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    console = args.command == "run"
    try:
        asyncio.run(_serve(settings, console=console))
    except (OSError, StartupError) as exc:
        print(f"vigil: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve(settings: Settings, *, console: bool) -> None:
    from bot.chat.console import ConsoleBackend, stdin_reader

    stop = asyncio.Event()
    stop_on_signals(stop)
    try:
        vigil = await Vigil.create(settings)
    except Exception as exc:  # any driver's failure to connect or migrate
        raise StartupError(
            f"cannot open the database {redact_url(settings.database_url)}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    try:
        if console and sys.stdin.isatty():
            user = "@" + os.environ.get("VIGIL_CONSOLE_USER", getpass.getuser())
            vigil.attach(
                ConsoleBackend(
                    vigil.commands,
                    reader=await stdin_reader(),
                    out=sys.stdout,
                    user=user,
                    on_quit=stop,
                )
            )
        elif console:
            log.info(
                "stdin is not a terminal: console chat is off; serving HTTP and logging "
                "incident changes here"
            )
            vigil.notifier.subscribe(_log_change)
        await serve(vigil, host=settings.host, port=settings.port, stop=stop)
    finally:
        await vigil.close()


async def _log_change(change: object) -> None:
    from bot.chat.backend import announcement
    from bot.incidents.service import Change

    assert isinstance(change, Change)
    log.info("%s", announcement(change))


if __name__ == "__main__":
    sys.exit(main())
