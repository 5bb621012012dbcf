"""Finding in Slack what an earlier attempt of an outbox item posted but never recorded.

Exactly once across a kill -9: a step recorded after Slack accepted it leaves a window, so
an attempt after the first looks for its message (by the metadata ``steps.tag`` put on it)
with ``conversations.history`` or ``conversations.replies`` before posting again; an
uploaded chart is known by its file name, an incident channel by its name and creator.
Reading history needs channel ids, learned here from answers or ``conversations.list``.
A look Slack refuses (a scope missing) is logged and answers None: the step is sent, as a
duplicate is better than a gap. Apart from the deliverer because it is all reading.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack.identity import BotIdentity
from bot.chat.slack.outbound.steps import tagged
from bot.evidence.plan import EVIDENCE
from bot.incidents.views import EventView
from bot.outbox.worker import OutboxItem

log = logging.getLogger(__name__)

LOOK_PAGES = 5
"""Pages of history (200 messages each) searched for a message an earlier attempt posted:
that attempt was at most a day ago (``MAX_AGE``), and the newest messages come first."""
_PAGE = 200
_CREATED_SKEW_S = 3600
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
CANNOT_LOOK = frozenset({"missing_scope", "not_in_channel", "channel_not_found", "no_permission"})
"""Slack errors that mean Vigil may not look (rather than that Slack failed)."""


class SlackLookup:
    """Reads Slack for messages and channels an earlier attempt left behind."""

    def __init__(self, client: AsyncWebClient, identity: BotIdentity) -> None:
        self._client = client
        self._identity = identity
        self._channel_ids: dict[str, str] = {}  # "#incidents" → C0123, learned from answers

    async def find_top(self, item: OutboxItem, step: str, channel: str) -> str | None:
        """``"channel ts"`` of the channel message tagged as this item's ``step``, or None."""
        channel_id = await self.channel_id(channel)
        if channel_id is None:
            return None
        pages = self._messages(
            item, self._client.conversations_history, LOOK_PAGES, channel=channel_id
        )
        async for message in pages:
            if tagged(message, item, step):
                return f"{channel_id} {message['ts']}"
        return None

    async def find_reply(
        self, item: OutboxItem, step: str, channel: str, thread_ts: str, event: EventView
    ) -> str | None:
        """What this item's ``step`` posted into the thread (a reply's ts, or ``file ID`` for
        an uploaded chart, known by its file name), or None."""
        filename = Path(str(event.data.get("path") or "")).name if event.kind == EVIDENCE else ""
        # A thread is one incident's story: every page is read.
        pages = self._messages(
            item, self._client.conversations_replies, None, channel=channel, ts=thread_ts
        )
        async for message in pages:
            if message.get("ts") == thread_ts:
                continue  # the parent: the card itself
            if tagged(message, item, step):
                return str(message["ts"])
            names = {f.get("name"): f.get("id") for f in message.get("files") or []}
            if filename and filename in names:
                return f"file {names[filename]}"
        return None

    async def _messages(
        self,
        item: OutboxItem,
        method: Callable[..., Awaitable[Any]],
        most: int | None,
        **args: Any,
    ) -> AsyncIterator[Mapping[str, Any]]:
        """Every message of a history or thread read, page after page (at most ``most``
        pages), with their metadata; nothing when Slack will not let Vigil look."""
        cursor = ""
        read = 0
        while most is None or read < most:
            page = await self._look(
                item, method, include_all_metadata=True, limit=_PAGE, cursor=cursor or None, **args
            )
            read += 1
            if page is None:
                return
            for message in page.get("messages") or []:
                yield message
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return

    async def _look(
        self, item: OutboxItem, method: Callable[..., Awaitable[Any]], **args: Any
    ) -> Mapping[str, Any] | None:
        """One history read; None (and a warning) when Slack will not let Vigil look, so the
        step is sent rather than lost. Other failures raise: the attempt is retried."""
        try:
            page: Mapping[str, Any] = await method(**args)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if error not in CANNOT_LOOK:
                raise
            log.warning(
                "outbox %d: cannot look for an earlier attempt's message (%s%s); sending it, "
                "which may duplicate it (add the *:history scopes to the Slack app)",
                item.id,
                error,
                f": needs {exc.response.get('needed')}" if exc.response.get("needed") else "",
            )
            return None
        return page

    async def created_before(self, item: OutboxItem, name: str) -> str | None:
        """The id of channel ``name`` if an earlier attempt of ``item`` created it: created by
        this bot, not archived, and no earlier than an hour before the item (a channel left
        from another Vigil database with the same incident number is older than that)."""
        if self._identity.verified is None:
            await self._identity.check()  # off the request path: a delivery may wait for it
        bot_user = self._identity.verified.user_id if self._identity.verified else None
        channel_id = await self.channel_id(name)
        if bot_user is None or channel_id is None:
            return None
        try:
            info = await self._client.conversations_info(channel=channel_id)
        except SlackApiError as exc:
            if str(exc.response.get("error") or "") not in CANNOT_LOOK:
                raise
            return None
        chan = info.get("channel") or {}
        since = item.created_at.timestamp() - _CREATED_SKEW_S
        ours = chan.get("creator") == bot_user and not chan.get("is_archived")
        return channel_id if ours and float(chan.get("created") or 0) >= since else None

    async def channel_id(self, channel: str) -> str | None:
        """The id of a configured channel (``#incidents`` or an id): history is read by id.

        Learned from the answers to earlier posts; after a restart, from
        ``conversations.list``. None (and a warning) when Slack does not say.
        """
        if _CHANNEL_ID.fullmatch(channel):
            return channel
        name = channel.lstrip("#")
        if name in self._channel_ids:
            return self._channel_ids[name]
        cursor = ""
        while True:
            try:
                page = await self._client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=1000,
                    cursor=cursor or None,
                )
            except SlackApiError as exc:
                error = str(exc.response.get("error") or "")
                if error not in CANNOT_LOOK:
                    raise
                log.warning(
                    "cannot find the id of #%s (%s); add the channels:read scope, or "
                    "configure the channel by id",
                    name,
                    error,
                )
                return None
            for chan in page.get("channels") or []:
                self._channel_ids[str(chan.get("name"))] = str(chan.get("id"))
            if name in self._channel_ids:
                return self._channel_ids[name]
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                log.warning("no channel #%s is visible to the bot", name)
                return None

    def learn(self, channel: str, answered: object) -> None:
        """Remember the id Slack answered for a channel given by name."""
        if not _CHANNEL_ID.fullmatch(channel) and answered:
            self._channel_ids[channel.lstrip("#")] = str(answered)
