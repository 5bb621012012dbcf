"""silences; alerts.muted_by: alerts hushed by a silence, a maintenance window or inhibition

A silence is Alertmanager's (matchers, a start and an end, who and why) plus what Vigil adds:
the incident it was made for, ``expire_on_resolve``, ``expire_unused_s`` and when it last
muted an alert. ``alerts.muted_by`` (JSON, NULL for an alert that was not muted) says what
kept a stored firing alert from opening an incident, so it is released when that ends.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.tables

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = bot.store.tables.UTCDateTime(timezone=True)
    op.create_table(
        "silences",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("matchers", sa.JSON(), nullable=False),
        sa.Column("starts_at", utc, nullable=False),
        sa.Column("ends_at", utc, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("expire_on_resolve", sa.Boolean(), nullable=False),
        sa.Column("expire_unused_s", sa.Integer(), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.Column("expired_by", sa.Text(), nullable=True),
        sa.Column("last_matched_at", utc, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("silences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_silences_ends_at"), ["ends_at"], unique=False)
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("muted_by", sa.JSON(), nullable=True))
    # Every ingest looks up its fingerprints among the muted alerts: a partial index holds
    # only those, so the look-up costs nothing while nothing is muted (a storm's batches).
    op.create_index(
        "ix_alerts_muted_fingerprint",
        "alerts",
        ["fingerprint"],
        postgresql_where=sa.text("muted_by IS NOT NULL"),
        sqlite_where=sa.text("muted_by IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_muted_fingerprint", table_name="alerts")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("muted_by")
    with op.batch_alter_table("silences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_silences_ends_at"))
    op.drop_table("silences")
