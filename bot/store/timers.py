"""Durable timers (escalations, SLA checks, snooze ends, handoffs, auto-resolve, notify
retries): rows of Vigil's own ``timers`` table, run by a small loop of this module.

Why this shape:

- **Durable.** Every timer is a row of ``timers`` (migration 0012) in the same database as
  the incidents, so stopping the process with escalations pending and starting it again
  loses nothing: a timer whose time passed while Vigil was down fires once, as soon as the
  loop starts; the others fire on time.
- **Plain rows.** A row is ``(key, kind, due_at, payload, attempt, token)``, the payload
  JSON text: any later process (and version) reads it, nothing is pickled or imported from
  a stored name. The handler is looked up by ``kind`` in the :class:`Timers` that read the
  row (``register("escalate", handler)``): this module never imports incident code, and
  there is no process-global registry.
- **Why not APScheduler.** These timers were APScheduler 3 jobs once. Its job store can
  neither claim a row nor lease it, so running it on several processes meant subclassing
  its executor, its scheduler loop and its store's SQL, a second synchronous engine (and
  driver) for its reads, and pickles written "as the store would". The claim is the point
  of this module, so the loop is ours (one query, one sleep); APScheduler still does what
  it does plainly, the rule groups' interval and cron cadence (``bot.rules.cadence``).
- **Fires once; a kill, again.** Whoever runs a timer first *claims* it: an ``UPDATE`` of
  the row as it was read (its ``token``, new at every write) moving ``due_at``
  :data:`LEASE` ahead and writing a new token; only the process whose ``UPDATE`` matched
  runs the timer (PostgreSQL lets exactly one of two concurrent updates of a row see it as
  read; SQLite has one writer). The row is deleted once the handler has run, by that
  token, so a timer the handler set anew under the same key (the next escalation step)
  stays. A process killed between the claim and the end of the handler leaves the row,
  due again when the lease ends, so the escalation step it was paging is paged by the next
  process. Handlers are written to be run again (a page is one unique row). A handler
  that raises is logged and run again later (see :meth:`Timers._retry`).
- **Two processes, no leader.** Each process's loop sleeps until the earliest due time, at
  most ``poll`` (default 5 s, ``timer_poll``), or until woken: by a commit of this process
  that wrote a timer, or by another process's (PostgreSQL ``NOTIFY``, ``bot.store.wakeups``). A
  timer scheduled by a replica that then died is run by another within ``poll`` of its
  time. No advisory lock, no leader: nothing to hand over.
- **Injectable time.** Tests and ``vigil demo`` start the timers paused and call
  ``run_due(now)``, which runs every timer with ``due_at <= now`` in time order; nothing
  sleeps waiting for a timer.
- **Written with the change that needs it.** :meth:`Timers.schedule_in` writes a timer row
  in the caller's open transaction (the escalation step of a page, an SLA check): both
  commit or neither does, so no committed change can be left without its follow-up.
- **One writer, one engine.** Every write (schedule, cancel, claim) goes through Vigil's
  own :class:`bot.store.db.Database` writer, the same queue as every other write of this process,
  so on SQLite a timer never waits for a busy timeout behind a storm of alerts; reads go
  through its read sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.orm import Session as OrmSession
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import Clock
from bot.store.db import Database
from bot.store.tables import TIMERS_TABLE, timers_table
from bot.store.timer_rows import Due, Pending, TimerRows

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]
_KEY_MAX = 191  # the key column: String(191)
_KIND_MAX = 64
BATCH = 100  # due rows the loop reads at a time (the rest on its next turn, at once)
RETRIES = 8  # a failing handler runs again this many times, RETRY_FIRST doubling each time
LEASE = timedelta(seconds=30)  # a claimed timer not done by then is run again (a kill)
RETRY_FIRST = timedelta(seconds=5)
RETRY_MAX = timedelta(minutes=5)
_WAKE = "vigil.timers_written"


class Timers:
    """Named one-shot timers that survive restarts; see the module docstring for why."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock,
        tablename: str = TIMERS_TABLE.name,
        poll: timedelta = timedelta(seconds=5),
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        # Vigil's own table (migration 0012), or one of another name created at start().
        self._t = (
            TIMERS_TABLE if tablename == TIMERS_TABLE.name else timers_table(tablename, MetaData())
        )
        self.rows = TimerRows(db, self._t)  # its statements (a test plays a replica with them)
        self._poll = poll.total_seconds()
        self._on_failure = on_failure  # told the kind of each handler that raised (metrics)
        self._handlers: dict[str, Handler] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # handlers the loop started
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        self.looks = 0  # the loop's looks at the table so far (a stuck loop stays still)
        self._woken = asyncio.Event()
        db.on_after_commit(self._after_commit)

    def _after_commit(self, session: OrmSession) -> None:
        """A commit that wrote a timer wakes the loop: the timer may be due now."""
        if session.info.pop(_WAKE, False):
            self.wake()

    def wake(self) -> None:
        """Read the timer table now (another process wrote a timer: ``bot.store.wakeups``)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._woken.set)

    def register(self, kind: str, handler: Handler) -> None:
        """Name the coroutine that runs timers of ``kind``; all of them before :meth:`start`.

        Afterwards is refused: a timer overdue at start would fire before its handler exists.
        """
        if self._loop is not None:
            raise RuntimeError("register every timer handler before Timers.start()")
        if kind in self._handlers:
            raise ValueError(f"a handler for timer kind {kind!r} is already registered")
        if not kind or len(kind) > _KIND_MAX:
            raise ValueError(f"timer kind must be 1 to {_KIND_MAX} characters")
        self._handlers[kind] = handler

    async def start(self, *, paused: bool = False) -> None:
        """Accept timers (creating a table of another name than ``timers``) and, unless
        paused, run the loop that fires them.

        ``paused=True`` is for an injected clock: nothing fires except through
        :meth:`run_due`. Overdue timers fire as soon as an unpaused loop starts.
        """
        if self._t is not TIMERS_TABLE:
            async with self._db.engine.begin() as conn:
                await conn.run_sync(self._t.metadata.create_all)
        self._loop = asyncio.get_running_loop()
        if not paused:
            self._runner = self._loop.create_task(self._run_loop(), name="timers")

    async def stop(self) -> None:
        """Stop the loop and let handlers already running finish."""
        if self._runner is not None:
            # Not cancelled: a look ends between two statements, never inside a claim's
            # transaction (on SQLite, the one writer connection every write queues for).
            self._stopping = True
            self._woken.set()
            await self._runner
            self._runner = None
            self._stopping = False
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._loop = None

    async def schedule(self, kind: str, key: str, at: datetime, payload: dict[str, Any]) -> None:
        """Fire ``kind``'s handler with ``payload`` at ``at``; the same ``key`` replaces.

        Idempotent on ``key``: a retried schedule leaves one timer, so it never double-pages.
        Keys are hierarchical by convention (``incident:12:escalate``) for :meth:`cancel_prefix`.
        """
        async with self._db.session() as s, s.begin():
            await self.schedule_in(s, kind, key, at, payload)

    async def schedule_in(
        self,
        session: AsyncSession,
        kind: str,
        key: str,
        at: datetime,
        payload: dict[str, Any],
        *,
        attempt: int = 0,
    ) -> None:
        """:meth:`schedule` inside the caller's transaction: the timer commits with the change
        that needs it, or not at all."""
        self._require_started()
        if kind not in self._handlers:
            raise ValueError(f"no handler registered for timer kind {kind!r}")
        if not key or len(key) > _KEY_MAX:
            raise ValueError(f"timer key must be 1 to {_KEY_MAX} characters")
        if at.tzinfo is None:
            raise ValueError("timer time must be timezone-aware")
        text = json.dumps(payload, allow_nan=False)
        if json.loads(text) != payload:
            raise ValueError("timer payload must be plain JSON (string keys, lists, no tuples)")
        await self.rows.write(session, kind, key, at, text, attempt)
        session.sync_session.info[_WAKE] = True

    async def cancel(self, key: str) -> bool:
        """Forget one timer; False when there was none (already fired or cancelled)."""
        self._require_started()
        return await self.rows.remove(key)

    async def cancel_prefix(self, prefix: str) -> int:
        """Forget every timer whose key starts with ``prefix`` in one statement; how many."""
        self._require_started()
        if not prefix:
            raise ValueError("an empty prefix would cancel every timer")
        return await self.rows.remove_prefix(prefix)

    async def pending(self) -> list[Pending]:
        """Every timer not yet fired (a claimed one at its lease's end), earliest first."""
        self._require_started()
        return await self.rows.pending()

    async def run_due(self, now: datetime | None = None) -> int:
        """Run every timer with ``at <= now`` (default: the clock), earliest first; how many.

        Each is claimed before its handler runs, so it runs once even if the loop or another
        process looks at the same row. Timers that handlers schedule at or before ``now``
        run in the same call. A failing handler is logged and counted.
        """
        self._require_started()
        now = now or self._clock()
        ran = 0
        while True:
            due = await self.rows.due(now, 1)
            if not due:
                return ran
            token = await self.rows.claim(due[0], self._clock() + LEASE)
            if token is not None:
                await self._run(due[0], token)
                ran += 1

    # -- internals -------------------------------------------------------------------------

    def _require_started(self) -> None:
        if self._loop is None:
            raise RuntimeError("Timers.start() first: timers are not running")

    async def _run_loop(self) -> None:
        """Until stopped: claim what is due, start its handlers, sleep until the next due
        time, ``poll`` or a wake-up, whichever comes first."""
        while not self._stopping:
            self._woken.clear()
            try:
                wait = await self._turn()
            except Exception:  # a read or a claim that failed: look again, never stop
                log.exception("timers: could not read or claim due timers; looking again soon")
                wait = self._poll
            if wait > 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), wait)

    async def _turn(self) -> float:
        """One look at the table: claim each due row, run its handler as a task of its own
        (a slow page never holds up the next timer); seconds until the next look."""
        due = await self.rows.due(self._clock(), BATCH)
        claimed = [await self._claim_and_run(row) for row in due]
        if False in claimed:
            return self._poll  # the database refused a claim: not again at once
        if len(due) == BATCH:
            return 0.0  # more were due than one batch: the rest now
        nxt = await self.rows.next_due()
        self.looks += 1
        if nxt is None:
            return self._poll
        return max(0.0, min(self._poll, (nxt - self._clock()).total_seconds()))

    async def _claim_and_run(self, due: Due) -> bool | None:
        """Claim ``due``; if won, start its handler in a task (``self._tasks``). True when
        claimed, None when another process was first, False when the claim failed."""
        try:
            token = await self.rows.claim(due, self._clock() + LEASE)
        except Exception:
            log.exception("timer %s: could not claim it; it stays pending", due.key)
            return False
        if token is None or self._loop is None:
            return None
        task = self._loop.create_task(self._run(due, token), name=f"timer {due.key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(self, due: Due, token: str) -> None:
        kind, key = due.kind, due.key
        handler = self._handlers.get(kind)
        if handler is None:
            log.error("timer %s: no handler for kind %r; dropped: %s", key, kind, due.payload)
            with contextlib.suppress(Exception):  # left leased, it comes back: dropped again
                await self.rows.done(key, token)
            return
        payload: dict[str, Any] = json.loads(due.payload)
        late = (self._clock() - due.at).total_seconds()
        log.info("timer %s (%s) firing, due %s, %.0f s late", key, kind, due.at.isoformat(), late)
        try:
            await handler(payload)
        except Exception:
            if self._on_failure is not None:
                self._on_failure(kind)
            await self._retry(kind, key, payload, due.attempt, token)
            return
        try:
            await self.rows.done(key, token)
        except Exception:  # the row stays leased: it runs again when the lease ends
            log.exception("timer %s (%s) ran, but its row could not be removed", key, kind)

    async def _retry(
        self, kind: str, key: str, payload: dict[str, Any], attempt: int, token: str
    ) -> None:
        """Run a failed timer again later (5 s, doubling to 5 min, :data:`RETRIES` times),
        unless its handler already scheduled a newer one under the same key, or someone
        cancelled it meanwhile: a page that met a full disk or a lost connection must not be
        dropped."""
        if attempt >= RETRIES:
            log.exception("timer %s (%s) failed %d times; giving up", key, kind, attempt + 1)
            with contextlib.suppress(Exception):
                await self.rows.done(key, token)
            return
        wait = min(RETRY_FIRST * 2**attempt, RETRY_MAX)
        log.exception("timer %s (%s) failed; trying again in %s", key, kind, wait)
        try:
            async with self._db.session() as s, s.begin():
                if await self.rows.still_ours(s, key, token):  # not set anew, not cancelled
                    at = self._clock() + wait
                    await self.schedule_in(s, kind, key, at, payload, attempt=attempt + 1)
        except Exception:
            log.exception("timer %s (%s): could not schedule its retry", key, kind)
