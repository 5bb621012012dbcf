"""Parse the text of an ``/incident`` command into a typed value, without I/O.

Pure on purpose: Slack's slash command and the console both hand over the text after
``/incident`` and run this one parser, so a command means the same thing wherever it is typed,
and every rule here is tested without a chat library, a database or a network. Nothing here
raises on user input: ``parse_incident`` returns a command, or a ``ParseError`` whose message
says what was wrong and whose ``usage`` shows the right form.

Forgiving where the meaning is unambiguous (any case, ``#12``, ``sev2``, ``--sev=P2``, smart
quotes, the em dash that macOS types in place of ``--``); strict where a slip would act on the
wrong incident (the number must be exactly one positive whole number, and words left over after
it are an error, never ignored). The subcommands' table and help are ``spec.py``; reading
tokens, quotes and options is ``tokens.py``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from types import MappingProxyType

from bot.chat.commands.silences.parse import parse_incident_silence
from bot.chat.commands.spec import ALL_USAGE, SUBCOMMANDS, USAGE
from bot.chat.commands.tokens import (
    KNOWN_OPTION_NAMES,
    SQUOTES,
    Tok,
    option_of,
    quote,
    tokens,
    unquote,
)
from bot.chat.commands.types import (
    Ack,
    Assign,
    Command,
    Contain,
    Escalate,
    Help,
    IncidentSilence,
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
from bot.core.errors import ValidationError
from bot.incidents.severity import SEVERITIES
from bot.oncall.snooze.rules import parse_snooze

__all__ = [
    "Ack",
    "Assign",
    "Command",
    "Contain",
    "Escalate",
    "Help",
    "IncidentSilence",
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
    "parse_incident",
]


_HELP_WORDS = frozenset({"help", "--help", "-h", "?"})
_SEVERITY = re.compile(r"(?:p|sev)?([1-4])", re.IGNORECASE | re.ASCII)
_NUMBER = re.compile(r"#?([0-9]+)")
_MAX_DIGITS = 18  # fits a signed 64-bit column, and stays far below int()'s digit limit
_SLACK_USER = re.compile(r"<@([A-Z0-9]+)(?:\|[^<>]*)?>")
_HANDLE = re.compile(r"@?(\w[\w.\-]*)")
_NEW_OPTIONS: Mapping[str, str] = MappingProxyType(
    {"--sev": "--sev", "--severity": "--sev", "--service": "--service", "--model": "--model"}
)
_REPORT_OPTION_NAMES = KNOWN_OPTION_NAMES | {"since"}  # "—since", autocorrected, too


def _suggest(word: str) -> str:
    close = difflib.get_close_matches(word, SUBCOMMANDS, n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def parse_incident(text: str) -> Command | ParseError:
    """Parse everything after ``/incident``; return a command or a ``ParseError``."""
    toks = tokens(text)
    if toks and toks[0].text.lower() == "/incident":  # the console user typed it out in full
        toks = toks[1:]
    if not toks or toks[0].text.lower() in _HELP_WORDS:
        return _parse_help(toks[1:])
    sub = toks[0].text.lower()
    if sub not in USAGE:
        message = f"Unknown subcommand {quote(toks[0].text)}.{_suggest(sub)}"
        return ParseError(message, ALL_USAGE)
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
    if sub == "silence":
        return parse_incident_silence(number, free_text)
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


def _parse_help(args: list[Tok]) -> Help | ParseError:
    if not args:
        return Help(None)
    if len(args) > 1:
        words = " ".join(t.text for t in args)
        return ParseError(f"help takes one subcommand name, got {quote(words)}.", USAGE["help"])
    topic = args[0].text.lower()
    if topic not in USAGE:
        message = f"No help for {quote(args[0].text)}: not a subcommand.{_suggest(topic)}"
        return ParseError(message, ALL_USAGE)
    return Help(topic)


def _number(sub: str, args: list[Tok]) -> int | ParseError:
    if not args:
        return ParseError("Missing incident number.", USAGE[sub])
    raw = args[0].text
    match = _NUMBER.fullmatch(raw)
    digits = match.group(1).lstrip("0") if match else ""
    if not digits:
        message = f"Incident number must be a positive whole number, got {quote(raw)}."
        return ParseError(message, USAGE[sub])
    if len(digits) > _MAX_DIGITS:
        return ParseError(f"Incident number {quote(raw)} is too large.", USAGE[sub])
    return int(digits)


def _no_extra(sub: str, rest: list[Tok]) -> ParseError | None:
    if not rest:
        return None
    extra = " ".join(t.text for t in rest)
    notes = ("ack", "contain", "escalate")
    hint = " To add a note, use /incident note N TEXT." if sub in notes else ""
    takes = {"oncall": "at most a schedule or rotation name", "report": "at most a period like 30d"}
    what = takes.get(sub, "only an incident number")
    message = f"{sub} takes {what}; unexpected {quote(extra)}.{hint}"
    return ParseError(message, USAGE[sub])


def _parse_report(args: list[Tok]) -> Report | ParseError:
    """``report``, ``report 30d``, and ``--since 30d`` / ``--since=30d`` for CLI fingers.

    The period itself is read by the report service, which knows the time and the zone.
    """
    given = None if not args else option_of(args[0], _REPORT_OPTION_NAMES)
    if given is not None:
        name, eq, value = given.partition("=")
        if name.lower() != "--since":
            message = f"Unknown option {quote(name)}; report accepts only a period like 30d."
            return ParseError(message, USAGE["report"])
        if not eq and len(args) > 1:
            value = args[1].text
            args = args[1:]
        if not value:
            return ParseError("Option --since needs a period, e.g. 30d.", USAGE["report"])
        args = [Tok(value, args[0].start, False), *args[1:]]
    if not args:
        return Report()
    return _no_extra("report", args[1:]) or Report(unquote(args[0].text))


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


def _parse_contain(number: int, rest: list[Tok]) -> Contain | ParseError:
    words = [t for t in rest if option_of(t) is None]
    refused = _no_extra("contain", words)
    if refused is not None:
        return refused
    for tok in rest:
        option = option_of(tok) or tok.text
        if option.lower() != "--pin":
            message = f"Unknown option {quote(option)}; contain accepts only --pin."
            return ParseError(message, USAGE["contain"])
    return Contain(number, pin=bool(rest))


def _severity(sub: str, raw: str) -> str | ParseError:
    match = _SEVERITY.fullmatch(raw)
    if match is None:
        message = f"Severity must be one of {', '.join(SEVERITIES)}, got {quote(raw)}."
        return ParseError(message, USAGE[sub])
    return f"P{match.group(1)}"


def _parse_sev(number: int, rest: list[Tok]) -> Sev | ParseError:
    if not rest:
        message = f"Missing severity: give one of {', '.join(SEVERITIES)}."
        return ParseError(message, USAGE["sev"])
    severity = _severity("sev", rest[0].text)
    if isinstance(severity, ParseError):
        return severity
    if len(rest) > 1:
        extra = " ".join(t.text for t in rest[1:])
        return ParseError(f"Unexpected {quote(extra)} after the severity.", USAGE["sev"])
    return Sev(number, severity)


def _parse_assign(number: int, rest: list[Tok], free_text: str) -> Assign | ParseError:
    if not rest:
        return ParseError("Missing user: give @name or mention them.", USAGE["assign"])
    slack = _SLACK_USER.fullmatch(free_text)  # "<@U123|Jane Doe>" may hold a space
    if slack:
        return Assign(number, f"<@{slack.group(1)}>")
    if len(rest) > 1:
        return ParseError(f"Give one user, got {quote(free_text)}.", USAGE["assign"])
    handle = _HANDLE.fullmatch(rest[0].text)
    if handle is None:
        message = f"User must be @name or a Slack mention, got {quote(rest[0].text)}."
        return ParseError(message, USAGE["assign"])
    return Assign(number, f"@{handle.group(1)}")


def _parse_list(args: list[Tok]) -> List | ParseError:
    """``[--all] [--cursor C]``: the cursor is what a cut list's last line says to type."""
    include_closed, cursor = False, None
    rest = iter(args)
    for tok in rest:
        option = option_of(tok)
        if option is None:
            message = f"list takes no arguments except --all and --cursor, got {quote(tok.text)}."
            return ParseError(message, USAGE["list"])
        name, eq, value = option.partition("=")
        if name.lower() == "--all" and not eq:
            include_closed = True
        elif name.lower() == "--cursor":
            value = value if eq else next(rest, Tok("", 0, False)).text
            if not unquote(value):
                message = "--cursor needs the cursor that the last list's last line gave."
                return ParseError(message, USAGE["list"])
            cursor = unquote(value)
        else:
            message = f"Unknown option {quote(option)}; list accepts only --all and --cursor."
            return ParseError(message, USAGE["list"])
    return List(all=include_closed, cursor=cursor)


