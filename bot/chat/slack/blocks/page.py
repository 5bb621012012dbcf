"""The DM that pages someone: the page text first, why, and the buttons a paged person needs.

Pure. The page text itself is every channel's (``bot.oncall.paging.plans.page_text``).
"""

from __future__ import annotations

from bot.chat.commands import render
from bot.chat.slack.blocks.actions import ACK, ESCALATE
from bot.chat.slack.blocks.card import why as card_why
from bot.chat.slack.blocks.kit import (
    SECTION_TEXT_MAX,
    Block,
    button,
    context,
    cut,
    escape,
    mrkdwn,
    section,
)
from bot.incidents.states import OPEN_STATES
from bot.incidents.views import IncidentView


def page_message(view: IncidentView, text: str) -> tuple[str, list[Block]]:
    """The DM that pages someone: the page text first, why, and the two buttons a paged
    person needs. Acknowledge goes once someone has acknowledged; nothing once resolved."""
    head, _, rest = text.partition("\n")
    first = cut(mrkdwn(head, [view.commander]), SECTION_TEXT_MAX)
    # The page's own "Why" (what every channel says) when it has one, else the card's.
    why = " ".join(escape(line) for line in rest.splitlines() if line.strip()) or card_why(view)
    blocks: list[Block] = [
        section(first),
        context(cut(f"{why} · {escape(render.next_step(view))}", SECTION_TEXT_MAX)),
    ]
    if view.state in OPEN_STATES:
        n = str(view.id)
        buttons = [button("Escalate", ESCALATE, n)]
        if view.state == "triggered":
            buttons.insert(0, button("Acknowledge", ACK, n, style="primary"))
        blocks.append({"type": "actions", "block_id": f"vigil_page_{view.id}", "elements": buttons})
    return first, blocks
