"""retrain_runs: every retraining Vigil asked for (bot.retrain)

One row per run, unique by its dedup key; ``active_model`` (unique, NULL once the run
ends) keeps one run in flight per model.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.tables

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = bot.store.tables.UTCDateTime(timezone=True)
    op.create_table(
        "retrain_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("dedup_key", sa.String(length=250), nullable=False),
        sa.Column("active_model", sa.String(length=200), nullable=True),
        sa.Column("orchestrator", sa.String(length=16), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=250), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("version", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("requested_at", utc, nullable=False),
        sa.Column("finished_at", utc, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active_model"),
        sa.UniqueConstraint("dedup_key"),
    )
    with op.batch_alter_table("retrain_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retrain_runs_model"), ["model"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("retrain_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retrain_runs_model"))
    op.drop_table("retrain_runs")
