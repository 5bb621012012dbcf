"""Parse the text of an ``/incident`` command into a typed value, without I/O.

Pure on purpose: Slack's slash command and the console both hand over the text after
``/incident`` and run this one parser, so a command means the same thing wherever it is typed,
and every rule here is tested without a chat library, a database or a network. Nothing here
raises on user input: ``parse_incident`` returns a command, or a ``ParseError`` whose message
says what was wrong and whose ``usage`` shows the right form.

Forgiving where the meaning is unambiguous (any case, ``#12``, ``sev2``, ``--sev=P2``, smart
quotes, the em dash that macOS types in place of ``--``); strict where a slip would act on the
wrong incident (the number must be exactly one positive whole number, and words left over after
it are an error, never ignored).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from bot.chat.commands.types import (
    Ack,
    Assign,
    Command,
    Contain,
    Escalate,
    Help,
    List,
    New,
    Note,
    Oncall,
    ParseError,
    Postmortem,
    Report,
    Resolve,
    Retrain,
    Sev,
    Show,
    Snooze,
)
from bot.errors import ValidationError
from bot.incidents.severity import SEVERITIES
from bot.oncall.snooze.rules import parse_snooze

__all__ = [
    "SUBCOMMANDS",
    "USAGE",
    "Ack",
    "Assign",
    "Command",
    "Contain",
    "Escalate",
    "Help",
    "List",
    "New",
    "Note",
    "Oncall",
    "ParseError",
    "Postmortem",
    "Report",
    "Resolve",
    "Retrain",
    "Sev",
    "Show",
    "Snooze",
    "help_text",
    "parse_incident",
]


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
_DESCRIPTION: Mapping[str, str] = MappingProxyType({name: desc for name, _, desc in _SPEC})
_ALL_USAGE = "\n".join(USAGE.values())
_N_NOTE = "N is an incident number: 12 or #12."
# /rollback is its own slash command (bot.chat.commands.rollback, which imports this module);
# the /incident help points at it so nobody has to know it exists. A test keeps them equal.
ROLLBACK_POINTER = (
    "/rollback MODEL [VERSION] [--incident N] [--dry-run]",
    "put the last known good version of a model back in service (/rollback help)",
)

_HELP_WORDS = frozenset({"help", "--help", "-h", "?"})
_SEVERITY = re.compile(r"(?:p|sev)?([1-4])", re.IGNORECASE | re.ASCII)
_NUMBER = re.compile(r"#?([0-9]+)")
_MAX_DIGITS = 18  # fits a signed 64-bit column, and stays far below int()'s digit limit
_SLACK_USER = re.compile(r"<@([A-Z0-9]+)(?:\|[^<>]*)?>")
_HANDLE = re.compile(r"@?(\w[\w.\-]*)")
_DQUOTES = '"\u201c\u201d'  # " and the curly pair Slack's clients type
_SQUOTES = "'\u2018\u2019"
# A double-quoted run of words is one token (so "--sev" inside it is title, not an option).
_TOKEN = re.compile(rf"(?P<q>[{_DQUOTES}][^{_DQUOTES}]*[{_DQUOTES}])(?=\s|$)|\S+")
_DASHES = ("\u2014", "\u2013")  # em and en dash: what "--" becomes after autocorrect
_NEW_OPTIONS: Mapping[str, str] = MappingProxyType(
    {"--sev": "--sev", "--severity": "--sev", "--service": "--service", "--model": "--model"}
)
_KNOWN_OPTION_NAMES = frozenset(name[2:] for name in (*_NEW_OPTIONS, "--all", "--pin", "--cursor"))
_REPORT_OPTION_NAMES = _KNOWN_OPTION_NAMES | {"since"}  # "—since", autocorrected, too


@dataclass(frozen=True)
class _Tok:
    text: str
    start: int  # offset in the original text, so free text can be cut out verbatim
    quoted: bool


def _tokens(text: str) -> list[_Tok]:
    return [_Tok(m.group(), m.start(), m.group("q") is not None) for m in _TOKEN.finditer(text)]


def _q(value: str) -> str:
    """Echo user input in a message: on one line, quoted, cut short if long."""
    flat = " ".join(value.split())
    return f"'{flat[:39]}…'" if len(flat) > 40 else f"'{flat}'"


def _suggest(word: str) -> str:
    close = difflib.get_close_matches(word, SUBCOMMANDS, n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def parse_incident(text: str) -> Command | ParseError:
    """Parse everything after ``/incident``; return a command or a ``ParseError``."""
    toks = _tokens(text)
    if toks and toks[0].text.lower() == "/incident":  # the console user typed it out in full
        toks = toks[1:]
    if not toks or toks[0].text.lower() in _HELP_WORDS:
        return _parse_help(toks[1:])
    sub = toks[0].text.lower()
    if sub not in USAGE:
        message = f"Unknown subcommand {_q(toks[0].text)}.{_suggest(sub)}"
        return ParseError(message, _ALL_USAGE)
    args = toks[1:]
    if len(args) == 1 and args[0].text.lower() in ("--help", "-h"):
        return Help(sub)
    if sub == "new":
        return _parse_new(args)
    if sub == "list":
        return _parse_list(args)
    if sub == "oncall":
        return _no_extra(sub, args[1:]) or Oncall(args[0].text if args else None)
    if sub == "report":
        return _parse_report(args)
    number = _number(sub, args)
    if isinstance(number, ParseError):
        return number
    rest = args[1:]
    free_text = text[rest[0].start :].strip() if rest else ""
    if sub == "show":
        return _no_extra(sub, rest) or Show(number)
    if sub == "ack":
        return _no_extra(sub, rest) or Ack(number)
    if sub == "escalate":
        return _no_extra(sub, rest) or Escalate(number)
    if sub == "snooze":
        return _parse_snooze(number, free_text)
    if sub == "contain":
        return _parse_contain(number, rest)
    if sub == "retrain":
        return _no_extra(sub, rest) or Retrain(number)
    if sub == "postmortem":
        return _no_extra(sub, rest) or Postmortem(number)
    if sub == "sev":
        return _parse_sev(number, rest)
    if sub == "assign":
        return _parse_assign(number, rest, free_text)
    if sub == "note":
        if not free_text:
            return ParseError("Missing note text: say what happened.", USAGE["note"])
        return Note(number, free_text)
    return Resolve(number, free_text or None)  # the only subcommand left: resolve


def _parse_help(args: list[_Tok]) -> Help | ParseError:
    if not args:
        return Help(None)
    if len(args) > 1:
        words = " ".join(t.text for t in args)
        return ParseError(f"help takes one subcommand name, got {_q(words)}.", USAGE["help"])
    topic = args[0].text.lower()
    if topic not in USAGE:
        message = f"No help for {_q(args[0].text)}: not a subcommand.{_suggest(topic)}"
        return ParseError(message, _ALL_USAGE)
    return Help(topic)


def _number(sub: str, args: list[_Tok]) -> int | ParseError:
    if not args:
        return ParseError("Missing incident number.", USAGE[sub])
    raw = args[0].text
    match = _NUMBER.fullmatch(raw)
    digits = match.group(1).lstrip("0") if match else ""
    if not digits:
        message = f"Incident number must be a positive whole number, got {_q(raw)}."
        return ParseError(message, USAGE[sub])
    if len(digits) > _MAX_DIGITS:
        return ParseError(f"Incident number {_q(raw)} is too large.", USAGE[sub])
    return int(digits)


def _no_extra(sub: str, rest: list[_Tok]) -> ParseError | None:
    if not rest:
        return None
    extra = " ".join(t.text for t in rest)
    notes = ("ack", "contain", "escalate")
    hint = " To add a note, use /incident note N TEXT." if sub in notes else ""
    takes = {"oncall": "at most a schedule or rotation name", "report": "at most a period like 30d"}
    what = takes.get(sub, "only an incident number")
    message = f"{sub} takes {what}; unexpected {_q(extra)}.{hint}"
    return ParseError(message, USAGE[sub])


def _parse_report(args: list[_Tok]) -> Report | ParseError:
    """``report``, ``report 30d``, and ``--since 30d`` / ``--since=30d`` for CLI fingers.

    The period itself is read by the report service, which knows the time and the zone.
    """
    given = None if not args else _option(args[0], _REPORT_OPTION_NAMES)
    if given is not None:
        name, eq, value = given.partition("=")
        if name.lower() != "--since":
            message = f"Unknown option {_q(name)}; report accepts only a period like 30d."
            return ParseError(message, USAGE["report"])
        if not eq and len(args) > 1:
            value = args[1].text
            args = args[1:]
        if not value:
            return ParseError("Option --since needs a period, e.g. 30d.", USAGE["report"])
        args = [_Tok(value, args[0].start, False), *args[1:]]
    if not args:
        return Report()
    return _no_extra("report", args[1:]) or Report(_unquote(args[0].text))


def _parse_snooze(number: int, rest: str) -> Snooze | ParseError:
    """``off``, or what ``parse_snooze`` accepts: the rules live in ``bot.oncall.snooze.rules``,
    which also re-reads the stored request when the snooze's timer fires."""
    if rest.lower() == "off":
        return Snooze(number, None)
    request = f"{number} {rest}".strip()
    try:
        parse_snooze(request)
    except ValidationError as exc:
        return ParseError(exc.detail, USAGE["snooze"])
    return Snooze(number, request)


