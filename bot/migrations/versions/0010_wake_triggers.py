"""PostgreSQL: NOTIFY vigil_wake when follow-ups, outbox rows or timers are written

A committed ``reactions``, ``outbox`` or ``vigil_timers`` row wakes whichever process runs
them (``bot.store.wakeups``), even when another process wrote it: the HTTP process of a split
``vigil serve``, a second replica, the CLI. The trigger is per statement and PostgreSQL
folds equal notifications of one transaction into one, delivered at its commit (never for
a rollback). SQLite has no NOTIFY; there nothing changes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WOKEN = ("reactions", "outbox", "vigil_timers")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION vigil_wake() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('vigil_wake', TG_TABLE_NAME);
            RETURN NULL;
        END
        $$
        """
    )
    for table in WOKEN:
        op.execute(
            f"CREATE TRIGGER {table}_wake AFTER INSERT ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION vigil_wake()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in WOKEN:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_wake ON {table}")
    op.execute("DROP FUNCTION IF EXISTS vigil_wake()")
