"""The contract every chat backend (console, Slack) fulfils, and an in-package fake.

Kept to the few methods the core needs, in the manner of Dispatch's oncall plugin base:
the core announces incident changes; a backend shows them where the team looks and feeds
typed commands back to the shared ``CommandRunner``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from bot.chat.commands import render
from bot.incidents.reactions.changes import Change
from bot.incidents.severity import mark
from bot.incidents.views import IncidentView


class ChatBackend(Protocol):
    name: str

    async def announce(self, change: Change) -> None:
        """Show the team a committed incident change (new incident, severity, alert, …)."""

    async def page(self, target: str, incident: IncidentView, text: str) -> None:
        """Page one person directly (a DM), with a way to acknowledge the incident."""

    async def notice(self, text: str) -> None:
        """Post a message to the team channel that is not about one incident (a handoff)."""

    async def progress(self, key: str, headline: str, line: str) -> None:
        """Follow one long process (a rollout) in the team channel: ``headline`` says where it
        stands now, ``line`` what just happened. Slack posts one message per ``key`` and
        edits it to the newest headline, each line a reply in its thread; the console
        prints the line."""

    async def start(self) -> None:
        """Begin taking commands; return once ready."""

    async def stop(self) -> None:
        """Stop taking commands and release what ``start`` took."""


log = logging.getLogger(__name__)


async def notice_all(backends: Iterable[ChatBackend], text: str) -> None:
    """A team-channel notice on every backend; one that fails is logged and the others
    still get it (a notice follows something already done: it is never retried)."""
    for backend in backends:
        try:
            await backend.notice(text)
        except Exception:
            log.exception("could not post a notice to %s", getattr(backend, "name", backend))


def announcement(change: Change) -> str:
    """The one-line wording of a change for a channel, first line first."""
    view = change.incident
    match change.kind:
        case "sla":  # the SLA line already names the incident and the command to run
            return f"{mark(view.severity)} {change.text}"
        case "snooze":  # likewise: "Snoozed #12: no pages until 02:30 UTC. …"
            return f"{mark(view.severity)} 😴 {change.text}"
        case "opened":
            return render.headline(view, "opened") + "\n  Why: " + (view.severity_reason)
        case "severity":
            return render.headline(view, f"severity now {view.severity}") + (
                f"\n  {view.severity_reason}"
            )
        case _:
            what = (change.text[:1].lower() + change.text[1:]).rstrip(".")
            firing = len(view.firing)
            still = (
                f" ({firing} alert{'s' if firing != 1 else ''} still firing)"
                if (change.kind == "alert" and firing)
                else ""
            )
            # A line that already says what to do next (a retraining run, a rollout) keeps
            # its own: a second "Next:" about the incident would bury it.
            then = "" if "Next:" in change.text else f" {render.next_step(view)}"
            return (
                f"{mark(view.severity)} {view.severity} #{view.id} {view.title}: "
                f"{what}{still}.{then}"
            )


class RecordingBackend:
    """A fake that keeps what it was told, for tests and for running with no chat at all."""

    name = "recording"

    def __init__(self) -> None:
        self.announced: list[str] = []
        self.pages: list[tuple[str, int, str]] = []
        self.notices: list[str] = []
        self.progress_lines: list[tuple[str, str, str]] = []  # (key, headline, line)

    async def announce(self, change: Change) -> None:
        self.announced.append(announcement(change))

    async def page(self, target: str, incident: IncidentView, text: str) -> None:
        self.pages.append((target, incident.id, text))

    async def notice(self, text: str) -> None:
        self.notices.append(text)

    async def progress(self, key: str, headline: str, line: str) -> None:
        self.progress_lines.append((key, headline, line))

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
