"""The words of ``vigil --help``: every verb's arguments, and nothing else.

Built before any verb is known, so it imports only what its help texts and argument types
need (the model stages, the page size limits): ``vigil --help`` and a mistyped option answer
at once, without loading the database, HTTP or statistics libraries a verb may use.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

from bot.core.errors import ValidationError
from bot.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, parse_limit
from bot.registry.base import STAGES

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
NEW_STAGES = tuple(s for s in STAGES if s != "retired")


def parser() -> argparse.ArgumentParser:
    """The whole ``vigil`` command line; ``args.command`` names the verb."""
    root = argparse.ArgumentParser(
        prog="vigil",
        description="Vigil: incident ChatOps for AI models in production.",
    )
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _servers(sub)
    _check(sub)
    _postmortem(sub)
    _model(sub)
    _schedule(sub)
    _incidents(sub)
    _silence(sub)
    _rules(sub)
    _report(sub)
    sub.add_parser(
        "demo",
        help="play the whole story in about two seconds: drift, P2, page, escalation, "
        "rollback, post-mortem",
        description="A scripted scenario with no network and a throwaway database: a fraud "
        "model's accuracy falls from 0.94 to 0.71 while its input drifts; Vigil classifies, "
        "pages, escalates, rolls back and drafts the post-mortem. Start here.",
    )
    return root


def _server_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="path of vigil.yaml (default: $VIGIL_CONFIG or ./vigil.yaml)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 8080)")


def _servers(sub: Sub) -> None:
    run = sub.add_parser(
        "run",
        help="run the bot: HTTP server plus the chat backend (the console on a terminal)",
        description="Run Vigil on its configured chat backend. With no Slack credentials this "
        "is the console on the terminal; without a terminal on stdin it serves HTTP only.",
    )
    _server_options(run)
    serve = sub.add_parser(
        "serve",
        help="serve HTTP only (alerts, API, health), no console",
        description="Serve Vigil's HTTP endpoints only, as a platform's web process does.",
    )
    _server_options(serve)
    serve.add_argument(
        "--processes",
        choices=("auto", "1", "2"),
        help="2: alerts and commands in one process, pages, timers and Slack delivery in "
        "another, each with a core (PostgreSQL only); 1: all in one; auto (default, or "
        "$VIGIL_PROCESSES): 2 on PostgreSQL with two or more CPUs",
    )
    serve.add_argument("--role", choices=("http", "worker"), help=argparse.SUPPRESS)


def _check(sub: Sub) -> None:
    check = sub.add_parser(
        "check",
        help="validate config, rules, playbooks and templates; exit 1 on the first error",
        description="Validate vigil.yaml, the classification rules, playbooks/ and templates/. "
        "Prints the file and field of the first problem and exits 1.",
    )
    check.add_argument("--config", help="path of vigil.yaml")
    check.add_argument("--playbooks", type=Path, default=Path("playbooks"))
    check.add_argument("--templates", type=Path, default=Path("templates"))


def _postmortem(sub: Sub) -> None:
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


def _rules(sub: Sub) -> None:
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


def _report(sub: Sub) -> None:
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


def _model(sub: Sub) -> None:
    model = sub.add_parser(
        "model",
        help="list, register, promote, canary and retire model versions (what /rollback uses)",
        description="Manage the model versions in the registry vigil.yaml's registry: section "
        "names (Vigil's built-in one by default, MLflow aliases or a serving webhook): the "
        "versions /rollback and the containment playbook switch between.",
    )
    model.add_argument("--config", help="path of vigil.yaml")
    actions = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every model, or one model's versions")
    listing.add_argument("model", nargs="?", metavar="MODEL")
    register = actions.add_parser("register", help="add a version (a shadow unless --stage)")
    _model_version(register)
    register.add_argument("--stage", choices=NEW_STAGES, default="shadow")
    register.add_argument(
        "--traffic", type=int, default=0, metavar="N", help="percent of traffic, for a canary"
    )
    register.add_argument("--notes", default="", help="a line about this version")
    _model_version(actions.add_parser("promote", help="make a version the stable one"))
    _rollouts(actions)
    _model_version(actions.add_parser("retire", help="take a version out of service for good"))
    history = actions.add_parser("history", help="every change to a model's versions")
    history.add_argument("model", metavar="MODEL")
    _reference(actions)
    _profile(actions)
    references = actions.add_parser("references", help="every reference stored for a model")
    references.add_argument("model", metavar="MODEL")
    shadow = actions.add_parser(
        "shadow",
        help="how a shadow version compares with the live one, and whether it may go canary",
        description="Ask the running Vigil (GET /api/v1/models/MODEL/shadow, with the API "
        "token of VIGIL_API_TOKEN) for shadow VERSION beside what serves: agreement, score "
        "distance, latency, accuracy on labelled pairs, the segments where they differ most, "
        "and the verdict (ready to canary, not yet, disagrees).",
    )
    _model_version(shadow)
    shadow.add_argument("--url", help="the Vigil to ask (default: http://HOST:PORT of vigil.yaml)")


def _rollouts(actions: Sub) -> None:
    canary = actions.add_parser(
        "canary",
        help="roll a version out step by step, judged every interval (or PERCENT: set it)",
        description="Without PERCENT: a progressive rollout. VERSION starts at the first step "
        "against the stable version; every interval the canary judge compares both versions' "
        "rows since the start: PASS steps up, FAIL puts the canary back to 0 %% and opens an "
        "incident, anything else holds; after the last step VERSION is promoted. The running "
        "Vigil does the looks. With PERCENT (or --percent): just set the share, no judging.",
    )
    _model_version(canary)
    canary.add_argument(
        "percent", type=int, nargs="?", metavar="PERCENT", help="1-99, or 0 to stop it"
    )
    canary.add_argument("--percent", type=int, dest="set_percent", metavar="N", help="as PERCENT")
    canary.add_argument("--steps", metavar="5,10,25,50,100", help="shares; 100 means promote")
    canary.add_argument("--every", metavar="10m", help="time between looks")
    ab = actions.add_parser(
        "ab",
        help="A/B: VERSION B at a fixed share against the stable A, judged every interval",
    )
    ab.add_argument("model", metavar="MODEL")
    ab.add_argument("a", metavar="A", help="the stable version")
    ab.add_argument("b", metavar="B", help="the version to compare")
    ab.add_argument("--share", type=int, default=50, metavar="N", help="B's share (default 50)")
    ab.add_argument("--every", metavar="10m", help="time between looks")
    rollout = actions.add_parser("rollout", help="a model's rollout and its looks; --abort")
    rollout.add_argument("model", metavar="MODEL")
    rollout.add_argument("--abort", action="store_true", help="stop it: the canary back to 0 %%")


def _reference(actions: Sub) -> None:
    ref = actions.add_parser(
        "reference",
        help="store the reference profile that production rows are judged against",
        description="Profile a reference dataset (the training or validation set the model "
        "was judged good on), CSV or Parquet, and store it as MODEL's reference: bin edges and "
        "counts per feature, category frequencies, ranges, the prediction and confidence "
        "distributions. No rows are stored. Columns named id, prediction, confidence, label "
        "and timestamp take those roles unless the options below name others; every other "
        "column is a feature. A running Vigil judges against it from its next poll, with an "
        "empty window.",
    )
    ref.add_argument("model", metavar="MODEL")
    ref.add_argument("file", type=Path, metavar="FILE", help="a .csv or .parquet file")
    ref.add_argument(
        "--version",
        help="the model version this reference belongs to (default: the registry's stable "
        "version, else 'unversioned')",
    )
    for role in ("id", "prediction", "confidence", "label", "timestamp"):
        ref.add_argument(f"--{role}", metavar="COLUMN", help=f"the {role} column")
    ref.add_argument(
        "--ignore", action="append", default=[], metavar="COLUMN", help="not a feature (repeat)"
    )
    ref.add_argument(
        "--categorical",
        action="append",
        default=[],
        metavar="COLUMN",
        help="treat a numeric column as categories, e.g. a region code (repeat)",
    )
    ref.add_argument(
        "--importances",
        metavar="FILE|NAME=W,...",
        help="feature importances at training time: a JSON object file or inline pairs",
    )
    # No default here: the default bin count lives with the binning (bot.quality.binning,
    # which loads numpy); bot.cli.verbs.model.reference fills it in when --bins is not given.
    ref.add_argument("--bins", type=int, help="bins per numeric feature")
    _engine(ref)


ENGINES = ("duckdb", "spark", "memory")
"""``bot.profiling.files.ENGINES``, named here so parsing loads no engine."""


def _engine(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="duckdb",
        help="what reads the file: duckdb (default; out of core, larger than memory), spark "
        "(a Spark job: VIGIL_SPARK_MASTER, default local[*]) or memory (in process: a "
        "reference profile holds the whole file, a batch is streamed)",
    )


def _profile(actions: Sub) -> None:
    prof = actions.add_parser(
        "profile",
        help="judge a batch of production rows (CSV or Parquet) against MODEL's reference",
        description="Reduce FILE (production rows: features, and the prediction and "
        "confidence columns when it has them) to one sketch on the bins of MODEL's newest "
        "reference and judge it as the live monitor judges a window: drift per feature "
        "(PSI), prediction drift, the data-quality score and the label-free accuracy "
        "estimate. The first line says how bad it is. Exit status 0 whatever the verdict.",
    )
    prof.add_argument("model", metavar="MODEL")
    prof.add_argument("file", type=Path, metavar="FILE", help="a .csv or .parquet file")
    for role in ("id", "prediction", "confidence", "label", "timestamp"):
        prof.add_argument(f"--{role}", metavar="COLUMN", help=f"the {role} column")
    prof.add_argument(
        "--ignore", action="append", default=[], metavar="COLUMN", help="not a feature (repeat)"
    )
    prof.add_argument("--json", action="store_true", help="the figures as JSON")
    _engine(prof)


def _model_version(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL")
    p.add_argument("version", metavar="VERSION")


def _schedule(sub: Sub) -> None:
    schedule = sub.add_parser(
        "schedule",
        help="import overrides (swaps, holiday cover) from an .ics calendar; list or remove them",
        description="Overrides from iCalendar files, stored in Vigil's database: every "
        "replica sees them at once, without a deploy. They win over vigil.yaml where "
        "they overlap; among themselves, the last imported wins.",
    )
    schedule.add_argument("--config", help="path of vigil.yaml")
    actions = schedule.add_subparsers(dest="schedule_command", required=True, metavar="ACTION")
    imp = actions.add_parser(
        "import",
        help="store each event of FILE as an override of schedule NAME",
        description="Each event of FILE becomes an override: its person from X-VIGIL-PERSON, "
        "an @handle attendee or a summary like 'On call: @lee'. Importing the same file again "
        "changes nothing; an updated export updates the events by UID; a cancelled event "
        "removes its override. A bad event refuses the whole file, naming it.",
    )
    imp.add_argument("name", metavar="NAME", help="the schedule, as named in vigil.yaml")
    imp.add_argument("file", metavar="FILE", help="an .ics file, or - to read standard input")
    imp.add_argument(
        "--source", help="where the file comes from, for --replace (default: the file's name)"
    )
    imp.add_argument(
        "--replace",
        action="store_true",
        help="also remove the overrides imported earlier from the same source that FILE "
        "no longer has (without it they stay, and the summary lists them)",
    )
    listing = actions.add_parser("overrides", help="the imported overrides in effect or to come")
    listing.add_argument("name", metavar="NAME")
    remove = actions.add_parser("remove", help="remove one imported override by its UID")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("uid", metavar="UID", help="as 'vigil schedule overrides NAME' shows it")


def _silence(sub: Sub) -> None:
    silence = sub.add_parser(
        "silence",
        help="hush alerts for a while: add, query or expire silences (as amtool does)",
        description="Silences with Alertmanager's matchers (name=value, name!=value, "
        'name=~"regex", name!~"regex"). A silenced alert is stored and shown but opens no '
        "incident and pages nobody; if it still fires when the silence ends, it pages then.",
    )
    silence.add_argument("--config", help="path of vigil.yaml")
    actions = silence.add_subparsers(dest="silence_command", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="silence the alerts the matchers match; prints what fires under it now",
        description="Create a silence (over 24h needs --comment saying why). Prints its id "
        "and the firing alerts it mutes now.",
    )
    add.add_argument("matchers", nargs="+", metavar="MATCHER", help="e.g. service=payments")
    add.add_argument("-d", "--duration", default="1h", help="how long (default 1h)")
    add.add_argument("-c", "--comment", help="why (needed over 24h)")
    add.add_argument("-a", "--author", help="who (default: your user name)")
    add.add_argument("--expire-unused", help="end it once it has muted nothing this long")
    add.add_argument(
        "--dry-run", action="store_true", help="only print the firing alerts it would mute"
    )
    query = actions.add_parser("query", help="list the silences (--expired: ended ones too)")
    query.add_argument("matchers", nargs="*", metavar="MATCHER", help="only silences with it")
    query.add_argument("--expired", action="store_true", help="ended silences too")
    query.add_argument("-q", "--quiet", action="store_true", help="only the ids")
    expire = actions.add_parser("expire", help="end silences now; what they held pages")
    expire.add_argument("ids", nargs="+", metavar="ID", help="an id or its first 8 characters")
    expire.add_argument("-a", "--author", help="who (default: your user name)")


def _incidents(sub: Sub) -> None:
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
