"""Vigil's Slack messages as Block Kit dicts: the incident card, thread replies, page DMs.

Pure on purpose (no Slack library, no I/O): every function returns the JSON that
``chat.postMessage`` / ``respond`` take, so what a responder sees, which buttons a state
offers and whether Slack's limits hold are all tested without Slack. The wording is
``render``'s, so the console and Slack say the same thing.

Three rules hold everywhere:

* The first line says how bad, which incident, what, and what next; it is also the
  fallback ``text`` that notifications and screen readers show.
* User text (titles, notes, alert names) is escaped (``&``, ``<``, ``>``), so a title
  holding ``<!channel>`` or ``<@U1>`` cannot ping anyone. Only identities Vigil itself
  stored as ``<@U123>`` (commander, actor) stay mentions.
* Slack rejects a whole message when one text is too long, and a card that fails to post
  is worse than a cut one, so every text is cut to its limit with "…".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.chat.commands import render
from bot.chat.slack.modals import (
    DESCRIPTION_BLOCK,
    MODEL_BLOCK,
    NEW_INCIDENT_CALLBACK,
    SERVICE_BLOCK,
    SEVERITY_BLOCK,
    TITLE_BLOCK,
    NewIncident,
    new_incident_modal,
    parse_new_incident_submission,
)
from bot.incidents.severity import mark
from bot.incidents.states import OPEN_STATES
from bot.incidents.views import AlertView, EventView, FiringDigest, IncidentView

__all__ = [
    "ACK",
    "ACTIONS",
    "CONTAIN",
    "DESCRIPTION_BLOCK",
    "ESCALATE",
    "MODEL_BLOCK",
    "NEW_INCIDENT_CALLBACK",
    "RESOLVE",
    "ROLLBACK",
    "ROLLBACK_CANCEL",
    "ROLLBACK_CONFIRM",
    "SERVICE_BLOCK",
    "SEVERITY_BLOCK",
    "TITLE_BLOCK",
    "NewIncident",
    "ephemeral",
    "escape",
    "incident_card",
    "new_incident_modal",
    "page_message",
    "parse_new_incident_submission",
    "reply_blocks",
    "rollback_confirm",
    "summary",
    "timeline_reply",
]

Block = dict[str, Any]

ACK = "vigil_ack"
ESCALATE = "vigil_escalate"
CONTAIN = "vigil_contain"
RESOLVE = "vigil_resolve"
ROLLBACK = "vigil_rollback"
ROLLBACK_CONFIRM = "vigil_rollback_confirm"
ROLLBACK_CANCEL = "vigil_rollback_cancel"
#: Every action_id Vigil's messages carry, for registering handlers in one loop.
ACTIONS: tuple[str, ...] = (
    ACK,
    ESCALATE,
    CONTAIN,
    RESOLVE,
    ROLLBACK,
    ROLLBACK_CONFIRM,
    ROLLBACK_CANCEL,
)

# Slack's limits (api.slack.com/reference/block-kit).
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
MESSAGE_BLOCKS_MAX = 50
FALLBACK_TEXT_MAX = 3000  # Slack allows 40,000; a notification shows far less

ALERTS_SHOWN = 5  # firing alerts a card lists
_ALERT_TITLE_MAX = 300
_MENTION = re.compile(r"<@[UW][A-Z0-9]+>")
_BARE_AMP = re.compile(r"&(?!(?:amp|lt|gt);)")
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


# -- text ------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters.

    Idempotent (an existing ``&amp;``, ``&lt;`` or ``&gt;`` is left alone), so text built
    from ``summary()`` and escaped again, as a page DM's is, does not show ``&lt;``.
    """
    return _BARE_AMP.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


def _head(text: str, size: int) -> str:
    """At most ``size`` leading characters of escaped mrkdwn, never ending inside an entity
    (``&am``) or a mention (``<@U1``), which Slack would show as garbage."""
    head = text[:size]
    if len(head) == len(text):
        return head
    amp = head.rfind("&")
    if amp != -1 and len(head) - amp < 5 and ";" not in head[amp:]:
        head = head[:amp]
    if head.rfind("<") > head.rfind(">"):
        head = head[: head.rfind("<")]
    return head


