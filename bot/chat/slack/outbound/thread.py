"""A timeline entry into a card's thread: a reply, or for an ``evidence`` entry the chart.

A chart goes up with ``files_upload_v2`` with the entry's line as its comment. A temporary
failure is retried like any other; when the file is missing, Slack refuses the upload for
good (uploads disabled, say) or the upload URL still fails on the ``UPLOAD_TRIES``-th
attempt, the entry goes as the plain reply instead (the line names the chart and its file):
the thread stays complete and the incident's later messages are not held back for a picture.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack.blocks.thread import timeline_reply
from bot.chat.slack.outbound.steps import api_outcome, tag
from bot.core.retry_outcome import GiveUp
from bot.evidence.plan import EVIDENCE
from bot.incidents.views import EventView
from bot.outbox.worker import OutboxItem

log = logging.getLogger(__name__)

UPLOAD_TRIES = 3
"""Attempts at uploading a chart before its entry goes as a plain thread reply."""


class ThreadPoster:
    """Posts one timeline entry into a thread (the card's, or its copy's)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def post(
        self, item: OutboxItem, step: str, channel: str, thread_ts: str, event: EventView
    ) -> str:
        """The entry in a thread: a chart as the uploaded file, anything else as a reply."""
        text, reply_blocks = timeline_reply(event)
        chart = await _chart_bytes(event) if event.kind == EVIDENCE else None
        if chart is not None:
            try:
                return await self._upload(channel, thread_ts, event, text, *chart)
            except SlackApiError as exc:  # temporary: retried; permanent: the line instead
                outcome = api_outcome(exc, item.attempts)
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
