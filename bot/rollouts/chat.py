"""Posting a rollout's story to every chat backend: its one message (the headline, edited in
place on Slack) and a line in its thread. Best effort per backend, like handoff notices:
Slack's own delivery is the outbox, retried there; a failure here is logged, never raised
into a look (the look's verdict is already recorded)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.chat.backend import ChatBackend
from bot.rollout.story import RolloutState, headline

log = logging.getLogger(__name__)


class RolloutChat:
    def __init__(self, senders: Callable[[], Sequence[ChatBackend]]) -> None:
        self._senders = senders

    async def say(self, state: RolloutState, line: str) -> None:
        """``line`` in the rollout's thread, its message redrawn to ``state``'s headline."""
        top = headline(state)
        for backend in self._senders():
            try:
                await backend.progress(state.key, top, line)
            except Exception:
                log.exception("rollout #%s: line not posted to %s", state.id, backend.name)
