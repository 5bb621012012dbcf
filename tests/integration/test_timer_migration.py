"""Migration 0012: timers pending in APScheduler's old job store fire after the upgrade.

A Vigil upgraded with escalations pending must page them on time: each old row (a pickled
APScheduler job naming ``bot.scheduler:_fire``, written here by APScheduler's own
``Job.__getstate__`` as the old code did) becomes a row of ``timers``; a row that cannot be
read is reported by its key and kept, never dropped in silence. The downgrade writes them
back in the old format.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from bot.store.db import Database, alembic_config
from bot.store.timer_rows import Pending
from bot.store.timers import Timers
from tests.support import FakeClock

pytestmark = pytest.mark.empty_database  # these tests run the migrations themselves


async def _fire(kind: str, key: str, payload: dict[str, Any], attempt: int = 0) -> None:
    """Stands in for the old ``bot.scheduler:_fire`` while APScheduler builds the row."""


def old_row(key: str, kind: str, at: datetime, payload: dict[str, Any], attempt: int = 0) -> Any:
    """A ``vigil_timers`` row exactly as the old ``Timers.schedule_in`` wrote it."""
    job = Job(
        AsyncIOScheduler(timezone=UTC),
        id=key,
        func=_fire,
        trigger=DateTrigger(run_date=at, timezone=UTC),
        executor="default",
        args=[kind, key, payload],
        kwargs={"attempt": attempt} if attempt else {},
        name=f"{kind} {key}",
        misfire_grace_time=None,
        coalesce=True,
        max_instances=1,
        next_run_time=at,
    )
    state = job.__getstate__()
    state["func"] = "bot.scheduler:_fire"  # the address every old row named
    return {"id": key, "t": at.timestamp(), "s": pickle.dumps(state, pickle.HIGHEST_PROTOCOL)}


@pytest.fixture
async def old_db(database_url: str) -> AsyncIterator[Database]:
    """A database as the last Vigil with APScheduler's job store left it (revision 0011)."""
    db = Database(database_url)
    await migrate(db, "0011")
    yield db
    await db.dispose()


async def migrate(db: Database, revision: str, *, down: bool = False) -> None:
    def run(conn: Connection) -> None:
        cfg = alembic_config(conn)
        (command.downgrade if down else command.upgrade)(cfg, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def write_old(db: Database, *rows: Any) -> None:
    async with db.engine.begin() as conn:
        for row in rows:
            await conn.execute(
                text(
                    "INSERT INTO vigil_timers (id, next_run_time, job_state) VALUES (:id, :t, :s)"
                ),
                row,
            )


async def tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_pending_apscheduler_timers_fire_at_their_time_after_the_upgrade(
    old_db: Database, clock: FakeClock
) -> None:
    t0 = clock()
    await write_old(
        old_db,
        old_row("incident:3:escalate", "escalate", t0 + timedelta(minutes=5), {"step": 2}),
        old_row("incident:4:sla", "sla", t0 + timedelta(minutes=1), {"incident": 4}, attempt=2),
    )
    await migrate(old_db, "head")
    assert "vigil_timers" not in await tables(old_db)  # everything moved: the old table goes

    fired: list[tuple[str, dict[str, Any]]] = []
    timers = Timers(old_db, clock=clock)

    async def escalate(payload: dict[str, Any]) -> None:
        fired.append(("escalate", payload))

    async def sla(payload: dict[str, Any]) -> None:
        raise RuntimeError("chat down")

    timers.register("escalate", escalate)
    timers.register("sla", sla)
    await timers.start(paused=True)
    try:
        assert await timers.pending() == [
            Pending("incident:4:sla", "sla", t0 + timedelta(minutes=1)),
            Pending("incident:3:escalate", "escalate", t0 + timedelta(minutes=5)),
        ]
        clock.advance(minutes=1)
        assert await timers.run_due() == 1  # the SLA check, failing: its third retry waits 20 s
        assert await timers.pending() == [
            Pending("incident:4:sla", "sla", clock() + timedelta(seconds=20)),
            Pending("incident:3:escalate", "escalate", t0 + timedelta(minutes=5)),
        ]
        await timers.cancel("incident:4:sla")
        assert await timers.run_due(t0 + timedelta(minutes=5) - timedelta(microseconds=1)) == 0
        assert fired == []
        assert await timers.run_due(t0 + timedelta(minutes=5)) == 1
        assert fired == [("escalate", {"step": 2})]
        assert await timers.pending() == []
    finally:
        await timers.stop()


async def test_an_unreadable_old_row_is_reported_and_kept_and_the_rest_move(
    old_db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    good = old_row("incident:5:escalate", "escalate", clock(), {"step": 1})
    await write_old(old_db, good, {"id": "incident:6:escalate", "t": 0.0, "s": b"not a pickle"})
    with caplog.at_level(logging.ERROR, logger="bot.migrations"):
        await migrate(old_db, "head")
    [first, *_] = [r.getMessage() for r in caplog.records if r.name == "bot.migrations"]
    assert first.startswith("timer 'incident:6:escalate' could not be read")
    assert "it will NOT fire" in first
    async with old_db.engine.connect() as conn:
        kept = (await conn.execute(text("SELECT id FROM vigil_timers"))).scalars().all()
        moved = (await conn.execute(text("SELECT key FROM timers"))).scalars().all()
    assert (kept, moved) == (["incident:6:escalate"], ["incident:5:escalate"])


async def test_the_downgrade_writes_the_timers_back_as_the_old_code_reads_them(
    old_db: Database, clock: FakeClock
) -> None:
    at = clock() + timedelta(minutes=3)
    await write_old(old_db, old_row("incident:7:escalate", "escalate", at, {"step": 3}, 1))
    await migrate(old_db, "head")
    await migrate(old_db, "0011", down=True)
    assert "timers" not in await tables(old_db)
    async with old_db.engine.connect() as conn:
        [(key, stamp, blob)] = (await conn.execute(text("SELECT * FROM vigil_timers"))).all()
    state = pickle.loads(blob)  # noqa: S301 (the row this test's migration wrote)
    assert (key, stamp) == ("incident:7:escalate", at.timestamp())
    assert state["func"] == "bot.scheduler:_fire"
    assert state["args"] == ["escalate", "incident:7:escalate", {"step": 3}]
    assert state["kwargs"] == {"attempt": 1}
    assert state["next_run_time"] == at
    assert state["trigger"].run_date == at
