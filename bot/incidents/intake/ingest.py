"""Alerts in, incidents out: the group commit of inbound posts.

One call handles one inbound post, and either every alert of the post is stored (and the
sender gets its 2xx) or none is (and the sender retries). Posts that arrive while an ingest
transaction runs are stored together by the next one (at most ``BATCH_ALERTS`` alerts), each
answered with its own outcomes; a batch the database refuses is retried post by post. What
one transaction does with its alerts (grouping, deduplication, classification) is
``bot.incidents.intake.apply``.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.clock import Clock, utcnow
from bot.incidents.intake.apply import IngestOutcome, PostApplier
from bot.incidents.intake.muting import Muter
from bot.incidents.reactions.changes import Notifier
from bot.incidents.settings import IncidentSettings
from bot.ingest.model import AlertIn
from bot.store.db import Database

BATCH_ALERTS = 1_000  # alerts in one group-committed transaction, at most
PG_BATCHES = 4  # ingest transactions at once on PostgreSQL
QUIET = 1.0  # seconds without a post before a storm's intake counts as over (busy)
STORM_POSTS = 3  # ingest transactions within QUIET that make a storm


@dataclass
class _Post:
    """One inbound post waiting for the transaction that stores it."""

    alerts: Sequence[AlertIn]
    done: asyncio.Future[list[IngestOutcome]]


def _settle(done: asyncio.Future[list[IngestOutcome]], exc: BaseException) -> None:
    if not done.done():
        done.set_exception(exc)


class AlertIngestor:
    """Applies validated ``AlertIn`` values to the incident store."""

    def __init__(
        self,
        db: Database,
        settings: IncidentSettings,
        *,
        notifier: Notifier,
        clock: Clock = utcnow,
    ) -> None:
        self._notifier = notifier
        self._applier = PostApplier(db, settings, notifier=notifier, clock=clock)
        self._waiting: list[_Post] = []
        self._storing = 0  # ingest transactions running now
        # Loop times the last ingest transactions ended (a storm is several within QUIET).
        self._stored_at: collections.deque[float] = collections.deque(maxlen=STORM_POSTS)
        # SQLite has one writer: one ingest transaction at a time. PostgreSQL runs a few at
        # once (their round trips overlap; incidents are locked in key order: no deadlock).
        self._turn = asyncio.Semaphore(1 if db.is_sqlite else PG_BATCHES)

    async def ingest(self, alerts: Sequence[AlertIn]) -> list[IngestOutcome]:
        """Store every alert of the post or none, and say what became of each.

        Group commit: posts that arrive while a transaction is running wait for it (on
        PostgreSQL, while :data:`PG_BATCHES` are), then the next of them stores all of them
        in one transaction (at most :data:`BATCH_ALERTS`
        alerts) and answers each. One ingest transaction at a time leaves the writer free in
        between for the rest (a page, a command), and a storm costs one commit per batch
        instead of one per post."""
        post = _Post(alerts, asyncio.get_running_loop().create_future())
        self._waiting.append(post)
        async with self._turn:
            while not post.done.done():
                batch: list[_Post] = []
                size = 0
                while self._waiting and (
                    not batch or size + len(self._waiting[0].alerts) <= BATCH_ALERTS
                ):
                    batch.append(self._waiting.pop(0))
                    size += len(batch[-1].alerts)
                self._storing += 1
                try:
                    await self._store(batch)
                except BaseException as exc:  # cancelled mid-batch: nobody is left waiting
                    for each in batch:
                        _settle(each.done, exc)
                    raise
                finally:
                    self._storing -= 1
                    self._stored_at.append(asyncio.get_running_loop().time())
        return await post.done

    def mute_with(self, muter: Muter) -> None:
        """Silences, maintenance windows and inhibition, consulted by every transaction from
        now on (``bot.silences``, above this room, so it is handed in)."""
        self._applier.muter = muter

    def busy(self) -> bool:
        """Are alerts being stored, waiting to be, or is a storm on (:data:`STORM_POSTS`
        transactions stored within the last :data:`QUIET` seconds)? (Slack's thread
        messages wait for a storm's intake: ``OutboxWorker.hold``.) The last second counts:
        between two posts of a storm the ingestor is idle for a moment, and thread messages
        let through in those gaps took a third of the CPU the intake needed (measured:
        730-1,000 alerts/s on SQLite without it, 1,100-1,160 with it, pages sooner too). A
        lone alert is no storm: its card goes out at once."""
        if self._storing > 0 or self._waiting:
            return True
        ends = self._stored_at  # the last STORM_POSTS, oldest first
        return len(ends) == STORM_POSTS and asyncio.get_running_loop().time() - ends[0] < QUIET

    async def _store(self, batch: list[_Post]) -> None:
        """One transaction for the whole batch; if it fails for another reason than a race,
        each post is tried alone, so one post the database refuses fails only itself."""
        alerts = [a for post in batch for a in post.alerts]
        try:
            outcomes, changes, staged = await self._applier.apply(alerts)
        except Exception as exc:
            if len(batch) > 1:
                for post in batch:
                    await self._store([post])
                return
            _settle(batch[0].done, exc)
            return
        await self._notifier.publish(changes, staged)
        start = 0
        for post in batch:
            end = start + len(post.alerts)
            if not post.done.done():
                post.done.set_result(outcomes[start:end])
            start = end