def _parse_contain(number: int, rest: list[_Tok]) -> Contain | ParseError:
    words = [t for t in rest if _option(t) is None]
    refused = _no_extra("contain", words)
    if refused is not None:
        return refused
    for tok in rest:
        option = _option(tok) or tok.text
        if option.lower() != "--pin":
            message = f"Unknown option {_q(option)}; contain accepts only --pin."
            return ParseError(message, USAGE["contain"])
    return Contain(number, pin=bool(rest))


def _severity(sub: str, raw: str) -> str | ParseError:
    match = _SEVERITY.fullmatch(raw)
    if match is None:
        message = f"Severity must be one of {', '.join(SEVERITIES)}, got {_q(raw)}."
        return ParseError(message, USAGE[sub])
    return f"P{match.group(1)}"


def _parse_sev(number: int, rest: list[_Tok]) -> Sev | ParseError:
    if not rest:
        message = f"Missing severity: give one of {', '.join(SEVERITIES)}."
        return ParseError(message, USAGE["sev"])
    severity = _severity("sev", rest[0].text)
    if isinstance(severity, ParseError):
        return severity
    if len(rest) > 1:
        extra = " ".join(t.text for t in rest[1:])
        return ParseError(f"Unexpected {_q(extra)} after the severity.", USAGE["sev"])
    return Sev(number, severity)


