"""The typed commands the ``/incident`` parser produces, and its error value.

Kept apart from the parser so that the code that runs commands imports only these shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TypeAlias


@dataclass(frozen=True)
class New:
    title: str
    severity: str | None = None
    service: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class List:
    all: bool = False
    cursor: str | None = None  # where the page starts: the --cursor a cut list ended with


@dataclass(frozen=True)
class Show:
    incident_id: int


@dataclass(frozen=True)
class Ack:
    incident_id: int


@dataclass(frozen=True)
class Escalate:
    incident_id: int


@dataclass(frozen=True)
class Snooze:
    """Hold the incident's pages: ``request`` is the text after ``snooze`` as
    ``bot.oncall.snooze.rules.parse_snooze`` reads it (``12 30m``); None for ``snooze N off``."""

    incident_id: int
    request: str | None


@dataclass(frozen=True)
class Sev:
    incident_id: int
    severity: str


@dataclass(frozen=True)
class Assign:
    incident_id: int
    user: str


@dataclass(frozen=True)
class Note:
    incident_id: int
    text: str


@dataclass(frozen=True)
class Contain:
    incident_id: int
    pin: bool = False  # first pin the model's traffic to its last known good version


@dataclass(frozen=True)
class Retrain:
    incident_id: int


@dataclass(frozen=True)
class Resolve:
    incident_id: int
    text: str | None = None


@dataclass(frozen=True)
class Postmortem:
    incident_id: int


@dataclass(frozen=True)
class Oncall:
    schedule: str | None = None


@dataclass(frozen=True)
class Report:
    """The on-call report for the period ``since`` names (``7d``, ``30d``, ``2026-11-01``);
    kept as typed so the service that knows the time and zone reads it."""

    since: str = "7d"


@dataclass(frozen=True)
class Help:
    topic: str | None = None


@dataclass(frozen=True)
class IncidentSilence:
    """Silence the incident's own alerts (``bot.chat.commands.silences.parse`` parses the tail)."""

    incident_id: int
    duration: timedelta | None
    comment: str
    confirm: bool


Command: TypeAlias = (
    New
    | List
    | Show
    | Ack
    | Escalate
    | Snooze
    | Sev
    | Assign
    | Note
    | Contain
    | Retrain
    | Resolve
    | Postmortem
    | Oncall
    | Report
    | Help
    | IncidentSilence
)


@dataclass(frozen=True)
class ParseError:
    """What was wrong (``message``) and the usage line(s) to show with it (``usage``)."""

    message: str
    usage: str
