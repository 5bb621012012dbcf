"""Parse ``/silence …`` and the tail of ``/incident silence N …`` without I/O.

Its own module (like ``rollout.py``) because ``/silence`` is its own slash command in Slack.
Matchers are Alertmanager's, typed as in ``amtool``: ``service=payments``,
``alertname=~"Latency.*"``, ``env!=staging`` (Slack's curly quotes are read as straight
ones). A duration (``2h``, default 1 h) says how long; ``--`` starts the comment (the rest
of the line); ``--yes`` creates it, and without it the reply is a preview: the firing alerts
the silence would mute, and the command to send to create it. Never raises on input: a
command or a ``ParseError`` naming what was wrong, with the usage line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import TypeAlias

from bot.chat.commands.tokens import DASHES, quote
from bot.chat.commands.types import IncidentSilence, ParseError
from bot.core.durations import parse_duration
from bot.silences.matchers import Matcher, MatcherError, parse_matcher

_SPEC: tuple[tuple[str, str, str], ...] = (
    (
        "new",
        "/silence MATCHER... [DURATION] [--expire-unused DURATION] [--yes] [-- COMMENT]",
        "hush matching alerts for DURATION (default 1h; over 24h needs a comment): e.g. "
        '/silence service=payments alertname=~"Latency.*" 2h -- migration. Without --yes it '
        "shows which firing alerts it would mute and changes nothing",
    ),
    ("list", "/silence list [--all]", "the silences active or pending (--all: ended ones too)"),
    ("show", "/silence show ID", "one silence: matchers, who, why, until when, what it mutes"),
    ("expire", "/silence expire ID", "end a silence now: what it held pages if still firing"),
    ("extend", "/silence extend ID DURATION", "make a silence end DURATION from now"),
    ("help", "/silence help", "this help"),
)
USAGE: Mapping[str, str] = MappingProxyType({name: usage for name, usage, _ in _SPEC})
INCIDENT_USAGE = "/incident silence N [DURATION] [--yes] [-- COMMENT]"
HELP = "Vigil silence commands:\n" + "\n".join(
    f"  {usage}\n      {desc}" for _, usage, desc in _SPEC
)
_CURLY = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_MATCHER = re.compile(
    r'[A-Za-z_][A-Za-z0-9_]*\s*(?:=~|!~|!=|=)\s*(?:"(?:[^"\\]|\\.)*"|[^\s"]*)', re.ASCII
)
_WORD = re.compile(r"\S+")
_HELP_WORDS = frozenset({"help", "--help", "-h", "?"})
_ID = re.compile(r"[0-9a-fA-F-]{4,36}", re.ASCII)


@dataclass(frozen=True)
class SilenceNew:
    matchers: tuple[Matcher, ...]
    duration: timedelta | None
    comment: str
    confirm: bool
    expire_unused: timedelta | None = None
    text: str = ""  # what was typed, for the preview's "send this to create it"


@dataclass(frozen=True)
class SilenceList:
    all: bool = False


@dataclass(frozen=True)
class SilenceShow:
    ref: str


@dataclass(frozen=True)
class SilenceExpire:
    ref: str


@dataclass(frozen=True)
class SilenceExtend:
    ref: str
    duration: timedelta


@dataclass(frozen=True)
class SilenceHelp:
    pass


SilenceCommand: TypeAlias = (
    SilenceNew | SilenceList | SilenceShow | SilenceExpire | SilenceExtend | SilenceHelp
)


def _split_comment(text: str) -> tuple[str, str | None]:
    """The text before ``--`` (or an autocorrected dash standing alone) and the comment."""
    for mark in (" -- ", *(f" {d} " for d in DASHES)):
        head, sep, tail = f" {text} ".partition(mark)
        if sep:
            return head.strip(), tail.strip()
    for mark in ("--", *DASHES):
        if text.strip() == mark or text.rstrip().endswith(f" {mark}"):
            return text.rstrip()[: -len(mark)].strip(), ""
    return text.strip(), None


def _options(
    words: list[str], usage: str
) -> tuple[timedelta | None, bool, timedelta | None, list[str]] | ParseError:
    """Duration, --yes, --expire-unused; the words left over."""
    duration: timedelta | None = None
    confirm = False
    unused: timedelta | None = None
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        low = word.lower()
        if low in ("--yes", "-y", *(f"{d}yes" for d in DASHES)):
            confirm = True
        elif low.startswith("--expire-unused"):
            value = low.partition("=")[2] or (words[i + 1] if i + 1 < len(words) else "")
            i += 0 if "=" in low else 1
            try:
                unused = parse_duration(value)
            except ValueError:
                return ParseError(
                    f"--expire-unused needs a duration such as 2h, not {quote(value)}.", usage
                )
        elif low[:1].isdigit():
            if duration is not None:
                return ParseError(f"Two durations given ({quote(word)}); give one.", usage)
            try:
                duration = parse_duration(word)
            except ValueError as exc:
                return ParseError(
                    f"{quote(word)} is not a duration ({exc}); e.g. 30m, 2h, 1d.", usage
                )
        else:
            rest.append(word)
        i += 1
    return duration, confirm, unused, rest


def parse_silence(text: str) -> SilenceCommand | ParseError:
    """The text after ``/silence``."""
    text = text.translate(_CURLY).strip()
    if text.lower().startswith("/silence"):
        text = text[len("/silence") :].strip()
    first = text.split(maxsplit=1)[0].lower() if text else ""
    if not text or first in _HELP_WORDS:
        return SilenceHelp()
    if first in USAGE and "=" not in first and "~" not in first:
        return _parse_sub(first, text.split()[1:])
    head, comment = _split_comment(text)
    matchers: list[Matcher] = []
    errors: list[str] = []

    def take(found: re.Match[str]) -> str:
        try:
            matchers.append(parse_matcher(found.group()))
        except MatcherError as exc:
            errors.append(str(exc))
        return " "

    leftover = _MATCHER.sub(take, head)
    if errors:
        return ParseError(errors[0], USAGE["new"])
    found = _options(_WORD.findall(leftover), USAGE["new"])
    if isinstance(found, ParseError):
        return found
    duration, confirm, unused, rest = found
    if rest:
        return ParseError(
            f"{quote(rest[0])} is not a matcher (name=value, name=~regex, name!=value) "
            "or a duration. Put a comment after --.",
            USAGE["new"],
        )
    if not matchers:
        return ParseError(
            "Say which alerts: at least one matcher, e.g. service=payments.", USAGE["new"]
        )
    return SilenceNew(tuple(matchers), duration, comment or "", confirm, unused, text)


def _parse_sub(sub: str, args: list[str]) -> SilenceCommand | ParseError:
    usage = USAGE[sub]
    if sub == "help":
        return SilenceHelp()
    if sub == "list":
        flags = {a.lower() for a in args}
        if flags - {"--all"}:
            return ParseError(f"Unknown option {quote(sorted(flags - {'--all'})[0])}.", usage)
        return SilenceList(all="--all" in flags)
    if not args or not _ID.fullmatch(args[0]):
        return ParseError("Give the silence's id (the 8 characters /silence list shows).", usage)
    ref = args[0].lower()
    if sub == "extend":
        if len(args) != 2:
            return ParseError("Say for how long from now, e.g. 1h.", usage)
        try:
            return SilenceExtend(ref, parse_duration(args[1]))
        except ValueError:
            return ParseError(f"{quote(args[1])} is not a duration; e.g. 30m, 2h.", usage)
    if len(args) > 1:
        return ParseError(f"Unexpected {quote(args[1])}.", usage)
    return SilenceShow(ref) if sub == "show" else SilenceExpire(ref)


def parse_incident_silence(number: int, rest: str) -> IncidentSilence | ParseError:
    """``/incident silence N [DURATION] [--yes] [-- COMMENT]``: the incident's own alerts."""
    head, comment = _split_comment(rest.translate(_CURLY))
    found = _options(_WORD.findall(head), INCIDENT_USAGE)
    if isinstance(found, ParseError):
        return found
    duration, confirm, unused, extra = found
    if extra or unused is not None:
        what = extra[0] if extra else "--expire-unused"
        return ParseError(f"Unexpected {quote(what)}; put a comment after --.", INCIDENT_USAGE)
    return IncidentSilence(number, duration, comment or "", confirm)
