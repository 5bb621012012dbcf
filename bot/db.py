"""The async database: engine, sessions, and migrations applied at start.

SQLite (the embedded default, under ``./var/``) and PostgreSQL (``VIGIL_DATABASE_URL``,
through asyncpg) run the same code. On SQLite every transaction starts with ``BEGIN
IMMEDIATE`` so that concurrent writers queue on the busy timeout instead of failing with
"database is locked" when a reader upgrades to a writer mid-transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlmodel import Session as SyncSession
from sqlmodel.ext.asyncio.session import AsyncSession

MIGRATIONS = Path(__file__).with_name("migrations")

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


def normalise_url(url: str) -> str:
    """Accept the URL forms people paste (``postgres://``, ``postgresql://``, ``sqlite:///``).

    They are mapped to the async drivers Vigil uses (asyncpg, aiosqlite).
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    """Owns the engine; hands out sessions; brings the schema to the newest migration."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        # hide_parameters: SQL errors must never carry what people typed (or tokens) into logs.
        kwargs: dict[str, Any] = {"hide_parameters": True}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._hooks = _SessionHooks()
        self._sessions = async_sessionmaker(
            self.engine,
            class_=AsyncSession,
            sync_session_class=_HookedSession,
            expire_on_commit=False,
            info={_HOOKS: self._hooks},
        )

    def session(self) -> AsyncSession:
        """A new session; use as ``async with db.session() as s, s.begin(): ...``."""
        return self._sessions()

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
        """Apply every Alembic migration not yet applied (idempotent, safe at each start)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade)

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code, so installed copies need no alembic.ini."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