def _parse_assign(number: int, rest: list[_Tok], free_text: str) -> Assign | ParseError:
    if not rest:
        return ParseError("Missing user: give @name or mention them.", USAGE["assign"])
    slack = _SLACK_USER.fullmatch(free_text)  # "<@U123|Jane Doe>" may hold a space
    if slack:
        return Assign(number, f"<@{slack.group(1)}>")
    if len(rest) > 1:
        return ParseError(f"Give one user, got {_q(free_text)}.", USAGE["assign"])
    handle = _HANDLE.fullmatch(rest[0].text)
    if handle is None:
        message = f"User must be @name or a Slack mention, got {_q(rest[0].text)}."
        return ParseError(message, USAGE["assign"])
    return Assign(number, f"@{handle.group(1)}")


def _option(tok: _Tok, known: frozenset[str] = _KNOWN_OPTION_NAMES) -> str | None:
    """The option a token spells (``--sev=P1`` stays whole), or None if it is a plain word;
    a dash-led token counts only when it names one of the ``known`` options."""
    if tok.quoted:
        return None
    if tok.text.startswith("--"):
        return tok.text
    if tok.text.startswith(_DASHES):
        name = tok.text[1:].partition("=")[0].lower()
        return "--" + tok.text[1:] if name in known else None
    return None


