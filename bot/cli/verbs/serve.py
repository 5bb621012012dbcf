"""``vigil run`` and ``vigil serve``: the running bot, the one verb that builds all of it.

``serve`` on PostgreSQL with two or more CPUs (or ``--processes 2``) migrates once and
supervises two children, ``python -m bot.cli serve --role http|worker`` (bot.runtime.supervise);
otherwise this process serves HTTP, and ``run`` adds the console on a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys

from bot.chat.backend import announcement
from bot.chat.console import ConsoleBackend, stdin_reader
from bot.cli.common import log_to_stderr
from bot.cli.database import cannot_open
from bot.config.load import Settings, load_settings
from bot.core.errors import ConfigError
from bot.incidents.reactions.changes import Change
from bot.runtime.app import Vigil
from bot.runtime.serve import Role, serve, stop_on_signals
from bot.runtime.supervise import split_wanted, stop_when_stdin_ends, supervise
from bot.store.db import Database
from bot.store.db_url import is_sqlite_url

log = logging.getLogger("vigil")


def main(args: argparse.Namespace) -> int:
    """Serve until stopped (SIGTERM, SIGINT, /quit on the console); 0 on a clean stop."""
    # Every section: the running bot uses them all (the short verbs read only their own).
    config = load_settings(
        args.config,
        dict(os.environ),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )
    log_to_stderr(config.log_level, config)
    if args.command == "serve" and args.role is None:
        split = _split(args, config, dict(os.environ))
        if split is not None:
            asyncio.run(_migrate(config))  # once, before two processes open it
            return asyncio.run(supervise(split, dict(os.environ)))
    role: Role = getattr(args, "role", None) or "all"
    asyncio.run(_serve(config, console=args.command == "run", role=role))
    return 0


def _split(args: argparse.Namespace, settings: Settings, env: dict[str, str]) -> list[str] | None:
    """The arguments of a split serve's children, or None to serve in this process."""
    choice = args.processes or env.get("VIGIL_PROCESSES") or "auto"
    if choice not in ("auto", "1", "2"):
        raise ConfigError(
            f"must be auto, 1 or 2, got {choice!r}", where="environment", key="VIGIL_PROCESSES"
        )
    sqlite = is_sqlite_url(settings.database_url)
    if choice == "2" and sqlite:
        raise ConfigError(
            "--processes 2 needs PostgreSQL: SQLite has one writer, which a second process "
            "would only wait for; use --processes 1 or set VIGIL_DATABASE_URL to PostgreSQL"
        )
    if not split_wanted(choice, postgres=not sqlite, cpus=os.cpu_count()):
        return None
    child = ["serve", "--host", settings.host, "--port", str(settings.port)]
    if args.config:
        child += ["--config", args.config]
    return child


async def _migrate(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        await db.migrate()
    except Exception as exc:  # any driver's failure to connect or migrate
        raise cannot_open(settings, exc) from exc
    finally:
        await db.dispose()


async def _open(settings: Settings, *, drive_timers: bool, follow_ups: bool) -> Vigil:
    try:
        return await Vigil.create(settings, drive_timers=drive_timers, follow_ups=follow_ups)
    except ConfigError:
        raise
    except Exception as exc:  # any driver's failure to connect or migrate
        raise cannot_open(settings, exc) from exc


async def _serve(settings: Settings, *, console: bool, role: Role = "all") -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    if role != "all":
        watch = asyncio.create_task(stop_when_stdin_ends(stop))
    vigil = await _open(settings, drive_timers=role != "http", follow_ups=role != "http")
    try:
        if vigil.slack is not None:
            mode = "Socket Mode" if settings.slack and settings.slack.socket_mode else "HTTP"
            log.info("Slack is the chat (%s); the console is off", mode)
        elif console and sys.stdin.isatty():
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
        await serve(vigil, host=settings.host, port=settings.port, stop=stop, role=role)
    finally:
        if role != "all":
            watch.cancel()
        await vigil.close()


async def _log_change(change: Change) -> None:
    log.info("%s", announcement(change))
