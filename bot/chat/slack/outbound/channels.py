"""An incident's own Slack channel (``slack.incident_channels``), for a P1 or P2.

Created once (``inc-12-fraud-scorer-accuracy``; a taken name gets ``-2``, ``-3``…), a copy
of the card is posted and pinned there and updated along with the card, the commander and
every paged person with a known Slack user id are invited (each once per incident), and each
timeline entry goes in the copy's thread too. The channel id and the copy's ts are kept on
``slack_cards`` in the same transaction that records the step, so a retry never creates a
second channel, pins twice or invites twice. An incident channel whose creation went
unrecorded is recognised when its name is taken by a channel this bot created since the
item was written; it is used, not a ``-2``.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import col, select

from bot.chat.slack.outbound.lookup import SlackLookup
from bot.chat.slack.outbound.steps import ALREADY, StepLog, tag
from bot.chat.slack.outbound.thread import ThreadPoster
from bot.chat.slack.settings import SlackSettings
from bot.chat.slack.tables import SlackCard, SlackSent
from bot.incidents.service import IncidentService
from bot.incidents.views import EventView, IncidentView
from bot.outbox.tables import OutboxRow
from bot.outbox.worker import OutboxItem
from bot.store.db import Database

log = logging.getLogger(__name__)

CHANNEL_NAME_MAX = 80  # Slack's limit
_NAME_TRIES = 10  # inc-12-title, then inc-12-title-2 … -10, then give up
_NOT_NAME = re.compile(r"[^a-z0-9_-]+")
_INVITE = "invite "
_ALREADY_IN = frozenset({"already_in_channel", "cant_invite_self"})


class IncidentChannels:
    """Keeps a P1/P2's channel: created, card copy pinned and updated, people invited."""

    def __init__(
        self,
        db: Database,
        client: AsyncWebClient,
        settings: SlackSettings,
        *,
        incidents: IncidentService,
        steps: StepLog,
        lookup: SlackLookup,
        thread: ThreadPoster,
    ) -> None:
        self._db = db
        self._client = client
        self._settings = settings
        self._incidents = incidents
        self._steps = steps
        self._lookup = lookup
        self._thread = thread

    async def update(
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
            channel = await self._steps.run(
                item,
                "channel",
                lambda: self._create_channel(item, view),
                save_as="incident_channel",
            )
        copy_ts = card.incident_ts
        if copy_ts is None:
            where = channel

            async def find_copy() -> str | None:
                found = await self._lookup.find_top(item, "channel_card", where)
                return found.split(" ", 1)[1] if found else None

            copy_ts = await self._steps.run(
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
        if await self._steps.done(item, "channel_card") is not None:  # this item posted the copy
            await self._steps.run(item, "pin", lambda: self._pin(channel, copy_ts))
        await self._invite(item, view, channel)
        await self._steps.run(
            item,
            "channel_thread",
            lambda: self._thread.post(item, "channel_thread", channel, copy_ts, event),
            find=lambda: self._lookup.find_reply(item, "channel_thread", channel, copy_ts, event),
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
                    earlier = (
                        await self._lookup.created_before(item, name) if item.attempts > 1 else None
                    )
                    if earlier is not None:
                        log.info(ALREADY, item.id, f"channel #{name}")
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
                await self._steps.run(item, _INVITE + user, invite)

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
