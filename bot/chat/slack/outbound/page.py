"""A ``page`` timeline entry as a Slack DM to the paged person, with Acknowledge / Escalate.

Page DMs have an outbox queue of their own (no card, no thread), so a page is never held
back behind a busy incident's card updates. Its text is the one every channel uses.
"""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack.blocks.card import summary
from bot.chat.slack.blocks.page import page_message
from bot.chat.slack.outbound.lookup import SlackLookup
from bot.chat.slack.outbound.steps import StepLog, tag
from bot.chat.slack.settings import SlackSettings
from bot.core.retry_outcome import GiveUp, Outcome
from bot.incidents.views import EventView, IncidentView
from bot.outbox.worker import OutboxItem

log = logging.getLogger(__name__)


class PageSender:
    """DMs a page to the Slack user its target maps to (``slack.users``)."""

    def __init__(
        self, client: AsyncWebClient, settings: SlackSettings, steps: StepLog, lookup: SlackLookup
    ) -> None:
        self._client = client
        self._settings = settings
        self._steps = steps
        self._lookup = lookup

    async def send(self, item: OutboxItem, view: IncidentView, event: EventView) -> Outcome | None:
        """DM the page once; a GiveUp when its target has no Slack user id, else None."""
        target = str(event.data.get("target", ""))
        user = self._settings.user_id(target)
        if user is None:
            log.warning("page for #%d to %s not sent to Slack: no user id", view.id, target)
            return GiveUp(f"no Slack user for {target}: add it under slack.users in vigil.yaml")
        text = page_text(view, event)

        async def send() -> str:
            dm = await self._client.conversations_open(users=user)
            channel = str(dm["channel"]["id"])
            fallback, page_blocks = page_message(view, text)
            posted = await self._client.chat_postMessage(
                channel=channel, text=fallback, blocks=page_blocks, metadata=tag(item, "page")
            )
            return f"{channel} {posted['ts']}"

        async def find() -> str | None:
            dm = await self._client.conversations_open(users=user)  # the same DM again
            return await self._lookup.find_top(item, "page", str(dm["channel"]["id"]))

        await self._steps.run(item, "page", send, find=find)
        return None


def page_text(view: IncidentView, event: EventView) -> str:
    """The page's own text, as every channel words it (``bot.oncall.paging.plans.page_text``:
    who is paged next and when, and why); a page recorded before it was kept words it here."""
    text = event.data.get("text")
    if isinstance(text, str) and text:
        return text
    level = event.data.get("level", "?")
    return (
        f"{summary(view)} — you are paged (level {level}). "
        f"Acknowledge here or with /incident ack {view.id}."
    )
