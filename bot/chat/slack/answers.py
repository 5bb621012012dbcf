"""How Slack is answered: a command's ``Reply`` through ``response_url``, and a refused
request as a 4xx.

Answers reuse one HTTP session (keep-alive): Bolt's own ``respond`` opens a new session, so a
new TCP and TLS handshake with hooks.slack.com, for every answer. An ephemeral reply goes to
the caller only, the others to the channel the command came from; the people Vigil named
stay mentions, any other mention-like text is escaped. A refused request is answered with a
4xx naming the part at fault and one short log line that never holds the body.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.chat.commands.reply import Reply
from bot.chat.slack.blocks.replies import confirmable, reply_blocks
from bot.chat.slack.gate import inbound

log = logging.getLogger(__name__)

_MENTIONS = re.compile(r"<@[UW][A-Z0-9]+>")


class KeepAliveRespond(AsyncRespond):
    """Bolt's ``respond`` (same arguments, same message), posted over a shared session; a
    connection the other side closed while idle is retried on a new one by the webhook
    client's connection-error retry."""

    def __init__(self, response_url: str, session: aiohttp.ClientSession) -> None:
        super().__init__(response_url=response_url)
        self._client = AsyncWebhookClient(url=response_url, session=session)

    async def __call__(  # type: ignore[override]
        self, text: str | dict[str, Any] = "", **message: Any
    ) -> WebhookResponse:
        body = _build_message(**text) if isinstance(text, dict) else _build_message(text, **message)
        return await self._client.send_dict(body)


def refused(refusal: inbound.Refusal, size: int) -> web.Response:
    """A refused request: a 4xx naming the part at fault, and one short line in the log
    (fixed wording and the size; never the body, which could forge log lines)."""
    log.warning(
        "Slack request refused (%d): %s %s; %d bytes, nothing run",
        refusal.status,
        refusal.field,
        refusal.message,
        size,
    )
    return web.json_response(refusal.json(), status=refusal.status)


async def answer(respond: AsyncRespond, reply: Reply, *, replace: bool = False) -> None:
    """Ephemeral replies to the caller only; the others to the channel the command came from."""
    mentions = _MENTIONS.findall(reply.text)  # the people Vigil named stay mentions
    blocks = (
        confirmable(reply.text, reply.confirm, mentions=mentions)
        if reply.confirm
        else reply_blocks(reply.text, mentions=mentions)
    )
    await respond(
        text=reply.text,
        blocks=blocks,
        response_type="ephemeral" if reply.ephemeral else "in_channel",
        replace_original=replace,
    )
