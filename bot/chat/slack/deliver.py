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

Exactly once, across a kill -9 at any moment. Recording a step after Slack accepted it
leaves a window: killed in between, the row is claimed again after its lease and the step
would be posted a second time. So every message posted here carries Slack message
``metadata`` naming its outbox row and step (``event_type`` ``vigil_outbox``), and an
attempt after the first (``attempts > 1``: the earlier one may have reached Slack) looks for
that message first, with ``conversations.history`` (cards, page DMs, notices, the card copy)
or ``conversations.replies`` (thread replies), and records what it finds instead of posting.
An uploaded chart cannot carry metadata; it is recognised by its file name in the thread
(one chart file per incident and chart). An incident channel whose creation went
unrecorded is recognised when its name is taken by a channel this bot created since the
item was written (``conversations.info``); it is used, not a ``-2``. ``chat.update``, pins
and invites are idempotent already. The first attempt never looks, so the usual path costs
no extra call; a look that Slack refuses (a ``*:history`` or ``*:read`` scope missing) is
logged and the step is sent: a duplicate is better than a gap.

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
import functools
import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.chat.slack import blocks
from bot.chat.slack.identity import BotIdentity
from bot.chat.slack.notices import NOTICE
from bot.chat.slack.settings import SlackSettings
from bot.chat.slack.tables import SlackCard, SlackSent
from bot.clock import Clock
from bot.db import Database
from bot.errors import NotFoundError
from bot.evidence.plan import EVIDENCE
from bot.incidents.service import IncidentService
from bot.incidents.views import EventView, IncidentView
from bot.outbox.feed import DM_APART
from bot.outbox.retry import classify_slack_error
from bot.outbox.tables import PAGE, OutboxRow
from bot.outbox.worker import OutboxItem
from bot.registry.base import ModelRegistry
from bot.retry_outcome import Delivered, GiveUp, Outcome

log = logging.getLogger(__name__)

CHANNEL_NAME_MAX = 80  # Slack's limit
_NAME_TRIES = 10  # inc-12-title, then inc-12-title-2 … -10, then give up
_NOT_NAME = re.compile(r"[^a-z0-9_-]+")
_INVITE = "invite "
_ALREADY_IN = frozenset({"already_in_channel", "cant_invite_self"})
UPLOAD_TRIES = 3
"""Attempts at uploading a chart before its entry goes as a plain thread reply."""
OUTBOX_EVENT = "vigil_outbox"
"""The ``event_type`` of the metadata on every message the deliverer posts."""
LOOK_PAGES = 5
"""Pages of history (200 messages each) searched for a message an earlier attempt posted:
that attempt was at most a day ago (``MAX_AGE``), and the newest messages come first."""
_PAGE = 200
_CREATED_SKEW_S = 3600
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
_CANNOT_LOOK = frozenset({"missing_scope", "not_in_channel", "channel_not_found", "no_permission"})

_ALREADY = "outbox %d: %s was already in Slack (an earlier attempt went unrecorded); not sent again"

Step = Callable[[], Awaitable[str]]
Find = Callable[[], Awaitable[str | None]]


def tag(item: OutboxItem, step: str, **extra: object) -> dict[str, Any]:
    """The metadata that marks a message as this outbox row's ``step``."""
    return {
        "event_type": OUTBOX_EVENT,
        "event_payload": {"outbox_id": item.id, "step": step, **extra},
    }


