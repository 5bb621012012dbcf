"""A long process's one Slack message (a rollout): posted once per key in the alerts
channel, ``chat.update``d to the newest headline, each line a reply in its thread.

Where the message is lives in ``slack_threads`` by key. Each step is recorded in
``slack_sent`` (the outbox's step log), so a delivery retried after a failure half-way
neither posts the message twice (a retry looks for it by its metadata first) nor repeats a
reply that went out.
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack.outbound.lookup import SlackLookup
from bot.chat.slack.outbound.steps import StepLog, tag
from bot.chat.slack.tables import SlackThread
from bot.core.clock import Clock
from bot.outbox.worker import OutboxItem
from bot.store.db import Database

TOP, UPDATE, LINE = "progress", "progress-update", "progress-line"


class ProgressPoster:
    def __init__(
        self,
        db: Database,
        client: AsyncWebClient,
        steps: StepLog,
        lookup: SlackLookup,
        *,
        channel: str,
        clock: Clock,
    ) -> None:
        self._db = db
        self._client = client
        self._steps = steps
        self._lookup = lookup
        self._channel = channel
        self._clock = clock

    async def deliver(self, item: OutboxItem) -> None:
        key = str(item.payload.get("key") or "")
        headline = str(item.payload.get("headline") or "")
        line = str(item.payload.get("line") or "")
        async with self._db.read() as s, s.begin():
            known = await s.get(SlackThread, key)
        if known is None:
            where = await self._steps.run(
                item,
                TOP,
                lambda: self._post_top(item, headline),
                find=lambda: self._lookup.find_top(item, TOP, self._channel),
            )
            channel, ts = where.split(" ", 1)
            async with self._db.session() as s, s.begin():
                if await s.get(SlackThread, key) is None:
                    s.add(SlackThread(key=key, channel=channel, ts=ts, posted_at=self._clock()))
        else:
            channel, ts = known.channel, known.ts
            await self._steps.run(item, UPDATE, lambda: self._update(channel, ts, headline))
        if line:
            await self._steps.run(item, LINE, lambda: self._reply(item, channel, ts, line))

    async def _post_top(self, item: OutboxItem, headline: str) -> str:
        posted = await self._client.chat_postMessage(
            channel=self._channel, text=headline, unfurl_links=False, metadata=tag(item, TOP)
        )
        self._lookup.learn(self._channel, posted.get("channel"))
        return f"{posted['channel']} {posted['ts']}"

    async def _update(self, channel: str, ts: str, headline: str) -> str:
        await self._client.chat_update(channel=channel, ts=ts, text=headline)
        return ts

    async def _reply(self, item: OutboxItem, channel: str, ts: str, line: str) -> str:
        posted = await self._client.chat_postMessage(
            channel=channel, thread_ts=ts, text=line, unfurl_links=False, metadata=tag(item, LINE)
        )
        return str(posted["ts"])
