"""A room of responders asking for the incident list at once costs one read, and nobody is
shown less than what was committed before they asked (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.incidents.service import IncidentService
from bot.store.db import READERS, Database
from tests.support import FakeClock


def list_reads(db: Database) -> list[str]:
    """Every incident-list query run through the readers from now on."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM incidents" in statement and "ORDER BY" in statement:
            seen.append(statement)

    event.listen(db.read_engine.sync_engine, "before_cursor_execute", record)
    return seen


async def test_twenty_people_asking_at_once_share_one_read(db: Database, clock: FakeClock) -> None:
    incidents = IncidentService(db, clock=clock)
    for n in range(3):
        await incidents.open(title=f"Outage {n}", actor="@alice", severity="P2")
    reads = list_reads(db)

    pages = await asyncio.gather(*(incidents.page() for _ in range(20)))

    assert len(reads) == 1
    assert all(p == pages[0] for p in pages)
    assert [i.title for i in pages[0].items] == ["Outage 2", "Outage 1", "Outage 0"]
    assert len(await asyncio.gather(*(incidents.page() for _ in range(3)))) == 3
    assert len(reads) == 2  # a later ask reads again: nothing is cached


async def test_an_ask_after_a_write_never_joins_a_read_begun_before_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    """On SQLite, whose readers are a pool apart from the writer: holding every reader keeps
    the first read in flight while the write commits (PostgreSQL shares one pool)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}")
    await db.migrate()
    try:
        await _ask_after_a_write(db, clock)
    finally:
        await db.dispose()


async def _ask_after_a_write(db: Database, clock: FakeClock) -> None:
    incidents = IncidentService(db, clock=clock)
    await incidents.open(title="Payments down", actor="@alice", severity="P1")
    reads = list_reads(db)
    committed = asyncio.Event()
    db.on_after_commit(lambda _session: committed.set())
    held = [await db.read_engine.connect() for _ in range(READERS)]  # the first read waits
    try:
        before = asyncio.create_task(incidents.page())
        await asyncio.sleep(0)  # it has asked and waits for a reader
        # The ack commits, then reads its snapshot on a reader: it waits with the first read.
        ack = asyncio.create_task(incidents.acknowledge(1, actor="@alice"))
        await asyncio.wait_for(committed.wait(), 10)
        after = asyncio.create_task(incidents.page())  # asked once the write is committed
        await asyncio.sleep(0)
    finally:
        for conn in held:
            await conn.close()
    _, second, _ = await asyncio.gather(before, after, ack)
    assert len(reads) == 2
    assert [i.state for i in second.items] == ["acknowledged"]
