"""The ``vigil`` command line: run (what ``make run`` calls), serve, check, postmortem, model,
schedule, rules list, report, incidents."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot import incident_cli, model_cli, schedule_cli
from bot.app import Role, Vigil, serve, stop_on_signals
from bot.chat.backend import announcement
from bot.chat.console import ConsoleBackend, stdin_reader
from bot.checks import check_rules, run_checks
from bot.config import Settings, load_settings
from bot.db import Database, is_sqlite_url, redact_url
from bot.demo import run_demo
from bot.errors import ConfigError, VigilError
from bot.incidents.service import Change
from bot.rules.listing import rule_lines
from bot.supervise import split_wanted, stop_when_stdin_ends, supervise

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
    serve_p.add_argument(
        "--processes",
        choices=("auto", "1", "2"),
        help="2: alerts and commands in one process, pages, timers and Slack delivery in "
        "another, each with a core (PostgreSQL only); 1: all in one; auto (default, or "
        "$VIGIL_PROCESSES): 2 on PostgreSQL with two or more CPUs",
    )
    serve_p.add_argument("--role", choices=("http", "worker"), help=argparse.SUPPRESS)
    check = sub.add_parser(
        "check",
        help="validate config, rules, playbooks and templates; exit 1 on the first error",
        description="Validate vigil.yaml, the classification rules, playbooks/ and templates/. "
        "Prints the file and field of the first problem and exits 1.",
    )
    postmortem = sub.add_parser(
        "postmortem",
        help="print (or write) the post-mortem draft of incident N",
        description="Render the post-mortem draft of incident N from its timeline with "
        "templates/postmortem.md.j2 (or your templates_dir override) and print it, or write "
        "it to --out. Records nothing.",
    )
    postmortem.add_argument("incident", type=int, metavar="N", help="incident number")
    postmortem.add_argument("--out", type=Path, help="write the draft to this file")
    postmortem.add_argument("--config", help="path of vigil.yaml")
    check.add_argument("--config", help="path of vigil.yaml")
    check.add_argument("--playbooks", type=Path, default=Path("playbooks"))
    check.add_argument("--templates", type=Path, default=Path("templates"))
    model_cli.add_parser(sub)
    schedule_cli.add_parser(sub)
    incident_cli.add_parser(sub)
    rules = sub.add_parser(
        "rules",
        help="the alerting rules: which are on, which are off and what they need",
        description="Alerting rules: the bundled rules/default.yaml overridden by rules_dir.",
    )
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    rules_list = rules_sub.add_parser(
        "list",
        help="print each effective rule: ON/OFF, name, condition, for, kind",
        description="Print every effective rule on one line: ON or OFF, its name, its "
        "condition (or the vigil.yaml setting it needs before it runs), for, kind.",
    )
    rules_list.add_argument("--config", help="path of vigil.yaml")
    report = sub.add_parser(
        "report",
        help="MTTA, MTTR and SLA compliance per severity, pages per person, noisiest alerts",
        description="Print the on-call report of the incidents opened in a period: MTTA and "
        "MTTR per severity, SLA compliance, pages per person (and how many out of hours), "
        "and the noisiest alerts. Reads the database; changes nothing.",
    )
    report.add_argument(
        "--since",
        default="30d",
        help="the period: 30d (default), 7d, 24h, 2w, or a date like 2026-11-01",
    )
    report.add_argument("--config", help="path of vigil.yaml")
    sub.add_parser(
        "demo",
        help="play the whole story in about two seconds: drift, P2, page, escalation, "
        "rollback, post-mortem",
        description="A scripted scenario with no network and a throwaway database: a fraud "
        "model's accuracy falls from 0.94 to 0.71 while its input drifts; Vigil classifies, "
        "pages, escalates, rolls back and drafts the post-mortem. Start here.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = dict(os.environ)
    if args.command == "demo":  # its own settings: touches nothing of yours
        logging.basicConfig(level="WARNING", stream=sys.stderr)
        return asyncio.run(run_demo(sys.stdout))
    try:
        if args.command == "check":
            report = run_checks(
                args.config, env, playbooks=args.playbooks, templates=args.templates
            )
            print(report.summary())
            for line in report.paging:
                print(line)
            return 0
        if args.command == "rules":
            for line in rule_lines(check_rules(load_settings(args.config, env))):
                print(line)
            return 0
        settings = load_settings(
            args.config, env, host=getattr(args, "host", None), port=getattr(args, "port", None)
        )
    except ConfigError as exc:
        print(f"vigil: configuration error: {exc}", file=sys.stderr)
        return 1
    # Output on stdout, problems on stderr: no log lines mixed into what these print.
    quiet = args.command in ("postmortem", "model", "report", "schedule", "incidents")
    logging.basicConfig(
        level="WARNING" if quiet else settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if settings.log_level != "DEBUG":  # our own lines say what matters; the libraries' chatter
        for noisy in ("alembic.runtime.migration", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        if args.command == "postmortem":
            text = asyncio.run(_postmortem(settings, args.incident))
            if text is None:
                return 1
            if args.out is None:
                sys.stdout.write(text)
            else:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(text, encoding="utf-8")
                print(f"Post-mortem draft of #{args.incident} written to {args.out}")
            return 0
        printers = {
            "model": _model,
            "schedule": _schedule,
            "report": _report,
            "incidents": _incidents,
        }
        printer = printers.get(args.command)
        if printer is not None:
            output = asyncio.run(printer(settings, args))
            if output is None:
                return 1
            print(output)
            return 0
        if args.command == "serve" and args.role is None:
            split = _split(args, settings, env)
            if split is not None:
                asyncio.run(_migrate(settings))  # once, before two processes open it
                return asyncio.run(supervise(split, env))
        role: Role = getattr(args, "role", None) or "all"
        asyncio.run(_serve(settings, console=args.command == "run", role=role))
    except ConfigError as exc:  # found while starting: a playbook, a playbooks_dir
        print(f"vigil: configuration error: {exc}", file=sys.stderr)
        return 1
    except (OSError, StartupError) as exc:
        print(f"vigil: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


async def _open(settings: Settings, *, drive_timers: bool = True, follow_ups: bool = True) -> Vigil:
    try:
        return await Vigil.create(settings, drive_timers=drive_timers, follow_ups=follow_ups)
    except ConfigError:
        raise
    except Exception as exc:  # any driver's failure to connect or migrate
        raise _cannot_open(settings, exc) from exc


def _cannot_open(settings: Settings, exc: Exception) -> StartupError:
    return StartupError(
        f"cannot open the database {redact_url(settings.database_url)}: {type(exc).__name__}: {exc}"
    )


async def _once(settings: Settings, work: Callable[[Vigil], Awaitable[str]]) -> str | None:
    """Open Vigil for one command, run ``work`` and close it: what ``work`` returns, or None
    after saying on stderr why it refused (a ``VigilError``)."""
    vigil = await _open(settings, drive_timers=False)  # a short-lived process fires no timers
    try:
        return await work(vigil)
    except VigilError as exc:
        print(f"vigil: {exc.message}", file=sys.stderr)
        return None
    finally:
        await vigil.close()


async def _postmortem(settings: Settings, incident_id: int) -> str | None:
    """The draft's text, or None after saying why there is none."""
    return await _once(settings, lambda vigil: vigil.postmortems.render(incident_id))


