"""Slack out: the outbox's deliverer. One timeline entry → the card, a page DM, a thread reply.

For each outbox item (one timeline entry, written in the same transaction as the change it
reports) the card of its incident is posted once and updated in place afterwards, a ``page``
entry is DMed to the paged person with Acknowledge / Escalate buttons, and the entry goes in
the card's thread. Each step that succeeds is recorded (``slack_sent``), so when Slack fails
half-way the retry skips what Slack already has. Failures are classified by
``bot.outbox.retry`` (429 with ``Retry-After``, 5xx, network errors and temporary ``ok:
false`` errors are retried; the rest are given up and logged).

With ``slack.incident_channels`` on, a P1 or P2 (also one raised to P2 later) gets a channel
of its own, after the card, the page and the thread reply went out as above: it is created
once (``inc-12-fraud-scorer-accuracy``; a taken name gets ``-2``, ``-3``…), a copy of the
card is posted and pinned there and updated along with the card, the commander and every
paged person with a known Slack user id are invited (each once per incident), and each
timeline entry goes in the copy's thread too. The channel id and the copy's ts are kept on
``slack_cards`` in the same transaction that records the step, so a retry never creates a
second channel, pins twice or invites twice.

An ``evidence`` entry (a chart of ``bot.evidence``) goes into the thread as the chart itself:
``files_upload_v2`` with the entry's line as its comment, a step like any reply, so a retry
after it went out never uploads it again. A temporary failure is retried like any other;
when the file is missing, Slack refuses the upload for good (uploads disabled, say) or the
upload URL still fails on the ``UPLOAD_TRIES``-th attempt, the entry goes as the plain reply
instead (the line names the chart and its file): the thread stays complete and the
incident's later messages are not held back for a picture.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.chat.slack import blocks
from bot.chat.slack.notices import NOTICE
from bot.chat.slack.settings import SlackSettings
from bot.chat.slack.tables import SlackCard, SlackSent
from bot.db import Database
from bot.errors import NotFoundError
from bot.evidence.plan import EVIDENCE
from bot.incidents.service import IncidentService
from bot.incidents.store import Clock
from bot.incidents.views import EventView, IncidentView
from bot.outbox.retry import Delivered, GiveUp, Outcome, classify_slack_error
from bot.outbox.tables import OutboxRow
from bot.outbox.worker import OutboxItem
from bot.registry.base import ModelRegistry

log = logging.getLogger(__name__)

CHANNEL_NAME_MAX = 80  # Slack's limit
_NAME_TRIES = 10  # inc-12-title, then inc-12-title-2 … -10, then give up
_NOT_NAME = re.compile(r"[^a-z0-9_-]+")
_INVITE = "invite "
_ALREADY_IN = frozenset({"already_in_channel", "cant_invite_self"})
UPLOAD_TRIES = 3
"""Attempts at uploading a chart before its entry goes as a plain thread reply."""


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
        if item.kind == NOTICE:
            return await self._notice(item)
        if item.incident_id is None:
            return Delivered()
        try:
            view = await self._incidents.get(item.incident_id)
        except NotFoundError:
            return GiveUp(f"incident #{item.incident_id} no longer exists")
        event = _event(item)
        text, card_blocks = blocks.incident_card(view, rollback_to=await self._rollback_to(view))
        try:
            card = await self._card(view, text, card_blocks)
            if event.kind == "page":
                outcome = await self._page(item, view, event)
                if outcome is not None:
                    return outcome
            await self._step(item, "thread", self._thread(item, card.channel, card.ts, event))
            await self._incident_channel(item, view, card, event, text, card_blocks)
        except SlackApiError as exc:
            return _api_outcome(exc, item.attempts)
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
                channel=channel, text=text, unfurl_links=False
            )
            return f"{posted['channel']} {posted['ts']}"

        try:
            await self._step(item, NOTICE, post())
        except SlackApiError as exc:
            return _api_outcome(exc, item.attempts)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return classify_slack_error(
                status=None, error=type(exc).__name__, retry_after=None, attempts=item.attempts
            )
        return Delivered()

    async def _card(
        self, view: IncidentView, text: str, card_blocks: list[dict[str, Any]]
    ) -> SlackCard:
        """Post the card the first time, ``chat.update`` it every time after."""
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

    async def _incident_channel(
        self,
        item: OutboxItem,
        view: IncidentView,
        card: SlackCard,
        event: EventView,
        text: str,
        card_blocks: list[dict[str, Any]],
    ) -> None:
        """The incident's own channel: created once, card copy pinned, people invited."""
        channel = card.incident_channel
        if channel is None:
            if not self._settings.wants_incident_channel(view.severity):
                return
            channel = await self._step(
                item, "channel", self._create_channel(view), save_as="incident_channel"
            )
        copy_ts = card.incident_ts
        if copy_ts is None:
            copy_ts = await self._step(
                item,
                "channel_card",
                self._post_copy(channel, text, card_blocks),
                save_as="incident_ts",
            )
        else:
            await self._client.chat_update(
                channel=channel, ts=copy_ts, text=text, blocks=card_blocks
            )
        if await self._done(item, "channel_card") is not None:  # this item posted the copy
            await self._step(item, "pin", self._pin(channel, copy_ts))
        await self._invite(item, view, channel)
        await self._step(item, "channel_thread", self._thread(item, channel, copy_ts, event))

    async def _create_channel(self, view: IncidentView) -> str:
        for attempt in range(1, _NAME_TRIES + 1):
            name = channel_name(self._settings.incident_channel_prefix, view, attempt)
            try:
                created = await self._client.conversations_create(name=name, is_private=False)
            except SlackApiError as exc:
                if exc.response.get("error") == "name_taken" and attempt < _NAME_TRIES:
                    continue
                raise
            log.info("incident #%d: created channel #%s", view.id, name)
            return str(created["channel"]["id"])
        raise AssertionError("unreachable: the last try returns or raises")

    async def _post_copy(self, channel: str, text: str, card_blocks: list[dict[str, Any]]) -> str:
        posted = await self._client.chat_postMessage(
            channel=channel, text=text, blocks=card_blocks, unfurl_links=False
        )
        return str(posted["ts"])

    async def _pin(self, channel: str, ts: str) -> str:
        try:
            await self._client.pins_add(channel=channel, timestamp=ts)
        except SlackApiError as exc:
            if exc.response.get("error") != "already_pinned":
                raise
        return ts

    async def _invite(self, item: OutboxItem, view: IncidentView, channel: str) -> None:
        """Invite the commander and the paged people not yet invited to this incident's channel."""
        wanted = [user for user in self._people(view) if user is not None]
        if not wanted:
            return
        async with self._db.session() as s, s.begin():
            steps = (
                await s.exec(
                    select(SlackSent.step)
                    .join(OutboxRow, col(OutboxRow.id) == col(SlackSent.outbox_id))
                    .where(
                        col(OutboxRow.incident_id) == view.id,
                        col(SlackSent.step).startswith(_INVITE),
                    )
                )
            ).all()
        invited = {step.removeprefix(_INVITE) for step in steps}
        for user in dict.fromkeys(wanted):
            if user not in invited:
                await self._step(item, _INVITE + user, self._invite_one(channel, user))

    def _people(self, view: IncidentView) -> list[str | None]:
        targets = [view.commander] if view.commander else []
        targets += [str(e.data["target"]) for e in view.timeline if e.kind == "page"]
        return [self._settings.user_id(target) for target in targets if target]

    async def _invite_one(self, channel: str, user: str) -> str:
        try:
            await self._client.conversations_invite(channel=channel, users=user)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if error not in _ALREADY_IN:
                raise
            return error
        return "invited"

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

    async def _thread(
        self, item: OutboxItem, channel: str, thread_ts: str, event: EventView
    ) -> str:
        """The entry in a thread: a chart as the uploaded file, anything else as a reply."""
        text, reply_blocks = blocks.timeline_reply(event)
        chart = await _chart_bytes(event) if event.kind == EVIDENCE else None
        if chart is not None:
            try:
                return await self._upload(channel, thread_ts, event, text, *chart)
            except SlackApiError as exc:  # temporary: retried; permanent: the line instead
                outcome = _api_outcome(exc, item.attempts)
                if not isinstance(outcome, GiveUp):
                    raise
                log.warning(
                    "outbox %d: chart not uploaded (%s); posting its line", item.id, outcome.reason
                )
            except SlackRequestError as exc:  # the upload URL refused the bytes
                if item.attempts < UPLOAD_TRIES:
                    raise
                log.warning(
                    "outbox %d: chart upload failed %d times (%s); posting its line",
                    item.id,
                    item.attempts,
                    exc,
                )
        posted = await self._client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, blocks=reply_blocks
        )
        return str(posted["ts"])

    async def _upload(
        self, channel: str, thread_ts: str, event: EventView, text: str, path: Path, data: bytes
    ) -> str:
        """Upload a chart into the thread (Slack's v2 flow: get a URL, POST, complete)."""
        uploaded = await self._client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            file=data,
            filename=path.name,
            title=str(event.data.get("title") or path.name),
            initial_comment=text,
        )
        shared = uploaded.get("files") or [{}]
        return f"file {shared[0].get('id')}"

    async def _done(self, item: OutboxItem, step: str) -> str | None:
        """What ``step`` of this item recorded when it went out, or None if it has not."""
        async with self._db.session() as s, s.begin():
            return (
                await s.exec(
                    select(SlackSent.detail).where(
                        col(SlackSent.outbox_id) == item.id, col(SlackSent.step) == step
                    )
                )
            ).first()

    async def _step(
        self,
        item: OutboxItem,
        step: str,
        action: Coroutine[Any, Any, str],
        *,
        save_as: str | None = None,
    ) -> str:
        """Run ``action`` unless this item's ``step`` already went out; its result either way.

        ``save_as`` names a ``slack_cards`` column that takes the result in the same
        transaction that records the step (the incident channel, its card copy).
        """
        done = await self._done(item, step)
        if done is not None:
            action.close()
            return done
        detail = await action
        try:
            async with self._db.session() as s, s.begin():
                s.add(SlackSent(outbox_id=item.id, step=step, detail=detail, sent_at=self._clock()))
                if save_as is not None:
                    card = await s.get(SlackCard, item.incident_id)
                    assert card is not None  # the card is posted before any step that saves
                    setattr(card, save_as, detail)
        except IntegrityError:
            log.warning("outbox item %d step %s was sent twice", item.id, step)
        return detail

    async def _rollback_to(self, view: IncidentView) -> tuple[str, str] | None:
        """(serving, last known good) for the card's Roll back dialog, when the registry knows."""
        if not view.model:
            return None
        try:
            plan = await self._registry.rollback(view.model, actor="vigil", dry_run=True)
        except Exception:  # unknown model, nothing to roll back to: the dialog says less
            return None
        return (plan.from_version, plan.to_version) if plan.from_version else None


