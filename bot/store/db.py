"""The async database: engine, sessions, and migrations applied at start.

SQLite (the embedded default, under ``./var/``) and PostgreSQL (``VIGIL_DATABASE_URL``,
through asyncpg) run the same code, with two kinds of session:

- :meth:`Database.session` writes. On SQLite every write goes through **one writer
  connection** (a pool of one): writers of this process queue for it in order on the event
  loop (an ``asyncio`` queue, first come first served) instead of racing for SQLite's lock
  on a busy timeout, which is unfair and made a P1's page wait behind a storm of alerts until
  "database is locked". Its transactions start with ``BEGIN IMMEDIATE``, so a transaction
  that reads first and writes later can never fail the upgrade. Durable timers write through
  the same connection (``bot.store.timers``), so nothing of this process competes with it.
- :meth:`Database.read` only reads. On SQLite it uses a pool of read-only connections
  (``PRAGMA query_only``) that start a deferred ``BEGIN``: in WAL mode a reader sees the last
  committed state and never waits for the writer, so ``/healthz``, lists and the answer to a
  slash command stay fast while alerts pour in. On PostgreSQL both are the same pool (MVCC
  already keeps readers and writers apart).

On SQLite every statement runs on the event loop's thread (``bot.store.sqlite_driver``): a
thread trip per step, each waiting for a turn of a busy loop, had a transaction hold the
writer mostly waiting. Other processes on the same file (the CLI, a second replica) still
meet this one's writer; a statement that finds their lock sleeps (asyncio, not the loop's
thread) and tries again, up to the busy timeout. Transactions are short, so that wait is
short. :meth:`Database.write_delay` says how long the writer has been held, for ``/healthz``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlmodel import Session as SyncSession
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store import sqlite_driver
from bot.store.db_url import is_sqlite_url as is_sqlite_url
from bot.store.db_url import normalise_url as normalise_url
from bot.store.schema import alembic_config as alembic_config  # re-exported: tests migrate
from bot.store.schema import upgrade
from bot.store.tables import HealthProbe


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)


BeforeFlush = Callable[[OrmSession, Sequence[object]], None]
AfterCommit = Callable[[OrmSession], None]
_HOOKS = "vigil.session_hooks"


@dataclass(eq=False)
class _SessionHooks:
    """What one :class:`Database` runs inside its sessions' flushes and commits."""

    before_flush: list[BeforeFlush] = field(default_factory=list)
    after_commit: list[AfterCommit] = field(default_factory=list)


class _HookedSession(SyncSession):
    """The sync session behind every ``AsyncSession`` Vigil hands out.

    The listeners below are registered once on this class and look up the hooks of the
    owning :class:`Database` in ``session.info``, so hooks stay per database (a console
    Vigil and a Slack Vigil in one test process do not see each other's) and no global
    ``Session`` listener touches sessions Vigil did not create.
    """


@event.listens_for(_HookedSession, "before_flush")
def _run_before_flush(session: OrmSession, _context: UOWTransaction, _instances: Any) -> None:
    hooks = session.info.get(_HOOKS)
    if isinstance(hooks, _SessionHooks) and hooks.before_flush and session.new:
        new = list(session.new)
        for hook in hooks.before_flush:
            hook(session, new)


@event.listens_for(_HookedSession, "after_commit")
def _run_after_commit(session: OrmSession) -> None:
    hooks = session.info.get(_HOOKS)
    if isinstance(hooks, _SessionHooks):
        for hook in hooks.after_commit:
            hook(session)


_HEALTH = HealthProbe.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Health:
    """What ``/healthz`` says of the database; ``delayed`` is seconds writes are waiting."""

    readable: bool
    writable: bool
    delayed: float = 0.0
    error: str = ""


READERS = 4  # SQLite read-only connections; reads never wait for the writer in WAL mode
BUSY_TIMEOUT_MS = 30_000  # only another process's writer can make this one wait now


