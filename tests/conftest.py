"""Fixtures: every database test runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from ``VIGIL_TEST_POSTGRES_URL`` (``.ci/start-postgres`` prints one). On a
laptop without it those tests skip, saying why; with ``CI=true`` they fail instead, so a CI
run can never pass while silently testing SQLite alone.

``database_url`` hands each test a database already at the schema head, with no rows:
running the migrations took ~0.33 s a test on PostgreSQL and ~0.06 s on SQLite, a fifth of
the suite. SQLite gets a copy of a file migrated once per run; PostgreSQL keeps the migrated
schema between tests and deletes every row (ids restart at 1), unless the test changed the
schema (a table, a trigger of its own): then it is dropped and migrated again. A test that
needs a database with no schema at all (the migrations' own) is marked ``empty_database``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config.load import Settings, load_settings
from bot.runtime.app import Vigil
from bot.store.db import Database
from bot.store.schema import SCHEMA_HEAD
from tests.smtp_standin import SmtpServer, start_smtp
from tests.support import FakeClock

PG_ENV = "VIGIL_TEST_POSTGRES_URL"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


async def _fresh_postgres(url: str) -> str:
    """Empty the test database's schema so each test starts from zero migrations."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL at {PG_ENV} is unreachable: {type(exc).__name__}: {exc}"
        if _in_ci():
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    return url


_WORKER_DBS: dict[str, str] = {}
"""``$VIGIL_TEST_POSTGRES_URL`` → this pytest-xdist worker's own database on that server."""


async def _test_url() -> str | None:
    """``$VIGIL_TEST_POSTGRES_URL``, or under pytest-xdist (``make test`` runs two workers)
    a database of this worker's own on the same server, created the first time: two workers
    emptying one database would wipe each other's tests."""
    url = os.environ.get(PG_ENV)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    found = _WORKER_DBS.get(url)
    if found is not None:
        return found
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'vigil_test'}_{worker}"
    dsn = urlunsplit(parts).replace("postgresql+asyncpg://", "postgresql://")
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return url  # unreachable: _fresh_postgres says so
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    _WORKER_DBS[url] = found = urlunsplit(parts._replace(path=f"/{name}"))
    return found


async def postgres_url() -> str:
    """The test PostgreSQL, emptied; a skip with the reason on a laptop without one, a
    failure when ``CI=true``."""
    url = await _test_url()
    if not url:
        message = f'no PostgreSQL: set {PG_ENV} (eval "$(.ci/start-postgres)" starts one)'
        if _in_ci():
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    return await _fresh_postgres(url)


_FINGERPRINT = """
SELECT md5(coalesce(string_agg(item, ',' ORDER BY item), '')) FROM (
  SELECT 'r:' || c.relname || ':' || c.relkind::text FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
  UNION ALL SELECT 'a:' || c.relname || '.' || a.attname || ':'
      || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull::text
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT 'k:' || conname || ':' || pg_get_constraintdef(k.oid) FROM pg_constraint k
    JOIN pg_namespace n ON n.oid = k.connamespace WHERE n.nspname = 'public'
  UNION ALL SELECT 't:' || tgname || ':' || pg_get_triggerdef(t.oid) FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND NOT t.tgisinternal
  UNION ALL SELECT 'f:' || p.proname || ':' || md5(p.prosrc) FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
) AS items(item)
"""
"""The public schema's shape, one hash: tables, columns, constraints, triggers, functions."""

_migrated: dict[str, tuple[str, str]] = {}
"""URL → (the fingerprint of its schema as the migrations left it, the statement that empties
it), read once per run: while the fingerprint holds, so do the tables and sequences."""


async def _emptied(conn: asyncpg.Connection, url: str) -> bool:
    """Delete every row of a database still at the head in the migrations' shape, ids
    restarting at 1; False (nothing done) when it is not in that shape."""
    known = _migrated.get(url)
    if known is None or await conn.fetchval(_FINGERPRINT) != known[0]:
        return False
    try:
        stamped = await conn.fetchval("SELECT version_num FROM alembic_version")
    except asyncpg.PostgresError:
        return False
    if stamped != SCHEMA_HEAD:
        return False
    await conn.execute(known[1])
    return True


