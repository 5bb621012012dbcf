"""incidents.cleared_at: when every alert of an open incident had cleared (auto-resolve);
an index on incidents.group_key

Set when an incident's last firing alert clears, emptied when one fires again. While it is
set, escalation is stopped and the incident resolves by itself after its severity's quiet
period (``bot.incidents.auto_resolve``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.tables

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cleared_at", bot.store.tables.UTCDateTime(timezone=True), nullable=True)
        )
        # A new incident looks up the last one of its key ("the same alerts were #12").
        batch_op.create_index(batch_op.f("ix_incidents_group_key"), ["group_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_group_key"))
        batch_op.drop_column("cleared_at")
