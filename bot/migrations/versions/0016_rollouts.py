"""rollouts, rollout_looks, slack_threads: progressive rollouts driven by the canary judge

``active_model`` (unique, NULL once the rollout ends) keeps one rollout per model; one
``rollout_looks`` row per look holds the judge's verdict, score and reasons;
``slack_threads`` is where each rollout's one Slack message is (edited in place).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.tables

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = bot.store.tables.UTCDateTime(timezone=True)
    op.create_table(
        "rollouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=200), nullable=False),
        sa.Column("baseline", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("every_s", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("active_model", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("looks", sa.Integer(), nullable=False),
        sa.Column("started_at", utc, nullable=False),
        sa.Column("next_look_at", utc, nullable=True),
        sa.Column("ended_at", utc, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active_model"),
    )
    with op.batch_alter_table("rollouts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rollouts_model"), ["model"], unique=False)
    op.create_table(
        "rollout_looks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rollout_id", sa.Integer(), nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=1000), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rollout_looks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rollout_looks_rollout_id"), ["rollout_id"], unique=False
        )
    op.create_table(
        "slack_threads",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("posted_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("slack_threads")
    with op.batch_alter_table("rollout_looks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rollout_looks_rollout_id"))
    op.drop_table("rollout_looks")
    with op.batch_alter_table("rollouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rollouts_model"))
    op.drop_table("rollouts")
