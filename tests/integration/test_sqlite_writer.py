"""SQLite's writer runs its statements on the event loop's thread (``bot.store.sqlite_driver``):
when another process holds the database, the bot must keep serving while its write waits,
and the write must land the moment the lock is let go, or fail clearly at the bound."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from bot.incidents.service import IncidentService
from bot.store.db import Database
from bot.store.sqlite_driver import set_busy_timeout
from tests.integration.test_health import writer_held
from tests.support import FakeClock


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}")
    await db.migrate()
    return db


async def test_a_write_waits_for_another_process_without_stopping_the_bot(
    sqlite_db: Database, clock: FakeClock
) -> None:
    incidents = IncidentService(sqlite_db, clock=clock)
    writing = asyncio.Event()  # the write has its connection: it is at the lock now
    event.listen(sqlite_db.engine.sync_engine.pool, "checkout", lambda *_: writing.set())
    try:
        async with writer_held(sqlite_db.url):
            opening = asyncio.create_task(
                incidents.open(title="payments is down", actor="@maya", severity="P1")
            )
            await asyncio.wait_for(writing.wait(), 10)
            # The write waits for the other process, and the bot serves meanwhile: a read
            # is answered (it never waits for the writer) while the write is still pending.
            assert not (await asyncio.wait_for(incidents.page(), 10)).items
            assert not opening.done()
        view = await asyncio.wait_for(opening, 10)  # let go: the write lands
        assert (await incidents.get(view.id)).title == "payments is down"
    finally:
        await sqlite_db.dispose()


async def test_a_write_that_never_gets_the_lock_fails_at_its_bound_and_keeps_nothing(
    sqlite_db: Database, clock: FakeClock
) -> None:
    incidents = IncidentService(sqlite_db, clock=clock)
    try:
        async with sqlite_db.engine.connect() as conn:  # the writer's one connection
            raw = (await conn.get_raw_connection()).dbapi_connection
            set_busy_timeout(raw, 0.2)
        async with writer_held(sqlite_db.url):
            with pytest.raises(OperationalError, match="database is locked"):
                await incidents.open(title="payments is down", actor="@maya", severity="P1")
        assert not (await incidents.page()).items
    finally:
        await sqlite_db.dispose()
