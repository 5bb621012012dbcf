"""Parse ``/rollout start|ab|status|abort …`` without I/O.

Its own module (like ``rollback.py``) because ``/rollout`` is its own slash command in
Slack. The same rules as ``vigil model canary|ab|rollout``: the steps are read by
``bot.rollout.steps.parse_steps`` and the interval by ``bot.core.durations``, so a share or
an interval means the same typed in chat or in a terminal. Never raises on input: it returns
a command or a ``ParseError`` that names what was wrong, with the usage line of that form,
so nothing starts on a slip. ``/rollout fraud-scorer`` alone is the status: the question a
tired person asks most.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import TypeAlias

from bot.chat.commands.tokens import DASHES, quote
from bot.chat.commands.types import ParseError
from bot.core.durations import parse_duration
from bot.core.errors import ValidationError
from bot.rollout.steps import parse_steps

_SPEC: tuple[tuple[str, str, str], ...] = (
    (
        "start",
        "/rollout start MODEL VERSION [--steps 5,10,25,50,100] [--every 10m]",
        "serve VERSION to the first share against the stable version; every interval the "
        "judge looks: PASS steps up (promoted after the last share), FAIL rolls it back to "
        "0 % and opens an incident with the judge's reasons",
    ),
    (
        "ab",
        "/rollout ab MODEL A B [--share 50] [--every 10m]",
        "A/B test: B at a fixed share against the stable A, judged every interval, never "
        "stepped up; a FAIL stops it",
    ),
    ("status", "/rollout status MODEL", "where the model's rollout stands, a line per look"),
    ("abort", "/rollout abort MODEL", "stop the running rollout: the canary back to 0 %"),
    ("help", "/rollout help", "this help"),
)
USAGE: Mapping[str, str] = MappingProxyType({name: usage for name, usage, _ in _SPEC})
ALL_USAGE = "\n".join(USAGE.values())
HELP = "Vigil rollout commands:\n" + "\n".join(
    f"  {usage}\n      {desc}" for _, usage, desc in _SPEC
)
_NAME = re.compile(r"[A-Za-z0-9][\w.\-/:]*", re.ASCII)
_SHARE = re.compile(r"[0-9]{1,3}", re.ASCII)
_HELP_WORDS = frozenset({"help", "--help", "-h", "?"})


@dataclass(frozen=True)
class RolloutStart:
    model: str
    version: str
    steps: tuple[int, ...] | None = None  # None: the rollout: section's
    every: timedelta | None = None


@dataclass(frozen=True)
class RolloutAB:
    model: str
    a: str  # the stable version
    b: str
    share: int = 50
    every: timedelta | None = None


@dataclass(frozen=True)
class RolloutStatus:
    model: str


@dataclass(frozen=True)
class RolloutAbort:
    model: str


@dataclass(frozen=True)
class RolloutHelp:
    pass


RolloutCommand: TypeAlias = RolloutStart | RolloutAB | RolloutStatus | RolloutAbort | RolloutHelp
RESPONDERS_ONLY: Mapping[type, str] = MappingProxyType(
    {RolloutStart: "start rollouts", RolloutAB: "start A/B tests", RolloutAbort: "stop rollouts"}
)
"""The forms that move traffic, and how a refusal names them: only responders may run them
(Slack checks, as for ``/rollback``); status and help change nothing and are anyone's."""