def _api_outcome(exc: SlackApiError, attempts: int) -> Outcome:
    """What a Slack API refusal means for the outbox item: retry (when) or give up."""
    response = exc.response
    return classify_slack_error(
        status=response.status_code,
        error=str(response.get("error") or "") or None,
        retry_after=response.headers.get("Retry-After") or response.headers.get("retry-after"),
        attempts=attempts,
    )


def _event(item: OutboxItem) -> EventView:
    payload = item.payload
    return EventView(
        at=datetime.fromisoformat(str(payload["at"])),
        kind=str(payload["kind"]),
        actor=str(payload["actor"]),
        text=str(payload["text"]),
        data=dict(payload.get("data") or {}),
    )


async def _chart_bytes(event: EventView) -> tuple[Path, bytes] | None:
    """The chart file an evidence entry names, read off the event loop; None (and a warning)
    when it is gone, so the entry goes as text."""
    raw = event.data.get("path")
    if not isinstance(raw, str) or not raw:
        log.warning("evidence entry without a file path: %s", event.text)
        return None
    path = Path(raw)
    try:
        return path, await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        log.warning("chart %s cannot be read (%s); posting its line instead", path, exc)
        return None


def channel_name(prefix: str, view: IncidentView, attempt: int = 1) -> str:
    """``inc-12-fraud-scorer-accuracy``: lowercase ``a-z0-9-_`` only, at most 80 characters;
    ``attempt`` 2 and up add ``-2``, ``-3``… for when the name is taken."""
    ascii_title = unicodedata.normalize("NFKD", view.title).encode("ascii", "ignore").decode()
    slug = _NOT_NAME.sub("-", ascii_title.lower()).strip("-_")
    base = f"{prefix}{view.id}"
    suffix = f"-{attempt}" if attempt > 1 else ""
    room = CHANNEL_NAME_MAX - len(base) - len(suffix) - 1
    slug = slug[: max(room, 0)].rstrip("-_")
    return (f"{base}-{slug}" if slug else base)[: CHANNEL_NAME_MAX - len(suffix)] + suffix


def _page_text(view: IncidentView, event: EventView) -> str:
    level = event.data.get("level", "?")
    return (
        f"{blocks.summary(view)} — you are paged (level {level}). "
        f"Acknowledge here or with /incident ack {view.id}."
    )
