"""A command's reply as Slack blocks, and the ``/rollback`` confirmation step.

A reply echoes user text, so it is escaped and no mention-like text pings anyone unless the
caller names it; Markdown-ish text (``**b**``, ``# heading``, ``- item``) is put in Slack's
dialect, and a long reply is split under Slack's limits rather than refused. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from bot.chat.slack.blocks.actions import CONFIRM, ROLLBACK_CANCEL, ROLLBACK_CONFIRM
from bot.chat.slack.blocks.kit import (
    BUTTON_VALUE_MAX,
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    Block,
    button,
    escape,
    head,
    mrkdwn,
    section,
)

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
            piece = head(line, limit) or line[:limit]
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
    lines = [_slack_line(mrkdwn(line, keep)) for line in text.splitlines()]
    chunks = _chunks(lines, SECTION_TEXT_MAX)
    if len(chunks) > MESSAGE_BLOCKS_MAX:
        chunks = [*chunks[: MESSAGE_BLOCKS_MAX - 1], "… cut: too long for one Slack message."]
    return [section(chunk) for chunk in chunks]


def confirmable(text: str, command: str, *, mentions: Iterable[str] = ()) -> list[Block]:
    """A preview with the button that carries it out (the button's value is the command,
    run as typed, with the same guard, when clicked); no button when the command is too
    long for a button's value: the text already shows it to copy."""
    blocks = reply_blocks(text, mentions=mentions)
    if len(command) <= BUTTON_VALUE_MAX and len(blocks) < MESSAGE_BLOCKS_MAX:
        go = button("Create it", CONFIRM, command, style="primary")
        blocks.append({"type": "actions", "block_id": "vigil_confirm", "elements": [go]})
    return blocks


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
        button("Confirm", ROLLBACK_CONFIRM, value, style="danger"),
        button("Cancel", ROLLBACK_CANCEL, model[:BUTTON_VALUE_MAX]),
    ]
    return [
        section(f"⏪ *{escape(question)}*\n{where}"),
        {"type": "actions", "block_id": "vigil_rollback_confirm", "elements": buttons},
    ]