def _parse_list(args: list[_Tok]) -> List | ParseError:
    """``[--all] [--cursor C]``: the cursor is what a cut list's last line says to type."""
    include_closed, cursor = False, None
    rest = iter(args)
    for tok in rest:
        option = _option(tok)
        if option is None:
            message = f"list takes no arguments except --all and --cursor, got {_q(tok.text)}."
            return ParseError(message, USAGE["list"])
        name, eq, value = option.partition("=")
        if name.lower() == "--all" and not eq:
            include_closed = True
        elif name.lower() == "--cursor":
            value = value if eq else next(rest, _Tok("", 0, False)).text
            if not _unquote(value):
                message = "--cursor needs the cursor that the last list's last line gave."
                return ParseError(message, USAGE["list"])
            cursor = _unquote(value)
        else:
            message = f"Unknown option {_q(option)}; list accepts only --all and --cursor."
            return ParseError(message, USAGE["list"])
    return List(all=include_closed, cursor=cursor)


def _unquote(text: str) -> str:
    """An option value without the quotes around it, if it has a matching pair."""
    for quotes in (_DQUOTES, _SQUOTES):
        if len(text) >= 2 and text[0] in quotes and text[-1] in quotes:
            return text[1:-1].strip()
    return text


def _parse_new(args: list[_Tok]) -> New | ParseError:
    values: dict[str, str] = {}
    title: list[_Tok] = []
    i = 0
    while i < len(args):
        tok = args[i]
        i += 1
        option = _option(tok)
        if option == "--":  # end of options: the rest is title, even if it starts with --
            title.extend(args[i:])
            break
        if option is None:
            title.append(tok)
            continue
        given, eq, value = option.partition("=")
        name = _NEW_OPTIONS.get(given.lower())
        if name is None:
            message = f"Unknown option {_q(given)}; new accepts --sev, --service and --model."
            return ParseError(message, USAGE["new"])
        if not eq and i < len(args) and _option(args[i]) is None:
            value = args[i].text
            i += 1
        value = _unquote(value)
        if not value:
            return ParseError(f"Option {name} needs a value.", USAGE["new"])
        if name in values:
            return ParseError(f"Give {name} only once.", USAGE["new"])
        values[name] = value
    if "--service" in values and "--model" in values:
        return ParseError("Give --service or --model, not both.", USAGE["new"])
    severity = _severity("new", values["--sev"]) if "--sev" in values else None
    if isinstance(severity, ParseError):
        return severity
    text = _title(title)
    if not text:
        message = "Missing title: say what is wrong, e.g. /incident new Ranker p99 over 2s."
        return ParseError(message, USAGE["new"])
    return New(text, severity, values.get("--service"), values.get("--model"))


def _title(toks: list[_Tok]) -> str:
    """The user's words, one space apart; quotes around the whole title are dropped."""
    if len(toks) == 1 and toks[0].quoted:
        return toks[0].text[1:-1].strip()
    words = [t.text for t in toks]
    if not words or words == [words[0][:1]]:  # nothing, or one lone character
        return " ".join(words)
    first, last = words[0], words[-1]
    # 'Ranker's p99 is up' is wholly quoted; 'a' and 'b' is not (a quote closes inside).
    wholly_quoted = (
        first[0] in _SQUOTES
        and last[-1] in _SQUOTES
        and not any(w[-1] in _SQUOTES for w in words[:-1])
        and not any(w[0] in _SQUOTES for w in words[1:])
    )
    if wholly_quoted:
        words[0] = words[0][1:]
        words[-1] = words[-1][:-1]
    return " ".join(w for w in words if w).strip()


def help_text(topic: str | None = None) -> str:
    """All usage lines with a line of description each, or only ``topic``'s."""
    key = (topic or "").strip().lower()
    if key in USAGE:
        note = f"\n{_N_NOTE}" if " N" in USAGE[key] else ""
        return f"{USAGE[key]}\n    {_DESCRIPTION[key]}{note}"
    lines = [f"Vigil incident commands ({_N_NOTE[:-1]}):"]
    for name in SUBCOMMANDS:
        lines.append(f"  {USAGE[name]}\n      {_DESCRIPTION[name]}")
    lines.append(f"Also:\n  {ROLLBACK_POINTER[0]}\n      {ROLLBACK_POINTER[1]}")
    full = "\n".join(lines)
    return f"Unknown subcommand {_q(topic or '')}.\n\n{full}" if key else full