def _cut(text: str, limit: int, *, mrkdwn: bool = True) -> str:
    """``text`` within ``limit`` characters, ending in "…" if it had to be cut."""
    if len(text) <= limit:
        return text
    return (_head(text, limit - 1) if mrkdwn else text[: limit - 1]) + "…"


def _mrkdwn(text: str, keep: Iterable[str | None] = ()) -> str:
    """Escaped ``text``, with the Vigil-stored mentions in ``keep`` left as mentions."""
    out = escape(text)
    for mention in keep:
        if mention and _MENTION.fullmatch(mention):
            out = out.replace(escape(mention), mention)
    return out


def _who(name: str | None) -> str:
    """A person as Vigil stored them: a Slack mention stays one, anything else is text."""
    if name and _MENTION.fullmatch(name):
        return name
    return escape(name or "")


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit, mrkdwn=False), "emoji": True}


def _md(text: str, limit: int = SECTION_TEXT_MAX) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _cut(text, limit)}


def _section(text: str) -> Block:
    return {"type": "section", "text": _md(text)}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_md(text)]}


def _button(
    label: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": _plain(label, BUTTON_TEXT_MAX),
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = confirm
    return button


def _hhmm(at: datetime) -> str:
    at = at.astimezone(UTC) if at.tzinfo else at  # naive datetimes in Vigil are UTC
    return at.strftime("%H:%MZ")


# -- the incident card -----------------------------------------------------------------


def summary(view: IncidentView) -> str:
    """The card's first line and fallback text: ``render.one_line`` plus the next step,
    with the title escaped and a stored commander mention kept."""
    safe = replace(view, title=escape(view.title), commander=_who(view.commander) or None)
    return _cut(f"{render.one_line(safe)}. {escape(render.next_step(view))}", FALLBACK_TEXT_MAX)


def _why(view: IncidentView) -> str:
    reason = view.severity_reason.removeprefix(f"{view.severity}: ")  # "Why P2: P2: …" reads badly
    return f"Why {view.severity}: {escape(reason)}"


def _subject_fields(view: IncidentView) -> list[dict[str, Any]]:
    if view.service and view.model:
        pairs = [("Service", view.service), ("Model", view.model)]
    elif view.model:
        pairs = [("Model", view.model)]
    else:
        pairs = [("Service", view.service or "—")]
    return [_md(f"*{label}*\n{escape(value)}", FIELD_TEXT_MAX) for label, value in pairs]


def _alert_line(alert: AlertView) -> str:
    line = f"• *{_cut(escape(alert.title), _ALERT_TITLE_MAX)}*"
    if alert.value is not None:
        line += f" — value {alert.value:g}"
    if alert.count > 1:
        line += f" · seen {alert.count} times"
    return line


def _what_fired(view: IncidentView, digest: FiringDigest) -> Block | None:
    if not digest.firing:
        if not digest.total:
            return None
        return _section(f"*What fired*\nNothing firing now; {digest.total} alert(s) resolved.")
    lines = [_alert_line(a) for a in digest.shown[:ALERTS_SHOWN]]
    if digest.firing > ALERTS_SHOWN:
        lines.append(f"+{digest.firing - ALERTS_SHOWN} more — /incident show {view.id}")
    return _section("*What fired*\n" + "\n".join(lines))


def _rollback_confirm_dialog(model: str, rollback_to: tuple[str, str] | None) -> dict[str, Any]:
    if rollback_to is not None:
        text = f"Replace {rollback_to[0]} with {rollback_to[1]} on {model}?"
    else:
        text = f"Roll back {model} to its last known good version?"
    return {
        "title": _plain(f"Roll back {model}?", CONFIRM_TITLE_MAX),
        "text": _plain(text, CONFIRM_TEXT_MAX),
        "confirm": _plain("Roll back", 30),
        "deny": _plain("Cancel", 30),
        "style": "danger",
    }


def _card_actions(view: IncidentView, rollback_to: tuple[str, str] | None) -> Block | None:
    """Only the buttons the current state allows: a click that the state machine would
    refuse is a wasted moment at 3 a.m., and a resolved card needs none at all."""
    if view.state not in OPEN_STATES:
        return None
    n = str(view.id)
    buttons = []
    if view.state == "triggered":
        buttons.append(_button("Acknowledge", ACK, n, style="primary"))
    buttons.append(_button("Escalate", ESCALATE, n))
    if view.state != "contained":
        buttons.append(_button("Contain", CONTAIN, n))
    buttons.append(_button("Resolve", RESOLVE, n))
    if view.model:
        payload: dict[str, Any] = {"incident": view.id, "model": view.model}
        if rollback_to is not None:
            payload |= {"from_version": rollback_to[0], "to_version": rollback_to[1]}
        value = json.dumps(payload, separators=(",", ":"))
        if len(value) <= BUTTON_VALUE_MAX:  # a value Slack would refuse: /rollback still works
            dialog = _rollback_confirm_dialog(view.model, rollback_to)
            buttons.append(_button("Roll back", ROLLBACK, value, style="danger", confirm=dialog))
    return {"type": "actions", "block_id": f"vigil_incident_{view.id}", "elements": buttons}


def incident_card(
    view: IncidentView,
    digest: FiringDigest | None = None,
    *,
    rollback_to: tuple[str, str] | None = None,
) -> tuple[str, list[Block]]:
    """The incident's one card in the channel: ``(fallback text, blocks)``.

    ``digest`` is what the card lists of the alerts (``IncidentService.card`` reads it
    without every alert); None takes it from ``view``, which then holds every alert.
    ``rollback_to`` is ``(serving version, version it would go back to)`` when the caller
    knows them; the Roll back dialog then names both, so nobody confirms blind.
    """
    if digest is None:
        digest = FiringDigest.of(view, ALERTS_SHOWN)
    commander = _who(view.commander) or f"unassigned — /incident assign {view.id} @you"
    opened = f"Opened {view.created_at:%Y-%m-%d %H:%MZ} by {_who(view.created_by)}"
    if view.acknowledged_at:
        opened += f" · acknowledged {_hhmm(view.acknowledged_at)}"
    if view.resolved_at:
        opened += f" · resolved {_hhmm(view.resolved_at)}"
    fields = [
        _md(f"*State*\n{view.state}", FIELD_TEXT_MAX),
        _md(f"*Severity*\n{mark(view.severity)} {escape(view.severity)}", FIELD_TEXT_MAX),
        _md(f"*Commander*\n{commander}", FIELD_TEXT_MAX),
        *_subject_fields(view),
    ]
    blocks: list[Block | None] = [
        {
            "type": "header",
            "text": _plain(
                f"{mark(view.severity)} {view.severity} #{view.id} {view.title}",
                HEADER_TEXT_MAX,
            ),
        },
        {"type": "section", "text": _md(escape(render.next_step(view))), "fields": fields},
        _context(_why(view)),
        _what_fired(view, digest),
        _context(opened),
        _card_actions(view, rollback_to),
    ]
    return summary(view), [b for b in blocks if b is not None]


# -- thread replies, pages, command replies ---------------------------------------------


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
    text = _mrkdwn(event.text, [k for k in keep if isinstance(k, str)])
    line = _cut(f"{_event_emoji(event)} {_hhmm(event.at)} {_who(event.actor)}: {text}", 3000)
    return line, [_section(line)]


def page_message(view: IncidentView, text: str) -> tuple[str, list[Block]]:
    """The DM that pages someone: the page text first, why, and the two buttons a paged
    person needs. Acknowledge goes once someone has acknowledged; nothing once resolved."""
    head, _, rest = text.partition("\n")
    first = _cut(_mrkdwn(head, [view.commander]), SECTION_TEXT_MAX)
    # The page's own "Why" (what every channel says) when it has one, else the card's.
    why = " ".join(escape(line) for line in rest.splitlines() if line.strip()) or _why(view)
    blocks: list[Block] = [
        _section(first),
        _context(_cut(f"{why} · {escape(render.next_step(view))}", SECTION_TEXT_MAX)),
    ]
    if view.state in OPEN_STATES:
        n = str(view.id)
        buttons = [_button("Escalate", ESCALATE, n)]
        if view.state == "triggered":
            buttons.insert(0, _button("Acknowledge", ACK, n, style="primary"))
        blocks.append({"type": "actions", "block_id": f"vigil_page_{view.id}", "elements": buttons})
    return first, blocks


_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_BULLET = re.compile(r"^(\s*)[-*]\s+")


def _slack_line(line: str) -> str:
    """One escaped line of Markdown-ish text in Slack's dialect (``**b**`` → ``*b*``)."""
    heading = _HEADING.match(line)
    if heading:
        return f"*{heading.group(1).replace('*', '')}*"
    return _BOLD.sub(r"*\1*", _BULLET.sub(r"\1• ", line))


def _chunks(lines: list[str], limit: int) -> list[str]:
    """Join lines into pieces of at most ``limit`` characters. A line longer than that is
    broken (between entities, never inside one) and its parts are never rejoined with a
    newline, so no line break appears that the text did not have."""
    pieces: list[tuple[str, bool]] = []  # (text, starts a line)
    for line in lines:
        starts = True
        while len(line) > limit:
            piece = _head(line, limit) or line[:limit]
            pieces.append((piece, starts))
            line, starts = line[len(piece) :], False
        pieces.append((line, starts))
    chunks: list[str] = []
    for piece, starts in pieces:
        if chunks and starts and len(chunks[-1]) + 1 + len(piece) <= limit:
            chunks[-1] += "\n" + piece
        else:
            chunks.append(piece)
    return [c for c in chunks if c.strip()]


def reply_blocks(text: str, *, mentions: Iterable[str] = ()) -> list[Block]:
    """A command's ``Reply`` text as section blocks, escaped, split under Slack's limits.

    ``mentions`` are the Vigil-stored identities (``<@U123>``) that may stay mentions; by
    default none, since a reply echoes user text that must not ping anyone.
    """
    keep = list(mentions)
    lines = [_slack_line(_mrkdwn(line, keep)) for line in text.splitlines()]
    chunks = _chunks(lines, SECTION_TEXT_MAX)
    if len(chunks) > MESSAGE_BLOCKS_MAX:
        chunks = [*chunks[: MESSAGE_BLOCKS_MAX - 1], "… cut: too long for one Slack message."]
    return [_section(chunk) for chunk in chunks]


def ephemeral(text: str, *, mentions: Iterable[str] = ()) -> list[Block]:
    """Blocks for an answer only the caller sees; the same rendering as ``reply_blocks``."""
    return reply_blocks(text, mentions=mentions)


def rollback_confirm(
    model: str, from_version: str, to_version: str, incident: int | None
) -> list[Block]:
    """The ``/rollback`` confirmation step: say which version replaces which, change nothing.

    The Confirm value carries ``from_version`` so the click can be refused if another
    rollback got there first (the version it would replace is no longer serving).
    """
    question = f"Roll back {model}: replace {from_version} with {to_version}?"
    where = (
        f"Every step goes on incident #{incident}'s timeline."
        if incident is not None
        else "Not linked to an incident: add --incident N to record it on one."
    )
    value = json.dumps(
        {
            "model": model,
            "from_version": from_version,
            "to_version": to_version,
            "incident": incident,
        },
        separators=(",", ":"),
    )
    buttons = [
        _button("Confirm", ROLLBACK_CONFIRM, value, style="danger"),
        _button("Cancel", ROLLBACK_CANCEL, model[:BUTTON_VALUE_MAX]),
    ]
    return [
        _section(f"⏪ *{escape(question)}*\n{where}"),
        {"type": "actions", "block_id": "vigil_rollback_confirm", "elements": buttons},
    ]
