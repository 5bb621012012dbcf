"""pushed_samples: the latest pushed sample of each series, shared by every replica

``POST /api/v1/samples`` kept them in the memory of the process it reached: a second
replica never judged them and a restart forgot them (bot.sources.pushed_store).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.tables

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pushed_samples",
        sa.Column("series", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=200), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("at", bot.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("series"),
    )


def downgrade() -> None:
    op.drop_table("pushed_samples")
