"""Slack out: the outbox's deliverer. One timeline entry → the card, a page DM, a thread reply.

For each outbox item (one timeline entry, written in the same transaction as the change it
reports) the card of its incident is posted once and updated in place afterwards, a ``page``
entry is DMed to the paged person with Acknowledge / Escalate buttons (``page.py``), and the
entry goes in the card's thread (``thread.py``; a chart is uploaded). Each step that succeeds
is recorded (``steps.py``), so when Slack fails half-way the retry skips what Slack already
has. Failures are classified by ``bot.outbox.retry`` (429 with ``Retry-After``, 5xx, network
errors and temporary ``ok: false`` errors are retried; the rest are given up and logged).
With ``slack.incident_channels`` on, a P1 or P2 also gets a channel of its own
(``channels.py``), after the card, the page and the thread reply went out.

Exactly once, across a kill -9 at any moment: every message posted carries Slack message
``metadata`` naming its outbox row and step, and an attempt after the first looks for that
message first (``lookup.py``) and records what it finds instead of posting. ``chat.update``,
pins and invites are idempotent already. The first attempt never looks, so the usual path
costs no extra call. This module only orders the steps and turns failures into outcomes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack.blocks.card import ALERTS_SHOWN, incident_card
from bot.chat.slack.identity import BotIdentity
from bot.chat.slack.notices import NOTICE, PROGRESS
from bot.chat.slack.outbound.channels import IncidentChannels
from bot.chat.slack.outbound.lookup import SlackLookup
from bot.chat.slack.outbound.page import PageSender
from bot.chat.slack.outbound.progress import ProgressPoster
from bot.chat.slack.outbound.steps import ALREADY, StepLog, api_outcome, tag
from bot.chat.slack.outbound.thread import ThreadPoster
from bot.chat.slack.settings import SlackSettings
from bot.chat.slack.tables import SlackCard
from bot.core.clock import Clock
from bot.core.errors import NotFoundError
from bot.core.retry_outcome import Delivered, GiveUp, Outcome
from bot.incidents.service import IncidentService
from bot.incidents.views import EventView, IncidentView
from bot.outbox.feed import DM_APART
from bot.outbox.retry import classify_slack_error
from bot.outbox.tables import PAGE
from bot.outbox.worker import OutboxItem
from bot.registry.base import ModelRegistry
from bot.store.db import Database

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
        identity: BotIdentity | None = None,
    ) -> None:
        self._db = db
        self._client = client
        self._settings = settings
        self._incidents = incidents
        self._registry = registry
        self._clock = clock
        self._steps = StepLog(db, clock)
        self._lookup = SlackLookup(
            client, identity if identity is not None else BotIdentity(client)
        )
        self._thread = ThreadPoster(client)
        self._pages = PageSender(client, settings, self._steps, self._lookup)
        self._channels = IncidentChannels(
            db,
            client,
            settings,
            incidents=incidents,
            steps=self._steps,
            lookup=self._lookup,
            thread=self._thread,
        )
        self._progress = ProgressPoster(
            db, client, self._steps, self._lookup, channel=settings.alerts_channel, clock=clock
        )
        self._shown: dict[int, str] = {}  # incident → digest of the card as last drawn here

    async def deliver(self, item: OutboxItem) -> Outcome:
        if item.kind == NOTICE:
            return await self._notice(item)
        if item.kind == PROGRESS:
            return await self._slack_call(self._progress.deliver(item), item)
        if item.incident_id is None:
            return Delivered()
        try:
            # The incident's own fields and a digest of its alerts, not every alert: this
            # runs for each timeline entry, and in a storm an incident holds hundreds.
            view, digest = await self._incidents.card(item.incident_id, shown=ALERTS_SHOWN)
        except NotFoundError:
            return GiveUp(f"incident #{item.incident_id} no longer exists")
        event = _event(item)
        try:
            if item.kind == PAGE:  # a page's DM, in a queue of its own: no card, no thread
                return await self._pages.send(item, view, event) or Delivered()
            text, card_blocks = incident_card(
                view, digest, rollback_to=await self._rollback_to(view)
            )
            card = await self._card(item, view, text, card_blocks)
            # A row written before page DMs had a queue of their own sends the DM itself.
            if event.kind == "page" and not item.payload.get(DM_APART):
                outcome = await self._pages.send(item, view, event)
                if outcome is not None:
                    return outcome
            await self._steps.run(
                item,
                "thread",
                lambda: self._thread.post(item, "thread", card.channel, card.ts, event),
                find=lambda: self._lookup.find_reply(item, "thread", card.channel, card.ts, event),
            )
            await self._channels.update(item, view, card, event, text, card_blocks)
        except SlackApiError as exc:
            return api_outcome(exc, item.attempts)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return classify_slack_error(
                status=None, error=type(exc).__name__, retry_after=None, attempts=item.attempts
            )
        except SlackRequestError as exc:  # the upload URL refused the bytes (or a client bug)
            return classify_slack_error(
                status=None, error=f"upload: {exc}"[:200], retry_after=None, attempts=item.attempts
            )
        return Delivered()

    async def _notice(self, item: OutboxItem) -> Outcome:
        """A team-channel notice (a handoff): one message in the alerts channel, no card."""
        text = str(item.payload.get("text") or "")
        channel = self._settings.alerts_channel

        async def post() -> str:
            posted = await self._client.chat_postMessage(
                channel=channel, text=text, unfurl_links=False, metadata=tag(item, NOTICE)
            )
            self._lookup.learn(channel, posted.get("channel"))
            return f"{posted['channel']} {posted['ts']}"

        async def find() -> str | None:
            return await self._lookup.find_top(item, NOTICE, channel)

        try:
            await self._steps.run(item, NOTICE, post, find=find)
        except SlackApiError as exc:
            return api_outcome(exc, item.attempts)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return classify_slack_error(
                status=None, error=type(exc).__name__, retry_after=None, attempts=item.attempts
            )
        return Delivered()

    async def _slack_call(self, work: Awaitable[None], item: OutboxItem) -> Outcome:
        """``work`` done, or the outcome its Slack failure calls for (retry or give up)."""
        try:
            await work
        except SlackApiError as exc:
            return api_outcome(exc, item.attempts)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return classify_slack_error(
                status=None, error=type(exc).__name__, retry_after=None, attempts=item.attempts
            )
        return Delivered()

    async def _card(
        self, item: OutboxItem, view: IncidentView, text: str, card_blocks: list[dict[str, Any]]
    ) -> SlackCard:
        """Post the card the first time, then ``chat.update`` it whenever it reads otherwise
        (a storm's entries mostly leave it as it was: no call for those)."""
        async with self._db.read() as s, s.begin():
            card = await s.get(SlackCard, view.id)
        if card is None:
            channel = self._settings.channel_for(service=view.service, model=view.model)
            found = (
                await self._lookup.find_top(item, "card", channel) if item.attempts > 1 else None
            )
            if found is not None:  # posted by an earlier attempt whose answer was lost
                log.info(ALREADY, item.id, "card")
                where, ts = found.split(" ", 1)
            else:
                posted = await self._client.chat_postMessage(
                    channel=channel,
                    text=text,
                    blocks=card_blocks,
                    unfurl_links=False,
                    metadata=tag(item, "card", incident_id=view.id),
                )
                self._lookup.learn(channel, posted.get("channel"))
                where, ts = str(posted["channel"]), str(posted["ts"])
            card = SlackCard(incident_id=view.id, channel=where, ts=ts, posted_at=self._clock())
            async with self._db.session() as s, s.begin():
                s.add(card)
            self._shown[view.id] = _drawn(text, card_blocks)
            return card
        drawn = _drawn(text, card_blocks)
        if self._shown.get(view.id) != drawn:
            await self._client.chat_update(
                channel=card.channel, ts=card.ts, text=text, blocks=card_blocks
            )
            self._shown[view.id] = drawn
        return card

    async def _rollback_to(self, view: IncidentView) -> tuple[str, str] | None:
        """(serving, last known good) for the card's Roll back dialog, when the registry knows."""
        if not view.model:
            return None
        try:
            plan = await self._registry.rollback(view.model, actor="vigil", dry_run=True)
        except Exception:  # unknown model, nothing to roll back to: the dialog says less
            return None
        return (plan.from_version, plan.to_version) if plan.from_version else None


def _drawn(text: str, card_blocks: list[dict[str, Any]]) -> str:
    """A digest of a card as drawn, to tell whether it changed."""
    body = json.dumps([text, card_blocks], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _event(item: OutboxItem) -> EventView:
    payload = item.payload
    return EventView(
        at=datetime.fromisoformat(str(payload["at"])),
        kind=str(payload["kind"]),
        actor=str(payload["actor"]),
        text=str(payload["text"]),
        data=dict(payload.get("data") or {}),
    )