async def _model(settings: Settings, args: argparse.Namespace) -> str | None:
    """What ``vigil model …`` prints, or None after saying on stderr why it refused."""
    return await _once(
        settings,
        lambda vigil: model_cli.run(
            args,
            vigil.registry,
            who=model_cli.actor(),
            references=vigil.models.store,
            now=vigil.clock(),
        ),
    )


async def _schedule(settings: Settings, args: argparse.Namespace) -> str | None:
    """What ``vigil schedule …`` prints, or None after saying on stderr why it refused."""
    return await _once(
        settings,
        lambda vigil: schedule_cli.run(
            args, vigil.schedule_book, who=model_cli.actor(), now=vigil.clock()
        ),
    )


async def _report(settings: Settings, args: argparse.Namespace) -> str | None:
    """What ``vigil report`` prints, or None after saying on stderr why not (a bad
    ``--since``: one line naming it). The app's own report service: the SLA targets and
    working hours the SLA timers use, so the channel and the report agree."""
    return await _once(settings, lambda vigil: vigil.reports.report(args.since))


async def _incidents(settings: Settings, args: argparse.Namespace) -> str | None:
    """What ``vigil incidents`` prints, or None after saying on stderr why not (a cursor
    that is not one of this list's)."""
    return await _once(settings, lambda vigil: incident_cli.run(args, vigil.incidents))


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
        raise _cannot_open(settings, exc) from exc
    finally:
        await db.dispose()


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


if __name__ == "__main__":
    sys.exit(main())
