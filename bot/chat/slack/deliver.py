"""Slack out: the outbox's deliverer. One timeline entry → the card, a page DM, a thread reply.

For each outbox item (one timeline entry, written in the same transaction as the change it
reports) the card of its incident is posted once and updated in place afterwards, a ``page``
entry is DMed to the paged person with Acknowledge / Escalate buttons, and the entry goes in
the card's thread. Each step that succeeds is recorded (``slack_sent``), so when Slack fails
half-way the retry skips what Slack already has. Failures are classified by
``bot.outbox.retry`` (429 with ``Retry-After``, 5xx, network errors and temporary ``ok:
false`` errors are retried; the rest are given up and logged).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.chat.slack import blocks
from bot.chat.slack.settings import SlackSettings
from bot.chat.slack.tables import SlackCard, SlackSent
from bot.db import Database
from bot.errors import NotFoundError
from bot.incidents.service import IncidentService
from bot.incidents.store import Clock
from bot.incidents.views import EventView, IncidentView
from bot.outbox.retry import Delivered, GiveUp, Outcome, classify_slack_error
from bot.outbox.worker import OutboxItem
from bot.registry.base import ModelRegistry

log = logging.getLogger(__name__)


class SlackDeliverer:
    def __init__(
        self,
        db: Database,
        client: AsyncWebClient,
        settings: SlackSettings,
        *,
        incidents: IncidentService,
        registry: ModelRegistry,
        clock: Clock,
    ) -> None:
        self._db = db
        self._client = client
        self._settings = settings
        self._incidents = incidents
        self._registry = registry
        self._clock = clock

    async def deliver(self, item: OutboxItem) -> Outcome:
        if item.incident_id is None:
            return Delivered()
        try:
            view = await self._incidents.get(item.incident_id)
        except NotFoundError:
            return GiveUp(f"incident #{item.incident_id} no longer exists")
        event = _event(item)
        try:
            card = await self._card(item, view)
            if event.kind == "page":
                outcome = await self._page(item, view, event)
                if outcome is not None:
                    return outcome
            await self._step(item, "thread", self._thread(card, event))
        except SlackApiError as exc:
            response = exc.response
            return classify_slack_error(
                status=response.status_code,
                error=str(response.get("error") or "") or None,
                retry_after=response.headers.get("Retry-After")
                or response.headers.get("retry-after"),
                attempts=item.attempts,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            return classify_slack_error(
                status=None, error=type(exc).__name__, retry_after=None, attempts=item.attempts
            )
        return Delivered()

    async def _card(self, item: OutboxItem, view: IncidentView) -> SlackCard:
        """Post the card the first time, ``chat.update`` it every time after."""
        text, card_blocks = blocks.incident_card(view, rollback_to=await self._rollback_to(view))
        async with self._db.session() as s, s.begin():
            card = await s.get(SlackCard, view.id)
        if card is None:
            channel = self._settings.channel_for(service=view.service, model=view.model)
            posted = await self._client.chat_postMessage(
                channel=channel, text=text, blocks=card_blocks, unfurl_links=False
            )
            card = SlackCard(
                incident_id=view.id,
                channel=str(posted["channel"]),
                ts=str(posted["ts"]),
                posted_at=self._clock(),
            )
            async with self._db.session() as s, s.begin():
                s.add(card)
            return card
        await self._client.chat_update(
            channel=card.channel, ts=card.ts, text=text, blocks=card_blocks
        )
        return card

    async def _page(self, item: OutboxItem, view: IncidentView, event: EventView) -> Outcome | None:
        target = str(event.data.get("target", ""))
        user = self._settings.user_id(target)
        if user is None:
            log.warning("page for #%d to %s not sent to Slack: no user id", view.id, target)
            return GiveUp(f"no Slack user for {target}: add it under slack.users in vigil.yaml")
        text = _page_text(view, event)

        async def send() -> str:
            dm = await self._client.conversations_open(users=user)
            channel = str(dm["channel"]["id"])
            fallback, page_blocks = blocks.page_message(view, text)
            posted = await self._client.chat_postMessage(
                channel=channel, text=fallback, blocks=page_blocks
            )
            return f"{channel} {posted['ts']}"

        await self._step(item, "page", send())
        return None

    async def _thread(self, card: SlackCard, event: EventView) -> str:
        text, reply_blocks = blocks.timeline_reply(event)
        posted = await self._client.chat_postMessage(
            channel=card.channel, thread_ts=card.ts, text=text, blocks=reply_blocks
        )
        return str(posted["ts"])

    async def _step(self, item: OutboxItem, step: str, action: object) -> None:
        """Run ``action`` (a coroutine) unless this item's ``step`` already went out."""
        assert asyncio.iscoroutine(action)
        async with self._db.session() as s, s.begin():
            done = (
                await s.exec(
                    select(SlackSent.id).where(
                        col(SlackSent.outbox_id) == item.id, col(SlackSent.step) == step
                    )
                )
            ).first()
        if done is not None:
            action.close()
            return
        detail = await action
        try:
            async with self._db.session() as s, s.begin():
                s.add(SlackSent(outbox_id=item.id, step=step, detail=detail, sent_at=self._clock()))
        except IntegrityError:
            log.warning("outbox item %d step %s was sent twice", item.id, step)

    async def _rollback_to(self, view: IncidentView) -> tuple[str, str] | None:
        """(serving, last known good) for the card's Roll back dialog, when the registry knows."""
        if not view.model:
            return None
        try:
            plan = await self._registry.rollback(view.model, actor="vigil", dry_run=True)
        except Exception:  # unknown model, nothing to roll back to: the dialog says less
            return None
        return (plan.from_version, plan.to_version) if plan.from_version else None


def _event(item: OutboxItem) -> EventView:
    payload = item.payload
    return EventView(
        at=datetime.fromisoformat(str(payload["at"])),
        kind=str(payload["kind"]),
        actor=str(payload["actor"]),
        text=str(payload["text"]),
        data=dict(payload.get("data") or {}),
    )


def _page_text(view: IncidentView, event: EventView) -> str:
    level = event.data.get("level", "?")
    return (
        f"{blocks.summary(view)} — you are paged (level {level}). "
        f"Acknowledge here or with /incident ack {view.id}."
    )
