"""Migrations run at every start: idempotent, complete, and able to create the SQLite file.

A restart of the bot mid-incident must keep every incident and timeline entry; the schema
must be the one the models describe, stamped at Alembic's head.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import bot.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from bot.config.load import Settings, load_settings
from bot.ingest.alertmanager import parse_alertmanager
from bot.runtime.app import Vigil
from bot.store.db import Database, alembic_config
from bot.store.schema import SCHEMA_HEAD
from tests.conftest import postgres_url
from tests.support import FakeClock, fixture_json

pytestmark = pytest.mark.empty_database  # these tests run the migrations themselves

TABLES = {"incidents", "alerts", "timeline_events", "alembic_version"}


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def _schema(conn: Connection) -> tuple[set[str], list[str], list[object]]:
    tables = set(inspect(conn).get_table_names())
    stamped = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    diffs = compare_metadata(
        MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
    )
    return tables, stamped, list(diffs)


async def schema(db: Database) -> tuple[set[str], list[str], list[object]]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_schema)


async def test_fresh_database_gets_every_table_stamped_at_head(
    settings: Settings, clock: FakeClock
) -> None:
    vigil = await Vigil.create(settings, clock=clock)
    try:
        tables, stamped, diffs = await schema(vigil.db)
    finally:
        await vigil.close()
    assert tables >= TABLES
    assert stamped == [head()]
    assert diffs == [], "the migrations and the models disagree"


async def test_second_start_on_the_same_database_keeps_the_data(
    settings: Settings, clock: FakeClock
) -> None:
    first = await Vigil.create(settings, clock=clock)
    try:
        await first.ingestor.ingest(parse_alertmanager(fixture_json("alertmanager-v4-firing.json")))
        await first.commands.run_incident("new GPU node 7 flapping --sev P3", actor="@alice")
        await first.commands.run_incident("ack 1", actor="@alice")
        before = await first.incidents.list(include_closed=True)
    finally:
        await first.close()
    assert len(before) == 2

    clock.advance(hours=1)
    second = await Vigil.create(settings, clock=clock)
    try:
        after = await second.incidents.list(include_closed=True)
        # The data is all there. (The restarted timers may add to a timeline, e.g. an
        # acknowledged P1's "still unresolved" reminder: compare what the first start wrote.)
        assert [(v.id, v.title, v.severity, v.state, v.alerts) for v in after] == [
            (v.id, v.title, v.severity, v.state, v.alerts) for v in before
        ]
        for old, new in zip(before, after, strict=True):
            assert new.timeline[: len(old.timeline)] == old.timeline
        assert (await second.incidents.get(1)).alerts[0].fingerprint == "420abf6469f5137f"
        _, stamped, _ = await schema(second.db)
        assert stamped == [head()]
        # and it goes on where the first left off
        reply = await second.commands.run_incident("new After the restart", actor="@bob")
        assert reply.incident is not None
        assert reply.incident.id == 3
        # the alert incident is still open, so a repeat joins it instead of opening another
        outcomes = await second.ingestor.ingest(
            parse_alertmanager(fixture_json("alertmanager-v4-firing.json"))
        )
        assert [(o.incident_id, o.action) for o in outcomes] == [(1, "repeated")]
    finally:
        await second.close()


async def test_migrate_twice_on_one_connection_pool_is_a_no_op(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        await db.migrate()
        await db.migrate()
        tables, stamped, diffs = await schema(db)
    finally:
        await db.dispose()
    assert tables >= TABLES
    assert stamped == [head()]
    assert diffs == []


def test_the_head_known_without_alembic_is_alembics_head() -> None:
    """``Database.migrate`` skips Alembic when the database is stamped ``SCHEMA_HEAD``: a new
    migration must move it, or databases would stay behind it."""
    assert head() == SCHEMA_HEAD


async def test_a_database_behind_the_head_is_migrated_to_it(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0011"))
        _, before, _ = await schema(db)
        await db.migrate()
        tables, stamped, diffs = await schema(db)
    finally:
        await db.dispose()
    assert before == ["0011"]
    assert tables >= TABLES
    assert stamped == [head()]
    assert diffs == []


@pytest.mark.parametrize("scheme", ["sqlite+aiosqlite:///", "sqlite:///"])
async def test_sqlite_file_is_created_under_a_directory_that_does_not_exist_yet(
    tmp_path: Path, clock: FakeClock, scheme: str
) -> None:
    path = tmp_path / "var" / "nested" / "x.db"
    assert not path.parent.exists()
    settings = load_settings(None, {"VIGIL_DATABASE_URL": f"{scheme}{path}"})
    vigil = await Vigil.create(settings, clock=clock)
    try:
        await vigil.commands.run_incident("new Disk full", actor="@alice")
    finally:
        await vigil.close()
    assert path.is_file()
    again = await Vigil.create(settings, clock=clock)
    try:
        assert [v.title for v in await again.incidents.list()] == ["Disk full"]
    finally:
        await again.close()


async def test_default_settings_put_the_sqlite_file_under_var(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, {})
    vigil = await Vigil.create(settings, clock=clock)
    try:
        tables, stamped, _ = await schema(vigil.db)
    finally:
        await vigil.close()
    assert (tmp_path / "var" / "vigil.db").is_file()
    assert tables >= TABLES
    assert stamped == [head()]


async def test_a_database_directory_blocked_by_a_file_fails_the_start(
    tmp_path: Path, clock: FakeClock
) -> None:
    blocker = tmp_path / "var"
    blocker.write_text("a file where the directory should be")
    settings = load_settings(None, {"VIGIL_DATABASE_URL": f"sqlite:///{blocker / 'x.db'}"})
    with pytest.raises(FileExistsError):
        await Vigil.create(settings, clock=clock)
    assert blocker.read_text() == "a file where the directory should be"


@pytest.mark.postgres
async def test_replicas_started_at_once_on_a_new_database_all_start() -> None:
    """A first deploy with three replicas: each migrates the new PostgreSQL database at
    start; one does the work, the others find it done, and none exits with an error."""
    url = await postgres_url()
    replicas = [Database(url) for _ in range(3)]
    try:
        await asyncio.gather(*(db.migrate() for db in replicas))
        tables, stamped, diffs = await schema(replicas[0])
    finally:
        await asyncio.gather(*(db.dispose() for db in replicas))
    assert tables >= TABLES
    assert stamped == [head()]
    assert diffs == []
