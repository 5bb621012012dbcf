"""The Block Kit building blocks every Vigil message is made of, and the rules they keep.

Pure on purpose (no Slack library, no I/O): every builder returns the JSON that
``chat.postMessage`` / ``respond`` take. Two rules hold everywhere, and live here so no
builder can forget them:

* User text (titles, notes, alert names) is escaped (``&``, ``<``, ``>``), so a title
  holding ``<!channel>`` or ``<@U1>`` cannot ping anyone. Only identities Vigil itself
  stored as ``<@U123>`` (commander, actor) stay mentions.
* Slack rejects a whole message when one text is too long, and a card that fails to post
  is worse than a cut one, so every text is cut to its limit with "…".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

Block = dict[str, Any]

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

_MENTION = re.compile(r"<@[UW][A-Z0-9]+>")
_BARE_AMP = re.compile(r"&(?!(?:amp|lt|gt);)")


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters.

    Idempotent (an existing ``&amp;``, ``&lt;`` or ``&gt;`` is left alone), so text built
    from ``summary()`` and escaped again, as a page DM's is, does not show ``&lt;``.
    """
    return _BARE_AMP.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


def head(text: str, size: int) -> str:
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


def cut(text: str, limit: int, *, mrkdwn: bool = True) -> str:
    """``text`` within ``limit`` characters, ending in "…" if it had to be cut."""
    if len(text) <= limit:
        return text
    return (head(text, limit - 1) if mrkdwn else text[: limit - 1]) + "…"


def mrkdwn(text: str, keep: Iterable[str | None] = ()) -> str:
    """Escaped ``text``, with the Vigil-stored mentions in ``keep`` left as mentions."""
    out = escape(text)
    for mention in keep:
        if mention and _MENTION.fullmatch(mention):
            out = out.replace(escape(mention), mention)
    return out


def who(name: str | None) -> str:
    """A person as Vigil stored them: a Slack mention stays one, anything else is text."""
    if name and _MENTION.fullmatch(name):
        return name
    return escape(name or "")


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(text, limit, mrkdwn=False), "emoji": True}


def md(text: str, limit: int = SECTION_TEXT_MAX) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": cut(text, limit)}


def section(text: str) -> Block:
    return {"type": "section", "text": md(text)}


def context(text: str) -> Block:
    return {"type": "context", "elements": [md(text)]}


def button(
    label: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": plain(label, BUTTON_TEXT_MAX),
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = confirm
    return button


def hhmm(at: datetime) -> str:
    at = at.astimezone(UTC) if at.tzinfo else at  # naive datetimes in Vigil are UTC
    return at.strftime("%H:%MZ")
