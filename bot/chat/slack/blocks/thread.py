"""One timeline entry as a reply in the card's thread: ``📝 02:05Z @sam: text``.

The actor, a new commander and a paged person stay mentions (Vigil stored them), and so
does the person named by Vigil's own "Escalation stopped" line; any other mention-like text
is escaped. Pure.
"""

from __future__ import annotations

import re

from bot.chat.slack.blocks.kit import Block, cut, hhmm, mrkdwn, section, who
from bot.incidents.severity import mark
from bot.incidents.views import EventView

_EMOJI = {
    "opened": "🚨",
    "page": "📟",
    "sla": "⏰",
    "snooze": "😴",
    "escalation": "📣",
    "playbook": "⏪",
    "note": "📝",
    "alert": "🔔",
    "alert_resolved": "✅",
    "commander": "👤",
    "policy": "📏",
    "postmortem": "📄",
    "refused": "⛔",
    "evidence": "📊",
}
_STATE_EMOJI = {"acknowledged": "👀", "contained": "🛡️", "resolved": "✅", "postmortem": "📄"}


def _event_emoji(event: EventView) -> str:
    if event.kind == "state":
        return _STATE_EMOJI.get(str(event.data.get("to")), "🔁")
    if event.kind == "severity":
        return mark(str(event.data.get("to")))
    return _EMOJI.get(event.kind, "•")


_STOPPED_BY = re.compile(r"Escalation stopped: [a-z]+ by (<@[UW][A-Z0-9]+>)")


def _stopped_by(event: EventView) -> str | None:
    """Who stopped the paging, on the line ``bot.oncall.paging.pager`` writes as Vigil when an ack,
    contain or resolve does: ``Escalation stopped: acknowledged by <@U1>``. The entry names
    that person only in its text (its actor is Vigil, its data empty), so the mention was
    escaped like user text. Every word of that line is Vigil's (a state, a stored identity):
    when the whole text has exactly this shape, the person stays a mention; any other text,
    alert or user words included, is escaped as before."""
    if event.kind != "escalation" or event.actor != "vigil":
        return None
    match = _STOPPED_BY.fullmatch(event.text)
    return match.group(1) if match else None


def timeline_reply(event: EventView) -> tuple[str, list[Block]]:
    """One timeline entry as a reply in the card's thread: ``📝 02:05Z @sam: text``.

    The actor, a new commander and a paged person stay mentions (Vigil stored them); any
    other mention-like text in the entry is escaped.
    """
    keep = (event.actor, event.data.get("to"), event.data.get("target"), _stopped_by(event))
    text = mrkdwn(event.text, [k for k in keep if isinstance(k, str)])
    line = cut(f"{_event_emoji(event)} {hhmm(event.at)} {who(event.actor)}: {text}", 3000)
    return line, [section(line)]
