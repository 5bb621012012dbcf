"""Parse ``/rollback MODEL [VERSION] [--incident N] [--dry-run]`` without I/O.

Its own module (not ``parse.py``) because ``/rollback`` is its own slash command in Slack.
Like the ``/incident`` parser it never raises on input: it returns a ``Rollback`` or a
``ParseError`` carrying the usage line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.chat.commands.types import ParseError

USAGE = "/rollback MODEL [VERSION] [--incident N] [--dry-run]"
HELP = (
    f"{USAGE}\n"
    "    Make the last known good stable version of MODEL serve again (or VERSION if given).\n"
    "    --incident N records every step on incident #N; --dry-run says what would happen."
)
_NAME = re.compile(r"[A-Za-z0-9][\w.\-/:]*", re.ASCII)
_NUMBER = re.compile(r"#?([1-9][0-9]{0,17})", re.ASCII)


@dataclass(frozen=True)
class Rollback:
    model: str
    version: str | None = None
    incident_id: int | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class RollbackHelp:
    pass


def parse_rollback(text: str) -> Rollback | RollbackHelp | ParseError:
    """Parse everything after ``/rollback``."""
    words = text.replace("\u2014", "--").replace("\u2013", "--").split()
    if not words or words[0].lower() in ("help", "--help", "-h", "?"):
        return RollbackHelp()
    positional: list[str] = []
    incident: int | None = None
    dry_run = False
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        option, eq, value = word.partition("=")
        option = option.lower()
        if option == "--dry-run":
            if eq:
                return ParseError("--dry-run takes no value.", USAGE)
            dry_run = True
        elif option == "--incident":
            if not eq:
                value = words[i] if i < len(words) else ""
                i += 1
            match = _NUMBER.fullmatch(value)
            if match is None:
                got = f", got '{value[:40]}'" if value else ""
                return ParseError(f"--incident needs an incident number{got}.", USAGE)
            if incident is not None:
                return ParseError("Give --incident only once.", USAGE)
            incident = int(match.group(1))
        elif word.startswith("-"):
            return ParseError(
                f"Unknown option '{word[:40]}'; /rollback accepts --incident N and --dry-run.",
                USAGE,
            )
        else:
            positional.append(word)
    if not positional:
        return ParseError("Missing model name.", USAGE)
    if len(positional) > 2:
        extra = " ".join(positional[2:])[:40]
        return ParseError(f"Unexpected '{extra}' after the version.", USAGE)
    for what, name in zip(("Model", "Version"), positional, strict=False):
        if not _NAME.fullmatch(name):
            return ParseError(
                f"{what} name '{name[:40]}' has characters Vigil does not accept.", USAGE
            )
    version = positional[1] if len(positional) == 2 else None
    return Rollback(positional[0], version, incident, dry_run)