class Database:
    """Owns the engines; hands out sessions; brings the schema to the newest migration."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        # hide_parameters: SQL errors must never carry what people typed (or tokens) into logs.
        kwargs: dict[str, Any] = {"hide_parameters": True}
        memory = False
        if self.is_sqlite:
            memory = not parsed.database or parsed.database == ":memory:"
            if not memory:
                Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
            kwargs.update(_inline_sqlite())
            # The one writer connection: writers queue for it in order (see the docstring).
            kwargs.update(pool_size=1, max_overflow=0, pool_timeout=BUSY_TIMEOUT_MS / 1000)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self.read_engine: AsyncEngine = self.engine
        self._writer_since: float | None = None  # monotonic time the writer was taken
        if not self.is_sqlite:
            _drop_closed_connections(self.engine)
        if self.is_sqlite:
            _configure_sqlite(self.engine, writer=True)
            self._track_writer()
            if not memory:  # an in-memory database exists once per connection: share it
                self.read_engine = create_async_engine(
                    self.url,
                    hide_parameters=True,
                    **_inline_sqlite(),
                    pool_size=READERS,
                    max_overflow=0,
                )
                _configure_sqlite(self.read_engine, writer=False)
        self._hooks = _SessionHooks()
        # Write transactions this process has committed: a read begun after the last one
        # sees everything this process wrote (IncidentService.page shares reads on this).
        self.commits = 0
        self._hooks.after_commit.append(self._count_commit)
        self._sessions = async_sessionmaker(
            self.engine,
            class_=AsyncSession,
            sync_session_class=_HookedSession,
            expire_on_commit=False,
            info={_HOOKS: self._hooks},
        )
        self._reads = async_sessionmaker(
            self.read_engine, class_=AsyncSession, expire_on_commit=False
        )

    def _count_commit(self, _session: OrmSession) -> None:
        self.commits += 1

    def session(self) -> AsyncSession:
        """A new session that may write; use as ``async with db.session() as s, s.begin():``.

        On SQLite it waits its turn for the one writer connection, so keep the transaction
        short and never await anything but this database inside it (nor open a second write
        session: it would wait for the first, which waits for it)."""
        return self._sessions()

    def read(self) -> AsyncSession:
        """A new read-only session (``async with db.read() as s, s.begin():``): a consistent
        snapshot that never waits for writers. Writing through it fails on SQLite."""
        return self._reads()

    def write_delay(self) -> float:
        """Seconds the writer connection has been held by one transaction (0 when free);
        always 0 on PostgreSQL, whose writers do not queue behind one another."""
        since = self._writer_since
        return 0.0 if since is None else max(time.monotonic() - since, 0.0)

    async def health(self, *, within: float = 1.0) -> Health:
        """Can the database be read, and written, now? Answers within about ``within`` s
        twice over, whatever the load: a read never waits for the writer, and a write that
        cannot get its turn in time is reported as delayed (by how long the writer has been
        held), not as down. The write is real (one row of ``vigil_health``), so a read-only
        or full database is not called up."""
        try:
            async with asyncio.timeout(within), self.read_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            return Health(readable=False, writable=False, error=type(exc).__name__)
        held = self.write_delay()  # a transaction of ours already waiting, if any
        try:
            async with asyncio.timeout(within):  # our own writers queue on the loop: cancellable
                conn = await self.engine.connect()
        except TimeoutError:
            return Health(readable=True, writable=True, delayed=max(held, within))
        except (SQLAlchemyError, OSError) as exc:
            return Health(readable=True, writable=False, error=type(exc).__name__)
        try:
            await self._probe_write(conn, within)
        except DBAPIError as exc:
            if not _is_lock_wait(exc):
                return Health(readable=True, writable=False, error=type(exc).__name__)
            return Health(readable=True, writable=True, delayed=max(held, within))
        except (SQLAlchemyError, OSError) as exc:
            return Health(readable=True, writable=False, error=type(exc).__name__)
        finally:
            await conn.close()
        return Health(readable=True, writable=True)

    async def _probe_write(self, conn: AsyncConnection, within: float) -> None:
        """Write the health row. On SQLite another process's lock is waited for ``within``
        seconds, not the usual busy timeout (the writer's own bound,
        ``bot.store.sqlite_driver``)."""
        raw: Any = (await conn.get_raw_connection()).dbapi_connection
        before = sqlite_driver.set_busy_timeout(raw, within) if self.is_sqlite else 0.0
        try:
            async with conn.begin():
                if not self.is_sqlite:
                    await conn.execute(text(f"SET LOCAL lock_timeout = {int(within * 1000)}"))
                now = datetime.now(UTC)
                done = await conn.execute(_HEALTH.update().values(probed_at=now))
                if done.rowcount == 0:
                    await conn.execute(_HEALTH.insert().values(id=1, probed_at=now))
        finally:
            if self.is_sqlite:
                sqlite_driver.set_busy_timeout(raw, before)

    def _track_writer(self) -> None:
        pool = self.engine.sync_engine.pool

        @event.listens_for(pool, "checkout")
        def _taken(*_args: Any) -> None:
            self._writer_since = time.monotonic()

        @event.listens_for(pool, "checkin")
        def _returned(*_args: Any) -> None:
            self._writer_since = None

    def on_before_flush(self, hook: BeforeFlush) -> None:
        """Run ``hook(session, new_objects)`` at the start of every flush of this database's
        sessions that has new objects, inside that flush's transaction.

        Objects the hook ``session.add()``s are written by the same flush, so they commit or
        roll back with the change that caused them (the outbox feed relies on this). The
        same function registered twice runs once.
        """
        if hook not in self._hooks.before_flush:
            self._hooks.before_flush.append(hook)

    def on_after_commit(self, hook: AfterCommit) -> None:
        """Run ``hook(session)`` after each commit of this database's sessions (no I/O in it:
        it runs inside SQLAlchemy's commit; set a flag or an ``asyncio.Event``)."""
        if hook not in self._hooks.after_commit:
            self._hooks.after_commit.append(hook)

    async def migrate(self) -> None:
        """Apply every Alembic migration not yet applied (idempotent, safe at each start);
        at the newest one already, a look at ``alembic_version`` and no Alembic at all."""
        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def _is_lock_wait(exc: DBAPIError) -> bool:
    """Did a write give up waiting for another connection's lock (busy, not broken)?"""
    text_ = str(exc.orig).lower()
    return "database is locked" in text_ or "lock timeout" in text_


