"""timers: durable timers in a table of Vigil's own; pending APScheduler rows moved into it

Until now each timer was a row of APScheduler 3's job store (``vigil_timers``): a pickled
job naming ``bot.scheduler:_fire`` with the arguments ``(kind, key, payload)``. The timers
are now rows of ``timers`` (``bot.store.timers``) with those three as plain columns. Every pending
row is moved, at its due time and with its retry count; a row that cannot be read is
logged and left in ``vigil_timers`` (which then stays), never dropped in silence. The
PostgreSQL wake-up trigger (migration 0010) moves with the rows.

The downgrade writes the rows back as APScheduler jobs, exactly as the old code wrote them,
so a rolled-back Vigil fires them too.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import json
import logging
import pickle
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import bot.store.tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

log = logging.getLogger("bot.migrations")

OLD = "vigil_timers"
FIRE_REF = "bot.scheduler:_fire"  # what every old row names; the old code resolves it
PICKLE_PROTOCOL = pickle.HIGHEST_PROTOCOL  # SQLAlchemyJobStore's default

old_t = sa.table(
    OLD,
    sa.column("id", sa.Unicode(191)),
    sa.column("next_run_time", sa.Float(25)),
    sa.column("job_state", sa.LargeBinary()),
)
new_t = sa.table(
    "timers",
    sa.column("key", sa.String(191)),
    sa.column("kind", sa.String(64)),
    sa.column("due_at", bot.store.tables.UTCDateTime()),
    sa.column("payload", sa.Text()),
    sa.column("attempt", sa.Integer()),
    sa.column("token", sa.String(32)),
)


def _from_job(key: str, next_run_time: float | None, blob: bytes) -> dict[str, Any]:
    """One APScheduler row as a ``timers`` row; ValueError (or any unpickling error) when
    it is not a timer the old code wrote."""
    state = pickle.loads(blob)  # noqa: S301 (rows Vigil itself wrote, in its own database)
    args, kwargs = state["args"], state.get("kwargs") or {}
    if len(args) != 3:
        raise ValueError(f"arguments {len(args)}, not (kind, key, payload)")
    kind, _key, payload = args
    if not isinstance(kind, str) or not isinstance(payload, dict):
        raise ValueError("arguments are not (kind, key, payload)")
    due = state.get("next_run_time")
    if not isinstance(due, datetime):
        if next_run_time is None:
            raise ValueError("no due time")
        due = datetime.fromtimestamp(next_run_time, UTC)
    return {
        "key": key,
        "kind": kind,
        "due_at": due.astimezone(UTC),
        "payload": json.dumps(payload, allow_nan=False),
        "attempt": int(kwargs.get("attempt", 0)),
        "token": uuid.uuid4().hex,
    }


def _to_job(row: Any) -> dict[str, Any]:
    """One ``timers`` row as the old code's APScheduler row (its ``Job.__getstate__``)."""
    from apscheduler.triggers.date import DateTrigger

    at: datetime = row.due_at
    state = {
        "version": 1,
        "id": row.key,
        "func": FIRE_REF,
        "trigger": DateTrigger(run_date=at, timezone=UTC),
        "executor": "default",
        "args": [row.kind, row.key, json.loads(row.payload)],
        "kwargs": {"attempt": row.attempt} if row.attempt else {},
        "name": f"{row.kind} {row.key}",
        "misfire_grace_time": None,
        "coalesce": True,
        "max_instances": 1,
        "next_run_time": at,
    }
    return {
        "id": row.key,
        "next_run_time": at.timestamp(),
        "job_state": pickle.dumps(state, PICKLE_PROTOCOL),
    }


def _wake_trigger(table: str, *, create: bool) -> None:
    """Migration 0010's NOTIFY trigger on ``table`` (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    if create:
        op.execute(
            f"CREATE TRIGGER {table}_wake AFTER INSERT ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION vigil_wake()"
        )
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_wake ON {table}")


def _create_old_table() -> None:
    op.create_table(  # as migration 0003 made it
        OLD,
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table(OLD, schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vigil_timers_next_run_time"), ["next_run_time"], unique=False
        )


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "timers",
        sa.Column("key", sa.String(length=191), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("due_at", bot.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_timers_due_at"), ["due_at"], unique=False)

    moved: list[dict[str, Any]] = []
    kept: list[str] = []
    for key, next_run_time, blob in bind.execute(sa.select(old_t)).all():
        try:
            moved.append(_from_job(key, next_run_time, blob))
        except Exception as exc:
            kept.append(key)
            log.error(
                "timer %r could not be read (%s: %s); it will NOT fire. It stays in table "
                "%s: schedule it again by hand if it is still needed (an escalation, an "
                "SLA check), then delete that row",
                key,
                type(exc).__name__,
                exc,
                OLD,
            )
    if moved:
        bind.execute(new_t.insert(), moved)
        bind.execute(old_t.delete().where(old_t.c.id.in_([row["key"] for row in moved])))
    _wake_trigger(OLD, create=False)
    _wake_trigger("timers", create=True)
    if kept:
        log.error("%d timer(s) left unread in %s: %s", len(kept), OLD, ", ".join(kept))
        return
    with op.batch_alter_table(OLD, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vigil_timers_next_run_time"))
    op.drop_table(OLD)


def downgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table(OLD):
        _create_old_table()
    rows = [_to_job(row) for row in bind.execute(sa.select(new_t)).all()]
    if rows:
        bind.execute(old_t.delete().where(old_t.c.id.in_([row["id"] for row in rows])))
        bind.execute(old_t.insert(), rows)
    _wake_trigger("timers", create=False)
    _wake_trigger(OLD, create=False)  # kept by the upgrade, it still had its trigger
    _wake_trigger(OLD, create=True)
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timers_due_at"))
    op.drop_table("timers")
