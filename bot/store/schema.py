"""Bringing the schema to this version's newest migration, loading Alembic only when there is
something to migrate.

Every short command (``vigil incidents``, ``report``, ``model list``…) and every start
migrates first. Alembic (with Mako and Pygments behind it) costs more to import than the
rest of such a command, and almost always finds nothing to do; so the ``alembic_version``
row is read with plain SQL first and compared with :data:`SCHEMA_HEAD`, and Alembic is
imported (inside the functions below, a third-party library where it is used) only when they
differ: a new database, an older schema, or one newer than this code (where Alembic refuses
with the error it always gave).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
SCHEMA_HEAD = "0021"
"""The newest migration's revision (``bot/migrations/versions/``), known without loading
Alembic; tests/integration/test_migrations.py fails when a new migration leaves it behind."""


def stamped(connection: Connection) -> set[str]:
    """The revisions the database says it is at (none for a new database)."""
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


MIGRATION_LOCK = 0x76696769  # "vigi": the advisory lock key every Vigil process agrees on
"""PostgreSQL advisory lock taken while migrating: two replicas started at once on a new
database (a first deploy with ``replicas: 2``) would otherwise both create ``alembic_version``
and one would exit with a duplicate-key error."""


def upgrade(connection: Connection) -> None:
    """Apply every migration not yet applied, on ``connection``'s transaction; nothing at all
    (not even an import of Alembic) when the database is already at :data:`SCHEMA_HEAD`.
    On PostgreSQL one process migrates at a time (:data:`MIGRATION_LOCK`, held until the
    transaction ends); the next finds the work done."""
    if stamped(connection) == {SCHEMA_HEAD}:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        if stamped(connection) == {SCHEMA_HEAD}:  # another process migrated meanwhile
            return
    from alembic import command  # only when there is something to migrate (see the module)

    command.upgrade(alembic_config(connection), "head")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code, so installed copies need no alembic.ini."""
    from alembic.config import Config  # loaded with the migrations (see the module)

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg
