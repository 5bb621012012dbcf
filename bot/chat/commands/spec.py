"""The ``/incident`` subcommands: each one's usage line and description, and the help text.

One table, read by the parser (a refusal shows the right form), the help, the console's
completion and the README test, so a subcommand is described once. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bot.chat.commands.tokens import quote

_SPEC: tuple[tuple[str, str, str], ...] = (
    (
        "new",
        "/incident new TITLE [--sev P1..P4] [--service S | --model M]",
        "open an incident by hand",
    ),
    (
        "list",
        "/incident list [--all] [--cursor C]",
        "open incidents (all with --all), 50 at a time; a longer list ends with the "
        "--cursor that shows the next 50",
    ),
    ("show", "/incident show N", "show one incident: state, severity, owner, timeline"),
    ("ack", "/incident ack N", "acknowledge: you are on it"),
    ("escalate", "/incident escalate N", "page the next escalation level now: more hands"),
    (
        "snooze",
        "/incident snooze N [DURATION] [until CONDITION [for DURATION]] | off",
        "no pages for a while (24 h at most), or until a metric has recovered (then the "
        "channel is told, nobody paged): snooze 12 30m, snooze 12 until psi<0.1 for 30m; "
        "off ends it now (paging again unless someone has acked)",
    ),
    (
        "silence",
        "/incident silence N [DURATION] [--yes] [-- COMMENT]",
        "hush this incident's alerts (default 1h): no new incident, no page; without --yes "
        "a preview; ends by itself once #N has stayed resolved 30 min",
    ),
    ("sev", "/incident sev N P1..P4", "set severity (a human choice wins over the policy)"),
    ("assign", "/incident assign N @user", "make @user the incident commander"),
    ("note", "/incident note N TEXT", "add TEXT to the incident's timeline"),
    (
        "contain",
        "/incident contain N [--pin]",
        "mark contained: impact stopped, cause not yet fixed; --pin first pins the "
        "model's traffic to its last known good version",
    ),
    ("retrain", "/incident retrain N", "ask the training service to retrain the model"),
    ("resolve", "/incident resolve N [TEXT]", "resolve, with an optional closing note"),
    ("postmortem", "/incident postmortem N", "draft the post-mortem from the timeline"),
    (
        "oncall",
        "/incident oncall [NAME]",
        "who is on call now, until when, and who is next (NAME: a schedule or rotation)",
    ),
    (
        "report",
        "/incident report [SINCE]",
        "MTTA, MTTR and SLA per severity, pages per person, noisiest alerts; SINCE is 7d "
        "(the default), 30d, 24h or a date like 2026-11-01",
    ),
    ("help", "/incident help [SUBCOMMAND]", "this help, or one subcommand's"),
)

USAGE: Mapping[str, str] = MappingProxyType({name: usage for name, usage, _ in _SPEC})
SUBCOMMANDS: tuple[str, ...] = tuple(USAGE)
DESCRIPTION: Mapping[str, str] = MappingProxyType({name: desc for name, _, desc in _SPEC})
ALL_USAGE = "\n".join(USAGE.values())
N_NOTE = "N is an incident number: 12 or #12."
# /rollback and /rollout are slash commands of their own (bot.chat.commands.rollback and
# .rollout); the /incident help points at them so nobody has to know they exist.
POINTERS = (
    (
        "/rollback MODEL [VERSION] [--incident N] [--dry-run]",
        "put the last known good version of a model back in service (/rollback help)",
    ),
    (
        "/rollout start|ab|status|abort MODEL …",
        "a canary stepped up while the judge passes, rolled back on FAIL (/rollout help)",
    ),
)


def help_text(topic: str | None = None) -> str:
    """All usage lines with a line of description each, or only ``topic``'s."""
    key = (topic or "").strip().lower()
    if key in USAGE:
        note = f"\n{N_NOTE}" if " N" in USAGE[key] else ""
        return f"{USAGE[key]}\n    {DESCRIPTION[key]}{note}"
    lines = [f"Vigil incident commands ({N_NOTE[:-1]}):"]
    for name in SUBCOMMANDS:
        lines.append(f"  {USAGE[name]}\n      {DESCRIPTION[name]}")
    lines.append("Also:")
    lines.extend(f"  {usage}\n      {what}" for usage, what in POINTERS)
    full = "\n".join(lines)
    return f"Unknown subcommand {quote(topic or '')}.\n\n{full}" if key else full
