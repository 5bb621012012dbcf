"""Team-channel notices on Slack (a handoff): an outbox row now, ``chat.postMessage`` later.

Why through the outbox rather than posting at once: the same delivery as every other Slack
message, so a notice written while Slack is down or rate-limiting is retried with the
outbox's backoff, survives a restart, and notices go out in the order they were written
(rows without an incident are one queue of their own, never held back by an incident's).
The deliverer posts it to the alerts channel, where the team looks.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.clock import Clock
from bot.outbox.tables import OutboxRow
from bot.store.db import Database

NOTICE = "notice"
"""The outbox ``kind`` of a notice; its payload is ``{"text": …}``."""
PROGRESS = "progress"
"""The outbox ``kind`` of a long process's line (a rollout's step): ``{"key", "headline",
"line"}``; one message per key, edited to the headline, the line in its thread."""


class NoticeQueue:
    """Writes notices to the outbox and wakes the worker to send them."""

    def __init__(self, db: Database, *, clock: Clock, wake: Callable[[], None]) -> None:
        self._db = db
        self._clock = clock
        self._wake = wake

    async def put(self, text: str) -> None:
        """Queue ``text`` for the team channel; committed when this returns."""
        await self._queue(NOTICE, {"text": text})

    async def put_progress(self, key: str, headline: str, line: str) -> None:
        """Queue a process's line: its message (by ``key``) redrawn, ``line`` in its thread.
        In the notices' one queue, so a rollout's lines go out in order."""
        await self._queue(PROGRESS, {"key": key, "headline": headline, "line": line})

    async def _queue(self, kind: str, payload: dict[str, str]) -> None:
        at = self._clock()
        async with self._db.session() as s, s.begin():
            s.add(
                OutboxRow(
                    incident_id=None,
                    kind=kind,
                    payload=payload,
                    created_at=at,
                    next_attempt_at=at,
                )
            )
        self._wake()
