"""Fixtures: every database test runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from ``VIGIL_TEST_POSTGRES_URL`` (``.ci/start-postgres`` prints one). On a
laptop without it those tests skip, saying why; with ``CI=true`` they fail instead, so a CI
run can never pass while silently testing SQLite alone.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config.load import Settings, load_settings
from bot.runtime.app import Vigil
from bot.store.db import Database
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


async def postgres_url() -> str:
    """The test PostgreSQL, emptied; a skip with the reason on a laptop without one, a
    failure when ``CI=true``."""
    url = os.environ.get(PG_ENV)
    if not url:
        message = f'no PostgreSQL: set {PG_ENV} (eval "$(.ci/start-postgres)" starts one)'
        if _in_ci():
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    return await _fresh_postgres(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"
    return await postgres_url()


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
        base, postmortems_dir=tmp_path / "postmortems", evidence_dir=tmp_path / "evidence"
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