def _tagged(message: Mapping[str, Any], item: OutboxItem, step: str) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return (
        metadata.get("event_type") == OUTBOX_EVENT
        and payload.get("outbox_id") == item.id
        and payload.get("step") == step
    )


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
        self._identity = identity if identity is not None else BotIdentity(client)
        self._client = client
        self._settings = settings
        self._incidents = incidents
        self._registry = registry
        self._clock = clock
        self._channel_ids: dict[str, str] = {}  # "#incidents" → C0123, learned from answers
        self._shown: dict[int, str] = {}  # incident → digest of the card as last drawn here

    async def deliver(self, item: OutboxItem) -> Outcome:
        if item.kind == NOTICE:
            return await self._notice(item)
        if item.incident_id is None:
            return Delivered()
        try:
            # The incident's own fields and a digest of its alerts, not every alert: this
            # runs for each timeline entry, and in a storm an incident holds hundreds.
            view, digest = await self._incidents.card(item.incident_id, shown=blocks.ALERTS_SHOWN)
        except NotFoundError:
            return GiveUp(f"incident #{item.incident_id} no longer exists")
        event = _event(item)
        try:
            if item.kind == PAGE:  # a page's DM, in a queue of its own: no card, no thread
                return await self._page(item, view, event) or Delivered()
            text, card_blocks = blocks.incident_card(
                view, digest, rollback_to=await self._rollback_to(view)
            )
            card = await self._card(item, view, text, card_blocks)
            # A row written before page DMs had a queue of their own sends the DM itself.
            if event.kind == "page" and not item.payload.get(DM_APART):
                outcome = await self._page(item, view, event)
                if outcome is not None:
                    return outcome
            await self._step(
                item,
                "thread",
                lambda: self._thread(item, "thread", card.channel, card.ts, event),
                find=lambda: self._find_reply(item, "thread", card.channel, card.ts, event),
            )
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
                channel=channel, text=text, unfurl_links=False, metadata=tag(item, NOTICE)
            )
            self._learn(channel, posted.get("channel"))
            return f"{posted['channel']} {posted['ts']}"

        async def find() -> str | None:
            return await self._find_top(item, NOTICE, channel)

        try:
            await self._step(item, NOTICE, post, find=find)
        except SlackApiError as exc:
            return _api_outcome(exc, item.attempts)
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
            found = await self._find_top(item, "card", channel) if item.attempts > 1 else None
            if found is not None:  # posted by an earlier attempt whose answer was lost
                log.info(_ALREADY, item.id, "card")
                where, ts = found.split(" ", 1)
            else:
                posted = await self._client.chat_postMessage(
                    channel=channel,
                    text=text,
                    blocks=card_blocks,
                    unfurl_links=False,
                    metadata=tag(item, "card", incident_id=view.id),
                )
                self._learn(channel, posted.get("channel"))
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
                item,
                "channel",
                lambda: self._create_channel(item, view),
                save_as="incident_channel",
            )
        copy_ts = card.incident_ts
        if copy_ts is None:
            where = channel

            async def find_copy() -> str | None:
                found = await self._find_top(item, "channel_card", where)
                return found.split(" ", 1)[1] if found else None

            copy_ts = await self._step(
                item,
                "channel_card",
                lambda: self._post_copy(item, where, text, card_blocks),
                find=find_copy,
                save_as="incident_ts",
            )
        else:
            await self._client.chat_update(
                channel=channel, ts=copy_ts, text=text, blocks=card_blocks
            )
        if await self._done(item, "channel_card") is not None:  # this item posted the copy
            await self._step(item, "pin", lambda: self._pin(channel, copy_ts))
        await self._invite(item, view, channel)
        await self._step(
            item,
            "channel_thread",
            lambda: self._thread(item, "channel_thread", channel, copy_ts, event),
            find=lambda: self._find_reply(item, "channel_thread", channel, copy_ts, event),
        )

    async def _create_channel(self, item: OutboxItem, view: IncidentView) -> str:
        """Create the incident's channel; a taken name gets ``-2``, ``-3``…, unless an earlier
        attempt of this item took it (then that channel is the one)."""
        for attempt in range(1, _NAME_TRIES + 1):
            name = channel_name(self._settings.incident_channel_prefix, view, attempt)
            try:
                created = await self._client.conversations_create(name=name, is_private=False)
            except SlackApiError as exc:
                if exc.response.get("error") == "name_taken" and attempt < _NAME_TRIES:
                    earlier = await self._created_before(item, name) if item.attempts > 1 else None
                    if earlier is not None:
                        log.info(_ALREADY, item.id, f"channel #{name}")
                        return earlier
                    continue
                raise
            log.info("incident #%d: created channel #%s", view.id, name)
            return str(created["channel"]["id"])
        raise AssertionError("unreachable: the last try returns or raises")

    async def _post_copy(
        self, item: OutboxItem, channel: str, text: str, card_blocks: list[dict[str, Any]]
    ) -> str:
        posted = await self._client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=card_blocks,
            unfurl_links=False,
            metadata=tag(item, "channel_card"),
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
        view = await self._incidents.get(view.id)  # with its timeline: who was paged
        wanted = [user for user in self._people(view) if user is not None]
        if not wanted:
            return
        async with self._db.read() as s, s.begin():
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
                invite = functools.partial(self._invite_one, channel, user)
                await self._step(item, _INVITE + user, invite)

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
                channel=channel, text=fallback, blocks=page_blocks, metadata=tag(item, "page")
            )
            return f"{channel} {posted['ts']}"

        async def find() -> str | None:
            dm = await self._client.conversations_open(users=user)  # the same DM again
            return await self._find_top(item, "page", str(dm["channel"]["id"]))

        await self._step(item, "page", send, find=find)
        return None

    async def _thread(
        self, item: OutboxItem, step: str, channel: str, thread_ts: str, event: EventView
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
            channel=channel,
            thread_ts=thread_ts,
            text=text,
            blocks=reply_blocks,
            metadata=tag(item, step),
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
        async with self._db.read() as s, s.begin():
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
        action: Step,
        *,
        find: Find | None = None,
        save_as: str | None = None,
    ) -> str:
        """Run ``action`` unless this item's ``step`` already went out; its result either way.

        On a later attempt ``find`` first looks in Slack for what an earlier attempt may have
        posted without living to record it; found, that is recorded and nothing is sent.
        ``save_as`` names a ``slack_cards`` column that takes the result in the same
        transaction that records the step (the incident channel, its card copy).
        """
        # A first attempt has recorded nothing yet: no read (a storm's deliveries are many).
        done = await self._done(item, step) if item.attempts > 1 else None
        if done is not None:
            return done
        found = await find() if find is not None and item.attempts > 1 else None
        if found is not None:
            log.info(_ALREADY, item.id, step)
        detail = found if found is not None else await action()
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

    # -- finding what an earlier attempt posted -------------------------------------------

    async def _find_top(self, item: OutboxItem, step: str, channel: str) -> str | None:
        """``"channel ts"`` of the channel message tagged as this item's ``step``, or None."""
        channel_id = await self._channel_id(channel)
        if channel_id is None:
            return None
        pages = self._messages(
            item, self._client.conversations_history, LOOK_PAGES, channel=channel_id
        )
        async for message in pages:
            if _tagged(message, item, step):
                return f"{channel_id} {message['ts']}"
        return None

    async def _find_reply(
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
            if _tagged(message, item, step):
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
            if error not in _CANNOT_LOOK:
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

    async def _created_before(self, item: OutboxItem, name: str) -> str | None:
        """The id of channel ``name`` if an earlier attempt of ``item`` created it: created by
        this bot, not archived, and no earlier than an hour before the item (a channel left
        from another Vigil database with the same incident number is older than that)."""
        if self._identity.verified is None:
            await self._identity.check()  # off the request path: a delivery may wait for it
        bot_user = self._identity.verified.user_id if self._identity.verified else None
        channel_id = await self._channel_id(name)
        if bot_user is None or channel_id is None:
            return None
        try:
            info = await self._client.conversations_info(channel=channel_id)
        except SlackApiError as exc:
            if str(exc.response.get("error") or "") not in _CANNOT_LOOK:
                raise
            return None
        chan = info.get("channel") or {}
        since = item.created_at.timestamp() - _CREATED_SKEW_S
        ours = chan.get("creator") == bot_user and not chan.get("is_archived")
        return channel_id if ours and float(chan.get("created") or 0) >= since else None

    async def _channel_id(self, channel: str) -> str | None:
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
                if error not in _CANNOT_LOOK:
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

    def _learn(self, channel: str, answered: object) -> None:
        """Remember the id Slack answered for a channel given by name."""
        if not _CHANNEL_ID.fullmatch(channel) and answered:
            self._channel_ids[channel.lstrip("#")] = str(answered)

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
    """The page's own text, as every channel words it (``bot.oncall.paging.plans.page_text``:
    who is paged next and when, and why); a page recorded before it was kept words it here."""
    text = event.data.get("text")
    if isinstance(text, str) and text:
        return text
    level = event.data.get("level", "?")
    return (
        f"{blocks.summary(view)} — you are paged (level {level}). "
        f"Acknowledge here or with /incident ack {view.id}."
    )