def parse_rollout(text: str) -> RolloutCommand | ParseError:
    """Parse everything after ``/rollout``."""
    for dash in DASHES:
        text = text.replace(dash, "--")
    words = text.split()
    if words and words[0].lower() == "/rollout":  # the console user typed it out in full
        words = words[1:]
    if not words or words[0].lower() in _HELP_WORDS:
        return RolloutHelp()  # "/rollout help start" too: the help is one short screen
    sub, args = words[0].lower(), words[1:]
    if sub not in USAGE:
        close = difflib.get_close_matches(sub, list(USAGE), n=1)
        if len(words) == 1 and not close and _NAME.fullmatch(words[0]):
            return RolloutStatus(words[0])  # "/rollout fraud-scorer": where does it stand?
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return ParseError(f"Unknown subcommand {quote(words[0])}.{hint}", ALL_USAGE)
    options = _options(sub, args)
    if isinstance(options, ParseError):
        return options
    names, values = options
    wanted = {"start": 2, "ab": 3, "status": 1, "abort": 1}[sub]
    checked = _names(sub, names, wanted)
    if checked is not None:
        return checked
    if sub == "status":
        return RolloutStatus(names[0])
    if sub == "abort":
        return RolloutAbort(names[0])
    every = _every(sub, values.get("--every"))
    if isinstance(every, ParseError):
        return every
    if sub == "ab":
        share = _share(values.get("--share"))
        if isinstance(share, ParseError):
            return share
        if names[1] == names[2]:
            return ParseError(f"A and B are both {quote(names[1])}: give two versions.", USAGE[sub])
        return RolloutAB(names[0], names[1], names[2], share, every)
    steps = _steps(values.get("--steps"))
    if isinstance(steps, ParseError):
        return steps
    return RolloutStart(names[0], names[1], steps, every)


_TAKES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"start": ("--steps", "--every"), "ab": ("--share", "--every")}
)


def _options(sub: str, args: list[str]) -> tuple[list[str], dict[str, str]] | ParseError:
    """The positional words and the ``--name value`` (or ``--name=value``) options."""
    names: list[str] = []
    values: dict[str, str] = {}
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if not word.startswith("-"):
            names.append(word)
            continue
        option, eq, value = word.partition("=")
        option = option.lower()
        if option not in _TAKES.get(sub, ()):
            takes = " and ".join(_TAKES.get(sub, ()))
            accepts = f"{sub} accepts {takes}" if takes else f"{sub} takes no options"
            return ParseError(f"Unknown option {quote(word)}; {accepts}.", USAGE[sub])
        if not eq:
            value = args[i] if i < len(args) and not args[i].startswith("--") else ""
            i += 1 if value else 0
        if not value:
            return ParseError(f"{option} needs a value.", USAGE[sub])
        if option in values:
            return ParseError(f"Give {option} only once.", USAGE[sub])
        values[option] = value
    return names, values


def _names(sub: str, names: list[str], wanted: int) -> ParseError | None:
    what = ("model", "version") if sub == "start" else ("model", "A (the stable version)", "B")
    if len(names) < wanted:
        return ParseError(f"Missing {what[len(names)]}.", USAGE[sub])
    if len(names) > wanted:
        extra = " ".join(names[wanted:])
        return ParseError(f"Unexpected {quote(extra)}.", USAGE[sub])
    for name in names:
        if not _NAME.fullmatch(name):
            message = f"{quote(name)} has characters Vigil does not accept in a name."
            return ParseError(message, USAGE[sub])
    return None


def _steps(raw: str | None) -> tuple[int, ...] | ParseError | None:
    if raw is None:
        return None
    try:
        return parse_steps(raw, field="--steps")
    except ValidationError as exc:
        return ParseError(f"--steps {exc.detail}.", USAGE["start"])


def _every(sub: str, raw: str | None) -> timedelta | ParseError | None:
    if raw is None:
        return None
    try:
        every = parse_duration(raw)
    except ValueError:
        return ParseError(
            f"--every must be a duration like 10m, 30s or 1h, got {quote(raw)}.", USAGE[sub]
        )
    if every < timedelta(seconds=1):
        return ParseError("--every must be at least 1s.", USAGE[sub])
    return every


def _share(raw: str | None) -> int | ParseError:
    if raw is None:
        return 50
    digits = raw.strip().rstrip("%")
    if not _SHARE.fullmatch(digits) or not 1 <= int(digits) <= 99:
        message = f"--share must be a whole percentage from 1 to 99, got {quote(raw)}."
        return ParseError(message, USAGE["ab"])
    return int(digits)
