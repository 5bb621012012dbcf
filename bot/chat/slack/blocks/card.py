"""The incident's one card in the channel: how bad, what, who has it, what fired, and the
buttons its state allows.

The first line says how bad, which incident, what, and what next; it is also the fallback
``text`` that notifications and screen readers show. The wording is ``render``'s, so the
console and Slack say the same thing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from bot.chat.commands import render
from bot.chat.slack.blocks.actions import ACK, CONTAIN, ESCALATE, RESOLVE, ROLLBACK
from bot.chat.slack.blocks.kit import (
    BUTTON_VALUE_MAX,
    CONFIRM_TEXT_MAX,
    CONFIRM_TITLE_MAX,
    FALLBACK_TEXT_MAX,
    FIELD_TEXT_MAX,
    HEADER_TEXT_MAX,
    Block,
    button,
    context,
    cut,
    escape,
    hhmm,
    md,
    plain,
    section,
    who,
)
from bot.incidents.severity import mark
from bot.incidents.states import OPEN_STATES
from bot.incidents.views import AlertView, FiringDigest, IncidentView

ALERTS_SHOWN = 5  # firing alerts a card lists
_ALERT_TITLE_MAX = 300


def summary(view: IncidentView) -> str:
    """The card's first line and fallback text: ``render.one_line`` plus the next step,
    with the title escaped and a stored commander mention kept."""
    safe = replace(view, title=escape(view.title), commander=who(view.commander) or None)
    return cut(f"{render.one_line(safe)}. {escape(render.next_step(view))}", FALLBACK_TEXT_MAX)


def why(view: IncidentView) -> str:
    reason = view.severity_reason.removeprefix(f"{view.severity}: ")  # "Why P2: P2: …" reads badly
    return f"Why {view.severity}: {escape(reason)}"


def _subject_fields(view: IncidentView) -> list[dict[str, Any]]:
    if view.service and view.model:
        pairs = [("Service", view.service), ("Model", view.model)]
    elif view.model:
        pairs = [("Model", view.model)]
    else:
        pairs = [("Service", view.service or "—")]
    return [md(f"*{label}*\n{escape(value)}", FIELD_TEXT_MAX) for label, value in pairs]


def _alert_line(alert: AlertView) -> str:
    line = f"• *{cut(escape(alert.title), _ALERT_TITLE_MAX)}*"
    if alert.value is not None:
        line += f" — value {alert.value:g}"
    if alert.count > 1:
        line += f" · seen {alert.count} times"
    return line


def _what_fired(view: IncidentView, digest: FiringDigest) -> Block | None:
    if not digest.firing:
        if not digest.total:
            return None
        return section(f"*What fired*\nNothing firing now; {digest.total} alert(s) resolved.")
    lines = [_alert_line(a) for a in digest.shown[:ALERTS_SHOWN]]
    if digest.firing > ALERTS_SHOWN:
        lines.append(f"+{digest.firing - ALERTS_SHOWN} more — /incident show {view.id}")
    return section("*What fired*\n" + "\n".join(lines))


def _rollback_confirm_dialog(model: str, rollback_to: tuple[str, str] | None) -> dict[str, Any]:
    if rollback_to is not None:
        text = f"Replace {rollback_to[0]} with {rollback_to[1]} on {model}?"
    else:
        text = f"Roll back {model} to its last known good version?"
    return {
        "title": plain(f"Roll back {model}?", CONFIRM_TITLE_MAX),
        "text": plain(text, CONFIRM_TEXT_MAX),
        "confirm": plain("Roll back", 30),
        "deny": plain("Cancel", 30),
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
        buttons.append(button("Acknowledge", ACK, n, style="primary"))
    buttons.append(button("Escalate", ESCALATE, n))
    if view.state != "contained":
        buttons.append(button("Contain", CONTAIN, n))
    buttons.append(button("Resolve", RESOLVE, n))
    if view.model:
        payload: dict[str, Any] = {"incident": view.id, "model": view.model}
        if rollback_to is not None:
            payload |= {"from_version": rollback_to[0], "to_version": rollback_to[1]}
        value = json.dumps(payload, separators=(",", ":"))
        if len(value) <= BUTTON_VALUE_MAX:  # a value Slack would refuse: /rollback still works
            dialog = _rollback_confirm_dialog(view.model, rollback_to)
            buttons.append(button("Roll back", ROLLBACK, value, style="danger", confirm=dialog))
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
    commander = who(view.commander) or f"unassigned — /incident assign {view.id} @you"
    opened = f"Opened {view.created_at:%Y-%m-%d %H:%MZ} by {who(view.created_by)}"
    if view.acknowledged_at:
        opened += f" · acknowledged {hhmm(view.acknowledged_at)}"
    if view.resolved_at:
        opened += f" · resolved {hhmm(view.resolved_at)}"
    fields = [
        md(f"*State*\n{view.state}", FIELD_TEXT_MAX),
        md(f"*Severity*\n{mark(view.severity)} {escape(view.severity)}", FIELD_TEXT_MAX),
        md(f"*Commander*\n{commander}", FIELD_TEXT_MAX),
        *_subject_fields(view),
    ]
    blocks: list[Block | None] = [
        {
            "type": "header",
            "text": plain(
                f"{mark(view.severity)} {view.severity} #{view.id} {view.title}",
                HEADER_TEXT_MAX,
            ),
        },
        {"type": "section", "text": md(escape(render.next_step(view))), "fields": fields},
        context(why(view)),
        _what_fired(view, digest),
        context(opened),
        _card_actions(view, rollback_to),
    ]
    return summary(view), [b for b in blocks if b is not None]
