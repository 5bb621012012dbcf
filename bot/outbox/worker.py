"""The outbox worker: sends what is due, in order per incident, once, surviving restarts.

Why it works this way:

- **In order per queue (head of line), queues side by side.** A queue is an incident's
  thread (kind ``timeline``) or its page DMs (kind ``page``: a DM must not wait behind the
  thread's replies); rows without an incident form one queue per kind. Only the oldest
  unfinished row (neither sent nor given up) of each queue may be attempted; a message that
  keeps failing holds back the later messages of its own queue, never another's. Ids give
  the order: the services lock the incident row while they add its events, so an
  incident's ids are committed in the order they were allocated. The heads of different
  queues go out together (:data:`PARALLEL` at most).
- **Claim before send.** A worker first moves the due heads' ``next_attempt_at`` a lease
  into the future with one ``UPDATE … WHERE id IN (…) AND next_attempt_at <= now`` (and
  still unfinished) ``RETURNING`` each won row's attempt number and payload, and sends only
  those rows, as returned (an alert line may have joined a row until its claim:
  ``bot.outbox.feed``). The UPDATE is atomic on both databases (SQLite serialises writers;
  PostgreSQL re-checks the WHERE after the row lock), so two workers, in one process or two,
  never send the same row concurrently, and the claimed head also holds back its incident's
  later rows on the other worker.
- **Once, across a kill -9.** The claim, the send and the marking are three steps, no
  transaction is held open while Slack is called (a slow Slack must not block SQLite
  writers). A worker that dies after Slack accepted a message but before marking it sent
  leaves the row claimed; when the lease ends it is attempted again, with ``attempts``
  saying so, and the deliverer makes that attempt safe: ``chat.update`` is idempotent, and
  every posted message carries ``metadata`` with the outbox id, which a later attempt looks
  for before posting (``bot.chat.slack.outbound``). So a kill at any moment leaves neither a
  gap nor a duplicate.
- **A short lease, renewed.** The lease is ``LEASE`` (15 s) and is renewed every third of
  it while the delivery is in flight, so a slow Slack (each Web API call may take up to its
  10 s timeout, a delivery makes several) is never claimed twice, and a row whose worker
  died waits at most 15 s, not the 2 minutes of the old fixed lease (a reply sent twice
  "about two minutes later").
- **Never stuck, never a hot loop.** A deliverer that raises is treated as a temporary
  failure (logged with the exception's type only); a Retry of a message older than
  ``max_age`` becomes a GiveUp (:func:`bot.outbox.retry.enforce_max_age`); a row is tried at
  most once per :meth:`OutboxWorker.run_once`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import func, update
from sqlmodel import col, select

from bot.core.clock import Clock
from bot.core.retry_outcome import Delivered, GiveUp, Outcome, Retry
from bot.outbox.retry import MAX_AGE, backoff, enforce_max_age
from bot.outbox.tables import PAGE, UNFINISHED, OutboxRow
from bot.store.db import Database

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=15)
POLL = timedelta(seconds=1)
PARALLEL = 8  # queues whose head rows are delivered at once
HOLD_MAX = 5.0  # seconds thread messages wait for a storm's intake, at most, before a look
HOLD_POLL = 0.25  # seconds between looks while thread messages are held
_MIN_WAIT = 0.05  # seconds; the run loop never spins faster than this


@dataclass(frozen=True)
class OutboxItem:
    """A copy of one outbox row handed to a deliverer; ``attempts`` counts this one (1 = first)."""

    id: int
    incident_id: int | None
    kind: str
    payload: Mapping[str, Any]
    created_at: datetime
    attempts: int

    @classmethod
    def of(cls, row: OutboxRow, *, attempts: int) -> OutboxItem:
        assert row.id is not None
        return cls(row.id, row.incident_id, row.kind, dict(row.payload), row.created_at, attempts)


class Deliverer(Protocol):
    """Sends one message to a chat and says how it went; must not raise for chat failures."""

    async def deliver(self, item: OutboxItem) -> Outcome: ...


class _Head(NamedTuple):
    """The head of one queue: which row, and which queue (incident and kind) it heads."""

    id: int
    incident_id: int | None
    kind: str


class OutboxWorker:
    """Delivers outbox rows through one :class:`Deliverer`; see the module docstring."""

    def __init__(
        self,
        db: Database,
        deliverer: Deliverer,
        *,
        clock: Clock,
        lease: timedelta = LEASE,
        max_age: timedelta = MAX_AGE,
        poll: timedelta = POLL,
    ) -> None:
        self._db = db
        self._deliverer = deliverer
        self._clock = clock
        self._lease = lease
        self._max_age = max_age
        self._poll = poll
        self._wake = asyncio.Event()
        self.renewed = asyncio.Event()  # set at each lease renewal: what a waiter listens for
        # Says when alert intake is busy (``vigil serve`` sets the ingestor's): thread
        # messages then wait (page DMs never do), at most HOLD_MAX at a time; see _holding.
        self.hold: Callable[[], bool] = lambda: False
        self._held_since: float | None = None
        self._held = False  # the last run left thread messages waiting for the intake

    def wake(self) -> None:
        """Look for due rows now (the feed calls this after a commit that enqueued some)."""
        self._wake.set()

    async def run_once(self, now: datetime | None = None) -> int:
        """Attempt every row due at ``now`` (default: the clock) that heads its queue, again
        and again as heads finish; returns how many attempts were made.

        A pipeline of :data:`PARALLEL` queues: as soon as one delivery ends, the next due
        head starts (page DMs first), claimed in one statement with the others found with
        it. One incident's storm of thread replies, or a slow Slack answer, never holds back
        another queue, and a DM written meanwhile goes out at the next free slot, not after
        the whole round."""
        self._held = False
        fixed = now  # a test's moment; otherwise the clock, read at each look (a DM written
        # while this runs is due at once, not after the run: a storm's run lasts seconds)
        tried: set[int] = set()
        running: dict[tuple[int | None, str], asyncio.Task[None]] = {}
        changed = asyncio.Event()
        failed: list[BaseException] = []  # a delivery that raised (the database): re-raised
        made = 0

        def finished(key: tuple[int | None, str], task: asyncio.Task[None]) -> None:
            running.pop(key, None)
            changed.set()
            if not task.cancelled() and task.exception() is not None:
                failed.append(task.exception())  # type: ignore[arg-type]

        try:
            while True:
                changed.clear()
                now = fixed or self._clock()
                started = 0
                free = PARALLEL - len(running)
                if free > 0:
                    heads = [
                        row
                        for row in await self._due_heads(now)
                        if row.id not in tried and (row.incident_id, row.kind) not in running
                    ]
                    if self._holding():  # intake first: only DMs, the thread waits
                        self._held = self._held or any(r.kind != PAGE for r in heads)
                        heads = [r for r in heads if r.kind == PAGE]
                    heads = sorted(heads, key=lambda r: (r.kind != PAGE, r.id))[:free]
                    tried.update(row.id for row in heads)
                    won = await self._claim([row.id for row in heads], now)
                    for row in heads:
                        item = won.get(row.id)
                        if item is None:
                            continue  # another worker has it, or it is done
                        key = (row.incident_id, row.kind)
                        task = asyncio.create_task(self._attempt(item, now))
                        running[key] = task
                        task.add_done_callback(functools.partial(finished, key))
                        started += 1
                    made += started
                if not running and not started and not changed.is_set():
                    return made  # (a delivery that ended during the look may have a next)
                if running:
                    await changed.wait()
                if failed:
                    raise failed[0]
        finally:
            for task in running.values():  # cancelled: the lease lapses, the row is retried
                task.cancel()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set: run_once, then wait for the next due row (at most
        ``poll``), a :meth:`wake` or ``stop``. Database errors are logged and retried."""
        while not stop.is_set():
            wait = self._poll.total_seconds()
            self._wake.clear()  # before looking: a commit during the round must wake us again
            try:
                await self.run_once()
                due = await self.next_due()
                if due is not None:
                    wait = min(wait, (due - self._clock()).total_seconds())
            except Exception:
                log.exception("outbox: delivery round failed; trying again")
            if self._held:  # due but held for the intake: look again shortly, not at each
                with contextlib.suppress(asyncio.TimeoutError):  # commit of the storm
                    await asyncio.wait_for(stop.wait(), HOLD_POLL)
                continue
            waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())}
            try:
                await asyncio.wait(
                    waiters, timeout=max(wait, _MIN_WAIT), return_when="FIRST_COMPLETED"
                )
            finally:
                for waiter in waiters:
                    waiter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await waiter

    async def pending(self) -> int:
        """How many rows are neither sent nor given up (the outbox depth, for /metrics)."""
        async with self._db.read() as s, s.begin():
            stmt = select(func.count()).select_from(OutboxRow).where(*UNFINISHED)
            return int((await s.exec(stmt)).one())

    async def next_due(self) -> datetime | None:
        """When the earliest queue head becomes due (None when the outbox is empty)."""
        async with self._db.read() as s, s.begin():
            stmt = select(func.min(col(OutboxRow.next_attempt_at))).where(
                col(OutboxRow.id).in_(self._heads())
            )
            return (await s.exec(stmt)).one()

    # -- internals -------------------------------------------------------------------------

    def _holding(self) -> bool:
        """Hold thread messages now? While alerts pour in, the storm is stored first and the
        thread's lines wait (joining into fewer replies, ``bot.outbox.feed``); every
        :data:`HOLD_MAX` seconds of a storm that does not stop, one look lets them go."""
        if not self.hold():
            self._held_since = None
            return False
        clock = asyncio.get_running_loop().time()
        if self._held_since is None:
            self._held_since = clock
        if clock - self._held_since >= HOLD_MAX:
            self._held_since = clock
            return False
        return True

    @staticmethod
    def _heads() -> Any:
        """The id of the oldest unfinished row of each queue: one per incident and kind (its
        thread's entries; its page DMs), NULL incidents one per kind."""
        return (
            select(func.min(col(OutboxRow.id)))
            .where(*UNFINISHED)
            .group_by(col(OutboxRow.incident_id), col(OutboxRow.kind))
        )

    async def _due_heads(self, now: datetime) -> list[_Head]:
        """The due heads, without their payloads: the claim returns the rows it wins whole
        (a payload read here would be read again, and may have grown by then)."""
        async with self._db.read() as s, s.begin():
            stmt = (
                select(OutboxRow.id, OutboxRow.incident_id, OutboxRow.kind)
                .where(col(OutboxRow.id).in_(self._heads()), col(OutboxRow.next_attempt_at) <= now)
                .order_by(col(OutboxRow.id))
            )
            return [_Head(int(i or 0), incident, kind) for i, incident, kind in await s.exec(stmt)]

    async def _claim(self, row_ids: list[int], now: datetime) -> dict[int, OutboxItem]:
        """Lease the rows still due and unfinished; each one won as it is now (a row another
        worker has, or that is done, is left out)."""
        if not row_ids:
            return {}
        stmt = (
            update(OutboxRow)
            .where(col(OutboxRow.id).in_(row_ids), col(OutboxRow.next_attempt_at) <= now)
            .where(*UNFINISHED)
            .values(next_attempt_at=now + self._lease, attempts=col(OutboxRow.attempts) + 1)
            .returning(OutboxRow)
        )
        async with self._db.session() as s, s.begin():
            won = (await s.exec(stmt)).scalars().all()
            return {int(r.id or 0): OutboxItem.of(r, attempts=r.attempts) for r in won}

    async def _deliver(self, item: OutboxItem) -> Outcome:
        """The deliverer's outcome, renewing this worker's lease while it is in flight."""
        delivery = asyncio.ensure_future(self._deliverer.deliver(item))
        try:
            while True:
                done, _ = await asyncio.wait({delivery}, timeout=self._lease.total_seconds() / 3)
                if done:
                    return delivery.result()
                await self._renew(item)
        finally:
            if not delivery.done():  # the worker itself is being cancelled
                delivery.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await delivery

    async def _renew(self, item: OutboxItem) -> None:
        """Move our claim's lease on (only while the row is still ours: same attempt)."""
        stmt = (
            update(OutboxRow)
            .where(
                col(OutboxRow.id) == item.id,
                col(OutboxRow.attempts) == item.attempts,
                *UNFINISHED,
            )
            .values(next_attempt_at=self._clock() + self._lease)
        )
        try:
            async with self._db.session() as s, s.begin():
                await s.exec(stmt)
            self.renewed.set()
        except Exception as exc:  # the delivery goes on; the lease may lapse
            log.warning("outbox %d: lease not renewed (%s)", item.id, type(exc).__name__)

    async def _attempt(self, item: OutboxItem, now: datetime) -> None:
        try:
            outcome = await self._deliver(item)
        except Exception as exc:
            log.warning("outbox %d: deliverer raised %s", item.id, type(exc).__name__)
            log.debug("outbox %d: deliverer traceback", item.id, exc_info=True)
            outcome = Retry(f"deliverer raised {type(exc).__name__}", backoff(item.attempts))
        outcome = enforce_max_age(outcome, age=now - item.created_at, max_age=self._max_age)
        values: dict[str, Any]
        if isinstance(outcome, Delivered):
            values = {"sent_at": now}
        elif isinstance(outcome, Retry):
            after = backoff(item.attempts) if outcome.after is None else outcome.after
            log.info(
                "outbox %d: attempt %d failed (%s); retry in %s",
                item.id,
                item.attempts,
                outcome.reason,
                after,
            )
            values = {"next_attempt_at": now + after, "last_error": outcome.reason}
        else:
            assert isinstance(outcome, GiveUp)
            log.error(
                "outbox %d (incident %s, %s): given up after %d attempts: %s",
                item.id,
                item.incident_id,
                item.kind,
                item.attempts,
                outcome.reason,
            )
            values = {"given_up_at": now, "last_error": outcome.reason}
        stmt = update(OutboxRow).where(col(OutboxRow.id) == item.id, *UNFINISHED).values(**values)
        async with self._db.session() as s, s.begin():
            await s.exec(stmt)