async def _emptying(conn: asyncpg.Connection) -> str:
    """The statement that deletes every row of the database and restarts its ids."""
    tables = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'alembic_version'"
    )
    sequences = await conn.fetch(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
    )
    work = ["SET session_replication_role = replica"]  # no foreign key order to follow
    work += [f'DELETE FROM "{row[0]}"' for row in tables]  # noqa: S608  # names from pg_tables
    work += [f'ALTER SEQUENCE "{row[0]}" RESTART' for row in sequences]
    work += ["SET session_replication_role = DEFAULT"]
    return ";\n".join(work)


async def migrated_postgres_url() -> str:
    """The test PostgreSQL at the schema head with no rows (see the module's docstring)."""
    url = await _test_url()
    if url:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
        except (OSError, asyncpg.PostgresError):
            pass  # postgres_url says why
        else:
            try:
                if await _emptied(conn, url):
                    return url
            finally:
                await conn.close()
    url = await postgres_url()
    database = Database(url)
    try:
        await database.migrate()
    finally:
        await database.dispose()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        _migrated[url] = (await conn.fetchval(_FINGERPRINT), await _emptying(conn))
    finally:
        await conn.close()
    return url


_sqlite_template: list[Path] = []


async def migrated_sqlite_url(path: Path, scratch: pytest.TempPathFactory) -> str:
    """A SQLite database at ``path`` at the schema head with no rows: a copy of a file
    migrated once per run (its write-ahead log folded in first, so the copy holds it all)."""
    if not _sqlite_template:
        template = scratch.mktemp("sqlite-template") / "vigil.db"
        database = Database(f"sqlite+aiosqlite:///{template}")
        try:
            await database.migrate()
        finally:
            await database.dispose()
        with contextlib.closing(sqlite3.connect(template)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _sqlite_template.append(template)
    shutil.copyfile(_sqlite_template[0], path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A database at the schema head with no rows, or with no schema at all for a test
    marked ``empty_database``."""
    empty = request.node.get_closest_marker("empty_database") is not None
    if request.param == "sqlite":
        if empty:
            return f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"
        return await migrated_sqlite_url(tmp_path / "vigil.db", tmp_path_factory)
    return await (postgres_url() if empty else migrated_postgres_url())


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on SQLite and on PostgreSQL, disposed of afterwards."""
    database = Database(database_url)
    await database.migrate()
    yield database
    await database.dispose()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on an ephemeral 127.0.0.1 port, stopped afterwards."""
    controller, server = start_smtp()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    base = load_settings(None, {"VIGIL_DATABASE_URL": database_url})
    return dataclasses.replace(
        base,
        postmortems_dir=tmp_path / "postmortems",
        evidence_dir=tmp_path / "evidence",
        # Not this machine's own CPU and memory: a busy test machine (two pytest workers)
        # opened a real "CPU utilization 100%" incident inside tests that poll the rules.
        sources=dataclasses.replace(base.sources, system=False),
    )


MakeVigil = Callable[..., Awaitable[Vigil]]


@pytest.fixture
async def make_vigil(settings: Settings, clock: FakeClock) -> AsyncIterator[MakeVigil]:
    """Build a Vigil on the test database; keyword arguments replace settings fields."""
    built: list[Vigil] = []

    async def make(**overrides: Any) -> Vigil:
        vigil = await Vigil.create(
            dataclasses.replace(settings, **overrides), clock=clock, drive_timers=False
        )
        built.append(vigil)
        return vigil

    yield make
    for vigil in built:
        await vigil.close()


@pytest.fixture
async def vigil(make_vigil: MakeVigil) -> Vigil:
    return await make_vigil()


@pytest.fixture
async def client(vigil: Vigil) -> AsyncIterator[TestClient[Any, Any]]:
    """A real HTTP client talking to the app on an ephemeral 127.0.0.1 port."""
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as c:
        yield c