def _inline_sqlite() -> dict[str, Any]:
    """Engine options: statements on the loop's thread (``bot.store.sqlite_driver``), so the
    connection is used from it, and waits for another process's lock in asyncio."""
    return {
        "connect_args": {"timeout": 0, "check_same_thread": False},
        "module": sqlite_driver.Dbapi(busy_timeout=BUSY_TIMEOUT_MS / 1000),
    }


def _drop_closed_connections(engine: AsyncEngine) -> None:
    """Hand out no pooled PostgreSQL connection the server has closed (a restart, a
    failover, an idle timeout), without a round trip per checkout.

    SQLAlchemy's ``pool_pre_ping`` does that check with three round trips on asyncpg (a
    ``BEGIN``, an empty query and a ``ROLLBACK``) at every checkout: in a storm of 2,000
    alerts that was 9,000 of the server's 21,500 statements, and their CPU in this process.
    asyncpg already knows a connection is closed once the server has said so or the
    socket has ended (``is_closed``), so the check is local: a closed one is discarded and
    the pool opens a new one (``DisconnectionError``). A connection cut silently (no FIN
    ever arrives) still fails its first statement, which the pool then discards; every
    writer here retries (an alert post answers 503 and is re-sent, follow-ups run again)."""

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _alive(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this connection")


def _configure_sqlite(engine: AsyncEngine, *, writer: bool) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Another process's lock is waited for by the driver, asleep in asyncio (up to
        # BUSY_TIMEOUT_MS): SQLite itself must not wait on the loop's thread.
        cursor.execute("PRAGMA busy_timeout=0")
        if writer:
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL loses nothing when the process dies (kill -9 included); only
            # a power cut may lose the last commits. FULL would fsync every commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
        else:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")
