"""The timeline's page line says how far the page really went (bot.oncall.paging.plans.page_entry).

It said "paged @sam … via console" while the log said "@sam was not paged": the console
shows a page only to whoever watches that terminal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.oncall.paging.escalation import PageStep
from bot.oncall.paging.plans import page_entry

STEP = PageStep(index=0, level=1, targets=("@sam",), at=datetime(2026, 12, 5, tzinfo=UTC))


@pytest.mark.parametrize(
    ("chats", "notify", "line"),
    [
        (["slack"], [], "Paged @sam (level 1, round 1) via slack"),
        (["slack"], ["PagerDuty"], "Paged @sam (level 1, round 1) via slack"),
        (["console"], ["e-mail"], "Paged @sam (level 1, round 1) via console"),
        (
            ["console"],
            [],
            "Paged @sam (level 1, round 1) on this console only: no notify: channel "
            "(PagerDuty, e-mail, webhook) reaches them anywhere else",
        ),
        ([], ["PagerDuty", "e-mail"], "Paging @sam (level 1, round 1) through PagerDuty, e-mail"),
        (
            [],
            [],
            "@sam was NOT paged (level 1, round 1): no chat backend is connected and no "
            "notify: channel is configured; set up slack: or notify: in vigil.yaml",
        ),
    ],
)
def test_the_page_line_says_who_was_really_reached(
    chats: list[str], notify: list[str], line: str
) -> None:
    assert page_entry("@sam", STEP, chats, notify) == line