def _parse_new(args: list[Tok]) -> New | ParseError:
    values: dict[str, str] = {}
    title: list[Tok] = []
    i = 0
    while i < len(args):
        tok = args[i]
        i += 1
        option = option_of(tok)
        if option == "--":  # end of options: the rest is title, even if it starts with --
            title.extend(args[i:])
            break
        if option is None:
            title.append(tok)
            continue
        given, eq, value = option.partition("=")
        name = _NEW_OPTIONS.get(given.lower())
        if name is None:
            message = f"Unknown option {quote(given)}; new accepts --sev, --service and --model."
            return ParseError(message, USAGE["new"])
        if not eq and i < len(args) and option_of(args[i]) is None:
            value = args[i].text
            i += 1
        value = unquote(value)
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


def _title(toks: list[Tok]) -> str:
    """The user's words, one space apart; quotes around the whole title are dropped."""
    if len(toks) == 1 and toks[0].quoted:
        return toks[0].text[1:-1].strip()
    words = [t.text for t in toks]
    if not words or words == [words[0][:1]]:  # nothing, or one lone character
        return " ".join(words)
    first, last = words[0], words[-1]
    # 'Ranker's p99 is up' is wholly quoted; 'a' and 'b' is not (a quote closes inside).
    wholly_quoted = (
        first[0] in SQUOTES
        and last[-1] in SQUOTES
        and not any(w[-1] in SQUOTES for w in words[:-1])
        and not any(w[0] in SQUOTES for w in words[1:])
    )
    if wholly_quoted:
        words[0] = words[0][1:]
        words[-1] = words[-1][:-1]
    return " ".join(w for w in words if w).strip()
