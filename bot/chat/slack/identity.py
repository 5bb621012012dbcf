"""Who the bot token is, learned from ``auth.test`` off the request path.

Bolt's default for a single-workspace app (``AsyncSingleTeamAuthorization``) calls
``auth.test`` on the first request it serves and whenever that call has not yet succeeded.
After a restart while Slack's Web API is unreachable, that call failed on the request path:
the slash command got a 500 and was dropped, although answering it needs no Web API at all
(the answer goes to ``response_url``). So Vigil authorizes requests itself
(:meth:`BotIdentity.authorizer`, Bolt's ``authorize=``): the token it was configured with,
plus whatever ``auth.test`` said when it last answered. For one workspace that call only
ever confirmed what the configuration already says; that a request comes from Slack is
proven by its signature (or by Socket Mode), not by it.

``auth.test`` still runs: once when the backend starts, again in the background until it
answers (1 s, 2 s … at most a minute apart while Slack is unreachable), then hourly, so a
revoked token is said loudly in the log, with the error code only, never the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

RETRY_FIRST = 1.0  # seconds between auth.test tries while Slack cannot be reached …
RETRY_MAX = 60.0  # … doubling up to this
RECHECK = 3600.0  # seconds between checks once the token is known good


@dataclass(frozen=True)
class Verified:
    """What ``auth.test`` answered for the bot token."""

    team_id: str | None
    user_id: str | None
    bot_id: str | None
    scopes: str | None
    enterprise_id: str | None = None


class BotIdentity:
    """The bot token's identity: verified at start and in the background, read by requests."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self.verified: Verified | None = None
        self.refused: str | None = None  # Slack's error code when it rejected the token
        self.known = asyncio.Event()  # set once auth.test has answered for the token
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> bool:
        """Call ``auth.test`` once; True when Slack answered (accepted or refused the token).

        False means Slack could not be reached, or answered with a temporary failure, and
        the check should be tried again later.
        """
        try:
            answer = await self._client.auth_test()
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
            if exc.response.status_code >= 500 or error in ("ratelimited", "internal_error"):
                log.warning("Slack: auth.test failed for now (%s); trying again", error)
                return False
            if self.refused != error:
                log.error(
                    "Slack refused SLACK_BOT_TOKEN (%s): Web API calls will fail until the "
                    "token is fixed; slash commands are still answered",
                    error,
                )
            self.refused = error
            return True
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("Slack: Web API unreachable for auth.test (%s)", type(exc).__name__)
            return False
        first = self.verified is None
        self.refused = None
        self.verified = Verified(
            team_id=_str(answer.get("team_id")),
            user_id=_str(answer.get("user_id")),
            bot_id=_str(answer.get("bot_id")),
            scopes=answer.headers.get("x-oauth-scopes") or answer.headers.get("X-OAuth-Scopes"),
            enterprise_id=_str(answer.get("enterprise_id")),
        )
        self.known.set()
        if first:
            log.info(
                "Slack: bot token verified (team %s, bot user %s)",
                self.verified.team_id,
                self.verified.user_id,
            )
        return True

    async def watch(self) -> None:
        """Check now, again until Slack answers (backing off), then every ``RECHECK``."""
        wait = RETRY_FIRST
        while True:
            if await self.check():
                wait = RETRY_FIRST
                await asyncio.sleep(RECHECK)
            else:
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_MAX)

    def start(self) -> None:
        """Start :meth:`watch` in the background (at most once)."""
        if self._task is None:
            self._task = asyncio.create_task(self.watch(), name="slack-auth-test")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def authorizer(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        """Bolt's ``authorize=``: the configured token, without a Web API call.

        A plain function, not this bound method: Bolt passes arguments by the names it reads
        off the callable, and would pass ``self`` too. The bot's own ids are filled in once
        ``auth.test`` has answered; until then they are unknown, which Vigil's listeners
        never need (they answer by ``response_url`` and post with the token).
        """

        async def authorize(
            enterprise_id: str | None, team_id: str | None, user_id: str | None
        ) -> AuthorizeResult:
            known = self.verified
            return AuthorizeResult(
                enterprise_id=enterprise_id or (known.enterprise_id if known else None),
                team_id=team_id or (known.team_id if known else None),
                bot_user_id=known.user_id if known else None,
                bot_id=known.bot_id if known else None,
                bot_token=self._client.token,
                bot_scopes=known.scopes if known else None,
                user_id=user_id,
            )

        return authorize


def _str(value: object) -> str | None:
    return str(value) if value else None
