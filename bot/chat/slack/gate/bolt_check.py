"""Bolt's request verification, kept inside the Bolt app but quiet and strict.

``SlackFront.handle`` checks every request before Bolt sees it (``inbound``). This second
check is there for any other way into the app (a test, an adapter added later): it checks
the same way, and where Bolt's own logs a refused body in full at INFO, this logs one
short line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from slack_bolt.middleware.request_verification.async_request_verification import (
    AsyncRequestVerification,
)
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.chat.slack.gate import inbound

log = logging.getLogger(__name__)


class QuietRequestVerification(AsyncRequestVerification):
    """Bolt's middleware (so Bolt knows requests are verified), with ``inbound.verify``."""

    def __init__(self, signing_secret: str) -> None:
        super().__init__(signing_secret)
        self._key = signing_secret.encode()

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        if self._can_skip(req.mode, req.body):
            return await next()
        verdict = inbound.verify(
            req.raw_body.encode("utf-8", "surrogateescape"),
            req.headers.get("x-slack-request-timestamp", [""])[0],
            req.headers.get("x-slack-signature", [""])[0],
            secret=self._key,
            now=time.time(),
        )
        if isinstance(verdict, inbound.Refusal):
            log.warning(
                "Slack request refused by Bolt's check (%d): %s", verdict.status, verdict.field
            )
            return BoltResponse(status=verdict.status, body=verdict.json())
        return await next()
