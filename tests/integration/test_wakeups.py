"""PostgreSQL: work committed by one process wakes the process that runs it, and pooled
connections the server closed are replaced without failing anyone.

Two ``Database`` objects stand for two processes (each its own engine and connections). A
follow-up row committed through one wakes the listener of the other (migration 0010's
trigger, ``bot.store.wakeups``); a rolled-back one never does. After the server ends the
listener's connection, it listens again and wakes everything once (what was committed
meanwhile). After every pooled connection is terminated (a PostgreSQL restart, a
failover), the next transactions simply work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.incidents.reactions.tables import Reaction
from bot.store import wakeups
from bot.store.db import Database
from tests.conftest import postgres_url

pytestmark = pytest.mark.postgres
BUDGET = 30.0
T = TypeVar("T")


@pytest.fixture
async def two() -> AsyncIterator[tuple[Database, Database]]:
    url = await postgres_url()
    writer, runner = Database(url), Database(url)
    await writer.migrate()
    try:
        yield writer, runner
    finally:
        await writer.dispose()
        await runner.dispose()


def reaction() -> Reaction:
    now = datetime.now(UTC)
    return Reaction(incident_id=None, follower="pager", data={}, created_at=now, due_at=now)


async def test_a_commit_in_one_process_wakes_the_other(two: tuple[Database, Database]) -> None:
    writer, runner = two
    woken: dict[str, asyncio.Event] = {t: asyncio.Event() for t in wakeups_tables()}
    listening, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        wakeups.listen(runner, {t: e.set for t, e in woken.items()}, stop, listening=listening)
    )
    try:
        async with asyncio.timeout(BUDGET):
            await listening.wait()
            for event in woken.values():  # the catch-up wake at each (re)connection
                event.clear()
            async with writer.session() as s:  # a timer written, then rolled back
                await s.exec(  # type: ignore[call-overload]
                    text(
                        "INSERT INTO timers (key, kind, due_at, payload, attempt, token) "
                        "VALUES ('never', 'x', now(), '{}', 0, 't')"
                    )
                )
                await s.rollback()
            async with writer.session() as s, s.begin():
                s.add(reaction())
            await woken["reactions"].wait()
            # Notifications arrive in commit order: had the rollback notified, it would be in.
            assert not woken["timers"].is_set(), "a rolled-back write wakes nobody"
            assert not woken["outbox"].is_set(), "only the table written is named"

            # The server ends the listening connection: it listens again, and wakes all.
            for event in woken.values():
                event.clear()
            async with writer.session() as s, s.begin():
                await s.exec(  # type: ignore[call-overload]
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
                    )
                )
            for event in woken.values():
                await event.wait()
            await listening.wait()
    finally:
        stop.set()
        await asyncio.wait_for(task, BUDGET)


def wakeups_tables() -> tuple[str, ...]:
    return ("reactions", "outbox", "timers")


async def again(op: Callable[[], Awaitable[T]], tries: int = 6) -> T:
    """``op()``, tried again after a database error, at most ``tries`` times."""
    for _ in range(tries - 1):
        try:
            return await op()
        except DBAPIError:
            continue
    return await op()


async def test_connections_the_server_closed_are_replaced(two: tuple[Database, Database]) -> None:
    db, _ = two

    async def count() -> int:
        async with db.session() as s, s.begin():
            return int((await s.exec(text("SELECT count(*) FROM reactions"))).scalar_one())  # type: ignore[call-overload]

    async with asyncio.timeout(BUDGET):
        opened = await asyncio.gather(*(count() for _ in range(4)))  # several pooled
        assert opened == [0, 0, 0, 0]
        dsn = db.url.replace("postgresql+asyncpg://", "postgresql://")
        admin = await asyncpg.connect(dsn)
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert ended >= 1
            while await admin.fetchval(  # the server has let them go
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            ):
                pass
        finally:
            await admin.close()

        # The server has let them go, but this process may not have read each socket's end
        # yet: such a connection fails its first statement (asyncpg: "another operation is in
        # progress") and the pool discards it, as bot/store/db.py says; every writer retries.
        # Replaced means: within one failure per pooled connection, everything works again.
        async def add() -> None:
            async with db.session() as s, s.begin():
                s.add(reaction())

        await again(add)
        assert await asyncio.gather(*(again(count) for _ in range(4))) == [1, 1, 1, 1]
