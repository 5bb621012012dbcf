"""A thread line keeps as a mention only a person Vigil itself named; everything else that
looks like a mention is shown as text (it pings nobody)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.chat.slack.blocks.thread import timeline_reply
from bot.incidents.views import EventView

AT = datetime(2025, 11, 25, 2, 5, tzinfo=UTC)


def _line(kind: str, actor: str, text: str) -> str:
    return timeline_reply(EventView(at=AT, kind=kind, actor=actor, text=text, data={}))[0]


def test_who_stopped_the_paging_is_a_mention() -> None:
    line = _line("escalation", "vigil", "Escalation stopped: contained by <@U0SAM0001>")
    assert line == "📣 02:05Z vigil: Escalation stopped: contained by <@U0SAM0001>"


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("escalation", "Escalation stopped: acknowledged by <@U0SAM0001> <!channel>"),
        ("escalation", "P2: accuracy below SLA on model <@U0EVE0001>"),
        ("refiring", "Escalation stopped: acknowledged by <@U0EVE0001>"),
    ],
)
def test_any_other_mention_in_vigils_lines_stays_text(kind: str, text: str) -> None:
    line = _line(kind, "vigil", text)
    assert "<@" not in line
    assert "&lt;@U0" in line
