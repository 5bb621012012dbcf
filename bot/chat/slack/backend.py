"""Slack as Vigil's chat backend: what the core tells a backend goes through the outbox.

Announcements and pages are not sent from here: each is a timeline entry, and the outbox
(``bot.chat.slack.outbound``) turns it into the card update, the thread reply and the page DM,
durably and in order. A notice (a handoff) is an outbox row of its own, written here and
posted to the alerts channel by the same worker. This object exists so the core sees Slack as
a backend like the console (the pager names it in "Paged @maya via slack") and so start/stop
own Socket Mode.
"""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

from bot.chat.slack.front import SlackFront
from bot.chat.slack.notices import NoticeQueue
from bot.incidents.reactions.changes import Change
from bot.incidents.views import IncidentView

log = logging.getLogger(__name__)


class SlackBackend:
    name = "slack"

    def __init__(self, front: SlackFront, notices: NoticeQueue) -> None:
        self._front = front
        self._notices = notices
        self._socket: AsyncSocketModeHandler | None = None

    async def announce(self, change: Change) -> None:
        return None  # the outbox posts it: same transaction as the change, retried

    async def page(self, target: str, incident: IncidentView, text: str) -> None:
        return None  # the outbox DMs it from the "page" timeline entry

    async def notice(self, text: str) -> None:
        await self._notices.put(text)  # an outbox row: retried and ordered like the rest

    async def progress(self, key: str, headline: str, line: str) -> None:
        await self._notices.put_progress(key, headline, line)  # likewise; one message per key

    async def start(self) -> None:
        self._front.identity.start()  # auth.test now and in the background, never per request
        settings = self._front.settings
        if settings.app_token is not None:
            self._socket = AsyncSocketModeHandler(self._front.app, settings.app_token.reveal())
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack: connected in Socket Mode (no public URL needed)")
        else:
            log.info("Slack: HTTP mode; point the app's request URLs at /slack/events")

    async def stop(self) -> None:
        await self._front.identity.stop()
        await self._front.close()
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
