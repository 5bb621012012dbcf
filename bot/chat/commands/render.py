"""Plain-text renderings of incidents for chat, written for a tired reader.

The first line always says what happened, how bad it is, and what to do next. Slack's
adapter (a later issue) turns the same views into Block Kit; the console prints these.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.core.pagination import Page
from bot.incidents.severity import mark
from bot.incidents.views import IncidentSummary, IncidentView

_TIMELINE_SHOWN = 15


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%SZ") if at else "—"


def next_step(view: IncidentView) -> str:
    """What the reader should do next, given the state."""
    n = view.id
    return {
        "triggered": f"Next: /incident ack {n}",
        "acknowledged": (
            f"Next: /incident contain {n} once users are safe, or /incident resolve {n}"
        ),
        "contained": f"Next: fix the cause, then /incident resolve {n}",
        "resolved": "Next: write the post-mortem" if view.severity in ("P1", "P2") else "Done.",
        "postmortem": "Done.",
    }.get(view.state, "")


def one_line(view: IncidentView | IncidentSummary) -> str:
    """``🔴 P1 #3 HighErrorRate on payments · triggered · commander @alice``."""
    parts = [f"{mark(view.severity)} {view.severity} #{view.id} {view.title}", view.state]
    if view.commander:
        parts.append(f"commander {view.commander}")
    firing = view.firing_count
    if firing:
        parts.append(f"{firing} alert{'s' if firing != 1 else ''} firing")
    return " · ".join(parts)


def headline(view: IncidentView, what: str) -> str:
    """``🔴 P1 #3 acknowledged by @alice: <title>. Next: …``."""
    return (
        f"{mark(view.severity)} {view.severity} #{view.id} {what}: {view.title}. {next_step(view)}"
    )


def detail(view: IncidentView) -> str:
    """Everything a responder needs on one screen: severity and why, alerts, timeline."""
    lines = [
        one_line(view),
        f"Why: {view.severity_reason}",
        f"Opened {_when(view.created_at)} by {view.created_by}"
        + (f" · acknowledged {_when(view.acknowledged_at)}" if view.acknowledged_at else "")
        + (f" · resolved {_when(view.resolved_at)}" if view.resolved_at else ""),
        next_step(view),
    ]
    if view.alerts:
        lines.append("Alerts:")
        for a in view.alerts:
            value = f" value={a.value:g}" if a.value is not None else ""
            seen = f" seen {a.count} times" if a.count > 1 else ""
            lines.append(f"  [{a.status}] {a.title}{value}{seen} (fingerprint {a.fingerprint})")
    if view.timeline:
        shown = view.timeline[-_TIMELINE_SHOWN:]
        hidden = len(view.timeline) - len(shown)
        lines.append("Timeline" + (f" (last {len(shown)}, {hidden} earlier):" if hidden else ":"))
        for e in shown:
            text = f"Note from {e.actor}: {e.text}" if e.kind == "note" else e.text
            lines.append(f"  {_when(e.at)}  {text}")
    return "\n".join(line for line in lines if line)


def listing(
    page: Page[IncidentSummary], *, include_closed: bool, more: Callable[[str], str]
) -> str:
    """A page of the incident list. When it is not the whole list the title says so
    ("Showing 50 of 312 open") and, when there is a next page, the last line is the command
    that shows it: ``more(cursor)``, worded for where the list is read (chat, the CLI)."""
    if not page.items:
        if page.total:
            return f"Nothing after that point; {page.total} {_what(include_closed)} in all."
        return "No incidents yet." if include_closed else "No open incidents. All quiet."
    order = "newest first" if include_closed else "most severe first"
    if page.cut:
        title = f"Showing {len(page.items)} of {page.total} {_what(include_closed)}, {order}:"
    else:
        title = "Recent incidents:" if include_closed else f"{page.total} open, {order}:"
    lines = [title, *(one_line(v) for v in page.items)]
    if page.next_cursor is not None:
        lines.append(f"More: {more(page.next_cursor)}")
    return "\n".join(lines)


def _what(include_closed: bool) -> str:
    return "incidents" if include_closed else "open"
