"""``/healthz`` tells the truth under load: busy is not down, and read-only is not up.

"Another writer" is a second connection of its own (what another process, a migration or a
backup holding the database looks like): on SQLite a ``BEGIN IMMEDIATE`` that holds the write
lock, on PostgreSQL an exclusive lock on the table ``/healthz`` writes. While it holds,
``/healthz`` answers at once with 200 and "writes delayed", and reading incidents still
works; the moment it lets go, ``/healthz`` says ok again.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import MakeVigil
from tests.integration.test_api import generic, get_json, post_ok, serve
from tests.support import FakeClock


@asynccontextmanager
async def writer_held(database_url: str) -> AsyncIterator[None]:
    """Another connection holds the database's write lock until the block ends."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        taken, release = threading.Event(), threading.Event()

        def hold() -> None:
            conn = sqlite3.connect(str(url.database), isolation_level=None, timeout=30)
            conn.execute("BEGIN IMMEDIATE")
            taken.set()
            release.wait(60)
            conn.execute("ROLLBACK")
            conn.close()

        thread = threading.Thread(target=hold)
        thread.start()
        await asyncio.to_thread(taken.wait, 30)
        try:
            yield
        finally:
            release.set()
            await asyncio.to_thread(thread.join, 30)
        return
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("LOCK TABLE vigil_health IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            await tx.rollback()
    finally:
        await conn.close()


async def test_healthz_says_writes_are_delayed_not_down_while_another_writer_holds_the_database(
    make_vigil: MakeVigil, database_url: str
) -> None:
    vigil = await make_vigil()
    await vigil.incidents.open(title="payments is down", actor="@maya", severity="P1")
    async with serve(vigil) as client:
        assert (await get_json(client, "/healthz"))[1]["status"] == "ok"
        async with writer_held(database_url):
            loop = asyncio.get_running_loop()
            started = loop.time()
            status, body = await get_json(client, "/healthz")
            waited = loop.time() - started
            assert status == 200, body  # a busy bot must stay in the load balancer
            assert body["status"] == "degraded"
            assert body["database"] == "up"
            assert body["writes"].startswith("delayed ")
            assert waited < 10  # not the 30 s busy timeout (a bound, not a benchmark)
            # Reading never waits for the writer.
            status, listed = await get_json(client, "/api/v1/incidents")
            assert status == 200
            assert [i["title"] for i in listed["incidents"]] == ["payments is down"]
        status, body = await get_json(client, "/healthz")
    assert (status, body["status"]) == (200, "ok")


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_healthz_says_a_read_only_database_is_not_up(
    make_vigil: MakeVigil, database_url: str
) -> None:
    """A PostgreSQL that took the bot's writes away (a failover to a replica, a full disk
    turned read-only): /healthz is 503 and says what is wrong. (PostgreSQL only: this test
    runs as root, for whom no SQLite file is read-only.)"""
    url = make_url(database_url)
    vigil = await make_vigil()
    admin = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    try:
        await admin.execute(
            f'ALTER DATABASE "{url.database}" SET default_transaction_read_only = on'
        )
        await vigil.db.engine.dispose()  # what a failover does to the pool: new connections
        async with serve(vigil) as client:
            status, body = await get_json(client, "/healthz")
    finally:
        await admin.execute(f'ALTER DATABASE "{url.database}" RESET default_transaction_read_only')
        await admin.close()
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["database"] == "read-only"
    assert "can be read but not written" in body["message"]


async def test_healthz_says_pages_are_overdue_while_nothing_runs_them(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    """The worker of a split serve stopped (or cannot keep up): alerts are still taken, but
    the P1's page waits, and /healthz says so instead of "ok"."""
    vigil = await make_vigil()
    vigil.reactor.inline = False  # as `vigil serve` runs it; no worker loop runs here
    labels = {"alertname": "ServiceDown", "service": "fraud", "severity": "critical"}
    async with serve(vigil) as client:
        await post_ok(client, "/alerts/generic", generic(labels, 1.0))
        status, body = await get_json(client, "/healthz")
        assert (status, body["status"]) == (200, "ok"), body  # just due is not late
        clock.advance(seconds=45)
        status, body = await get_json(client, "/healthz")
        assert status == 200, body  # intake works: the balancer must keep this process
        assert body["status"] == "degraded"
        assert "overdue (pages, escalations, SLA timers), the oldest by 45 s" in body["follow_ups"]
        assert "is the worker running?" in body["follow_ups"]
        assert await vigil.reactor.run_due() >= 1  # a worker runs them: healthy again
        status, body = await get_json(client, "/healthz")
        assert (status, body["status"]) == (200, "ok"), body
        assert "follow_ups" not in body
