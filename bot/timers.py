"""Durable timers (escalations, later SLA checks) on APScheduler 3, stored in Vigil's database.

Why this shape:

- **Durable.** Every timer is a row in ``vigil_timers`` (APScheduler's ``SQLAlchemyJobStore``)
  in the same database as the incidents, so stopping the process with escalations pending
  and starting it again loses nothing: a timer whose time passed while Vigil was down fires
  once, as soon as the scheduler starts; the others fire on time.
- **Restart-proof records.** A row holds the textual reference ``bot.scheduler:_fire`` and
  JSON-able arguments ``(kind, key, payload)``, never a bound method or closure, so any
  later process (and version) can read it. That address keeps this module's old name on
  purpose: APScheduler imports it for every row it reads and deletes the rows it cannot
  (pending escalations lost), so ``bot/scheduler.py`` stays, holding only ``_fire``. The
  handler is looked up by ``kind`` in the :class:`Timers` that read the row
  (``register("escalate", handler)``): this module never imports incident code, and there
  is no process-global registry.
- **Fires once.** Whoever runs a timer first deletes its row and runs it only if that
  ``DELETE`` removed a row (the *claim*). The delete names the key *and* the due time read,
  so a stale read can never claim the newer timer a handler re-scheduled under the same key.
  APScheduler's own loop (through :class:`_Claimer`, our executor) and
  :meth:`Timers.run_due` both claim, so a timer run by one is never run by the other. A
  handler that raises is logged and run again later (see :meth:`Timers._retry`).
- **Injectable time.** APScheduler 3 reads the real clock. Tests and ``vigil demo`` start
  the scheduler paused and call ``run_due(now)``, which runs every timer with ``at <= now``
  in time order; nothing sleeps waiting for a timer.
- **Two processes, once each; a kill, again.** Two Vigils on one database both run
  APScheduler loops over the same rows. The claim is a row lock in effect: an ``UPDATE`` of
  the timer's row as it was read, moving its due time :data:`LEASE` ahead, and only the
  process whose ``UPDATE`` matched runs the timer (PostgreSQL lets exactly one of two
  concurrent updates of a row see it as read). The row is deleted once the handler has
  run (unless the handler set the key anew). A process killed between the claim and the
  end of the handler leaves the row, due again when the lease ends, so the escalation step
  it was paging is paged by the next process: the claim used to be a ``DELETE``, and a
  kill -9 in that window lost the step for good (seen: a storm with kills, three level-2
  pages never sent). Handlers are written to be run again (a page is one unique row).
  Each loop also looks at the table at least
  every ``poll`` (default 5 s), since APScheduler 3 only re-reads its store when it expects
  one of its own jobs: a timer scheduled by a replica that then died is run by the other
  within ``poll`` of its time. No advisory lock, no leader: nothing to hand over.

- **Written with the change that needs it.** :meth:`Timers.schedule_in` writes a timer row in
  the caller's open transaction (the escalation step of a page, an SLA check): both commit or
  neither does, so no committed change can be left without its follow-up.
- **One writer.** Every write (schedule, cancel, claim) goes through Vigil's own
  :class:`bot.db.Database` writer, the same queue as every other write of this process, so on
  SQLite a timer never waits for a busy timeout behind a storm of alerts (that lost pages).

APScheduler 3's job store is synchronous SQLAlchemy, so it gets its own sync engine on the
same database (``sqlite:///…`` or ``postgresql+psycopg://…``), used for reading only: its
loop looks for due rows there (in a worker thread for our own calls, on the event loop for
APScheduler's wake-ups; reads never wait for a writer in WAL mode or on PostgreSQL). The rows
we write are pickled exactly as the store itself would write them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import pickle
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from apscheduler.executors.base import BaseExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_STOPPED, BaseScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.db import Database, normalise_url, redact_url
from bot.errors import ConfigError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]
FIRE_REF = "bot.scheduler:_fire"  # stored in every row: never change it (see above)
_STORE = "default"
_KEY_MAX = 191  # APScheduler's id column: Unicode(191)
CLAIM_PAUSE = 0.05  # seconds the loop waits while a claim is in flight (see _process_jobs)
RETRIES = 8  # a failing handler runs again this many times, RETRY_FIRST doubling each time
LEASE = timedelta(seconds=30)  # a claimed timer not done by then is run again (a kill)
RETRY_FIRST = timedelta(seconds=5)
RETRY_MAX = timedelta(minutes=5)
_WAKE = "vigil.timers_written"
_SYNC_DRIVERS = {"sqlite+aiosqlite": "sqlite", "postgresql+asyncpg": "postgresql+psycopg"}
_SSL_TO_SSLMODE = {"true": "require", "false": "disable"}


class Pending(NamedTuple):
    key: str
    kind: str
    at: datetime


def sync_url(url: str) -> str:
    """Vigil's async database URL → the sync one APScheduler's job store needs.

    asyncpg's ``ssl=`` query option becomes psycopg's ``sslmode=``; other options pass as-is.
    """
    parsed = make_url(normalise_url(url))
    driver = _SYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ConfigError(
            f"timers need SQLite or PostgreSQL, not {parsed.drivername}",
            where=redact_url(url),
            key="database_url",
        )
    query = dict(parsed.query)
    if "ssl" in query and "sslmode" not in query:
        ssl = query.pop("ssl")
        value = ssl if isinstance(ssl, str) else ssl[0]
        query["sslmode"] = _SSL_TO_SSLMODE.get(value.lower(), value)
    return parsed.set(drivername=driver, query=query).render_as_string(hide_password=False)


class _Claimer(BaseExecutor):  # type: ignore[misc]
    """APScheduler executor that claims each due timer, then runs it through Timers."""

    def __init__(self, timers: Timers) -> None:
        super().__init__()
        self._timers = timers

    def submit_job(self, job: Any, run_times: list[datetime]) -> None:
        self._timers._submit(job)

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        self._timers._submit(job)


class _Scheduler(AsyncIOScheduler):  # type: ignore[misc]
    """AsyncIOScheduler that tolerates rows already claimed, and stops synchronously."""

    def remove_job(self, job_id: str, jobstore: str | None = None) -> None:
        # After submitting a one-shot job APScheduler deletes its row by id. Our claim leases
        # the version it read and deletes it once run; deleting by id here could remove a
        # *newer* timer under the same key (a handler re-scheduled it meanwhile), so don't.
        return

    def stop_now(self) -> None:
        # AsyncIOScheduler.shutdown defers to the next loop turn; we are on the loop already,
        # and the caller must know the job store is closed when stop() returns.
        BaseScheduler.shutdown(self, wait=False)
        self._stop_timer()

    poll: float = 5.0  # seconds; set by Timers
    claiming: Callable[[], bool] = staticmethod(lambda: False)  # set by Timers

    def _process_jobs(self) -> float | None:
        # APScheduler sleeps until its next known job (forever with none); a replica must
        # also see rows another process wrote, so never sleep longer than ``poll``.
        wait: float | None = super()._process_jobs()
        if self.state == STATE_PAUSED:
            return wait
        wait = self.poll if wait is None else min(wait, self.poll)
        if self.claiming():
            # A due row stays due until its claim (a task of its own) leases it,
            # so APScheduler would look again at once, and again: pause a little instead.
            wait = max(wait, CLAIM_PAUSE)
        return wait

    _wake_queued = False  # one look at the job store answers every wake-up asked before it

    def wakeup(self) -> None:
        # Wake-ups come in pairs in a split serve's worker (its own commit, then the NOTIFY
        # of it), and each look is two synchronous reads of the job store on the loop.
        if self._eventloop is not None and not self._wake_queued:
            self._wake_queued = True
            self._eventloop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._wake_queued = False
        # A wake-up queued just before stop() must not touch the closed job store.
        if self.state != STATE_STOPPED:
            self._stop_timer()
            try:
                wait = self._process_jobs()
            except Exception:  # a read of the job store that failed: look again, never stop
                log.exception("timers: could not read the pending timers; looking again soon")
                wait = self.poll
            self._start_timer(wait)


class Timers:
    """Named one-shot timers that survive restarts; see the module docstring for why."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock,
        tablename: str = "vigil_timers",
        poll: timedelta = timedelta(seconds=5),
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._on_failure = on_failure  # told the kind of each handler that raised (metrics)
        url = sync_url(db.url)
        options: dict[str, Any] = {"hide_parameters": True}
        if url.startswith("sqlite"):
            options["connect_args"] = {"timeout": 10}
        else:
            options["pool_pre_ping"] = True
        self._store = SQLAlchemyJobStore(url=url, tablename=tablename, engine_options=options)
        self._handlers: dict[str, Handler] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._claiming: set[tuple[str, datetime]] = set()  # (key, due) claims in flight
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduler = _Scheduler(
            jobstores={_STORE: self._store},
            executors={_STORE: _Claimer(self)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=UTC,
        )
        self._scheduler.poll = poll.total_seconds()
        self._scheduler.claiming = lambda: bool(self._claiming)
        db.on_after_commit(self._after_commit)

    def _after_commit(self, session: OrmSession) -> None:
        """A commit that wrote a timer wakes the loop: the timer may be due now."""
        if session.info.pop(_WAKE, False) and self._loop is not None:
            self._scheduler.wakeup()

    def wake(self) -> None:
        """Read the timer table now (another process wrote a timer: ``bot.wakeups``)."""
        if self._loop is not None:
            self._scheduler.wakeup()

    def register(self, kind: str, handler: Handler) -> None:
        """Name the coroutine that runs timers of ``kind``; all of them before :meth:`start`.

        Afterwards is refused: a timer overdue at start would fire before its handler exists.
        """
        if self._loop is not None:
            raise RuntimeError("register every timer handler before Timers.start()")
        if kind in self._handlers:
            raise ValueError(f"a handler for timer kind {kind!r} is already registered")
        self._handlers[kind] = handler

    async def start(self, *, paused: bool = False) -> None:
        """Open the job store (creating its table) and, unless paused, run APScheduler's loop.

        ``paused=True`` is for an injected clock: nothing fires except through
        :meth:`run_due`. Overdue timers fire as soon as an unpaused loop starts.
        """
        self._loop = asyncio.get_running_loop()
        self._scheduler.start(paused=paused)

    async def stop(self) -> None:
        """Stop the loop, let handlers already running finish, close the store's engine."""
        if self._scheduler.running:
            self._scheduler.stop_now()
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
        if json.loads(json.dumps(payload, allow_nan=False)) != payload:
            raise ValueError("timer payload must be plain JSON (string keys, lists, no tuples)")
        job = Job(
            self._scheduler,
            id=key,
            func=FIRE_REF,
            trigger=DateTrigger(run_date=at.astimezone(UTC), timezone=UTC),
            executor=_STORE,
            args=[kind, key, payload],
            kwargs={"attempt": attempt} if attempt else {},
            name=f"{kind} {key}",
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
            next_run_time=at.astimezone(UTC),
        )
        table = self._store.jobs_t
        state = pickle.dumps(job.__getstate__(), self._store.pickle_protocol)
        await session.exec(table.delete().where(table.c.id == key))
        await session.exec(
            table.insert().values(id=key, next_run_time=at.timestamp(), job_state=state)
        )
        session.sync_session.info[_WAKE] = True

    async def cancel(self, key: str) -> bool:
        """Forget one timer; False when there was none (already fired or cancelled)."""
        self._require_started()
        table = self._store.jobs_t
        # Looked up first on a read session: most cancels find nothing (a page delivered at
        # its first try cancels the retry it never needed), and a write would wait its turn
        # for SQLite's one writer, in a storm behind the alerts, for nothing.
        async with self._db.read() as s, s.begin():
            found = (await s.exec(select(table.c.id).where(table.c.id == key))).first()
        if found is None:
            return False
        async with self._db.session() as s, s.begin():
            result = await s.exec(table.delete().where(table.c.id == key))
        return int(result.rowcount) > 0

    async def cancel_prefix(self, prefix: str) -> int:
        """Forget every timer whose key starts with ``prefix`` in one statement; how many."""
        self._require_started()
        if not prefix:
            raise ValueError("an empty prefix would cancel every timer")
        table = self._store.jobs_t
        async with self._db.session() as s, s.begin():
            result = await s.exec(
                table.delete().where(table.c.id.startswith(prefix, autoescape=True))
            )
        return int(result.rowcount)

    async def pending(self) -> list[Pending]:
        """Every timer not yet fired, earliest first."""
        self._require_started()
        jobs = await asyncio.to_thread(self._store.get_all_jobs)
        found = [Pending(job.id, job.args[0], job.next_run_time.astimezone(UTC)) for job in jobs]
        return sorted(found, key=lambda p: (p.at, p.key))

    async def run_due(self, now: datetime | None = None) -> int:
        """Run every timer with ``at <= now`` (default: the clock), earliest first; how many.

        Each is claimed before its handler runs, so it runs once even if APScheduler's loop
        or another process looks at the same row. Timers that handlers schedule at or before
        ``now`` run in the same call. A failing handler is logged and counted.
        """
        self._require_started()
        now = now or self._clock()
        ran = 0
        while True:
            jobs = await asyncio.to_thread(self._store.get_due_jobs, now)
            if not jobs:
                return ran
            job = min(jobs, key=lambda j: (j.next_run_time, j.id))
            lease = await self._claim(job)
            if lease is not None:
                await self._run(*job.args, at=job.next_run_time, lease=lease, **job.kwargs)
                ran += 1

    # -- internals -------------------------------------------------------------------------

    def _require_started(self) -> None:
        if self._loop is None:
            raise RuntimeError("Timers.start() first: the job store is not open")

    async def _claim(self, job: Any) -> bytes | None:
        """Lease the row of ``job`` *as it was read* (due at its ``next_run_time``): move
        its due time :data:`LEASE` ahead, in the column and in the pickled state the store
        reads back (marked as leased); that state if this call won, else None. The row is
        later known by that state, never by its time: a handler may set its key anew for
        exactly the lease's end (a fake clock does), and that timer must survive.

        By key and time, not key alone: between another replica's read and its claim, the
        process that claimed first may have re-scheduled the same key for later (the next
        escalation step, the next handoff), and a claim by key alone would take that new
        timer and run the old one a second time. (Within a millisecond counts as the same
        time: the stored value is a float, and the round trip through a datetime may move
        its last digit.)"""
        table = self._store.jobs_t
        stamp = job.next_run_time.timestamp()
        lease: datetime = self._clock() + LEASE
        state = job.__getstate__()
        state["next_run_time"] = lease
        state["name"] = f"{job.name} (leased until {lease.isoformat()})"
        blob = pickle.dumps(state, self._store.pickle_protocol)
        async with self._db.session() as s, s.begin():
            result = await s.exec(
                table.update()
                .where(
                    table.c.id == job.id,
                    table.c.next_run_time.between(stamp - 0.001, stamp + 0.001),
                )
                .values(next_run_time=lease.timestamp(), job_state=blob)
            )
        return blob if int(result.rowcount) == 1 else None

    async def _done(self, key: str, lease: bytes) -> None:
        """Delete the row this process leased, unless the handler set the key anew (another
        row) or someone cancelled it meanwhile (no row)."""
        table = self._store.jobs_t
        async with self._db.session() as s, s.begin():
            await s.exec(table.delete().where(table.c.id == key, table.c.job_state == lease))

    def _submit(self, job: Any) -> None:
        """Called by APScheduler's loop (on the event loop thread) for each due timer.

        The claim is a task of its own, never awaited by the loop: it queues for the writer
        like every other write. A timer whose claim is in flight is not submitted again
        meanwhile."""
        version = (job.id, job.next_run_time)
        if self._loop is None or version in self._claiming:
            return
        self._claiming.add(version)
        task = self._loop.create_task(self._claim_and_run(job, version))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _claim_and_run(self, job: Any, version: tuple[str, datetime]) -> None:
        try:
            lease = await self._claim(job)
        except Exception:
            log.exception("timer %s: could not claim it; it stays pending", job.id)
            return
        finally:
            self._claiming.discard(version)
        if lease is not None:
            await self._run(*job.args, at=job.next_run_time, lease=lease, **job.kwargs)

    async def _run(
        self,
        kind: str,
        key: str,
        payload: dict[str, Any],
        *,
        at: datetime,
        lease: bytes,
        attempt: int = 0,
    ) -> None:
        handler = self._handlers.get(kind)
        if handler is None:
            log.error("timer %s: no handler for kind %r; dropped: %s", key, kind, payload)
            await self._done(key, lease)
            return
        late = (self._clock() - at).total_seconds()
        log.info("timer %s (%s) firing, due %s, %.0f s late", key, kind, at.isoformat(), late)
        try:
            await handler(payload)
        except Exception:
            if self._on_failure is not None:
                self._on_failure(kind)
            await self._retry(kind, key, payload, attempt, lease)
            return
        try:
            await self._done(key, lease)
        except Exception:  # the row stays leased: it runs again when the lease ends
            log.exception("timer %s (%s) ran, but its row could not be removed", key, kind)

    async def _retry(
        self, kind: str, key: str, payload: dict[str, Any], attempt: int, lease: bytes
    ) -> None:
        """Run a failed timer again later (5 s, doubling to 5 min, :data:`RETRIES` times),
        unless its handler already scheduled a newer one under the same key, or someone
        cancelled it meanwhile: a page that met a full disk or a lost connection must not be
        dropped."""
        table = self._store.jobs_t
        if attempt >= RETRIES:
            log.exception("timer %s (%s) failed %d times; giving up", key, kind, attempt + 1)
            with contextlib.suppress(Exception):
                await self._done(key, lease)
            return
        wait = min(RETRY_FIRST * 2**attempt, RETRY_MAX)
        log.exception("timer %s (%s) failed; trying again in %s", key, kind, wait)
        try:
            async with self._db.session() as s, s.begin():
                query = select(table.c.id).where(table.c.id == key, table.c.job_state == lease)
                if (await s.exec(query)).first() is not None:  # still ours: not set anew
                    at = self._clock() + wait
                    await self.schedule_in(s, kind, key, at, payload, attempt=attempt + 1)
        except Exception:
            log.exception("timer %s (%s): could not schedule its retry", key, kind)
