"""shadow_versions, shadow_live, shadow_waiting, shadow_paired, shadow_tallies: shadow mode

Shadow mode paired live and shadow rows in the memory of the process a post reached: with
two replicas a shadow row on one never met its live row on the other, and a restart forgot
every pair (bot.monitoring.shadow_store). Nothing is carried over: shadowing starts afresh.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def _row_key(*names: str) -> list[sa.Column[object]]:
    lengths = {"model": 200, "version": 200, "row_id": 200}
    return [sa.Column(name, sa.String(length=lengths[name]), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "shadow_versions",
        *_row_key("model"),
        sa.Column("reference_id", sa.BigInteger(), nullable=False),
        *_row_key("version"),
        sa.Column("first_at", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model", "reference_id", "version"),
    )
    op.create_table(
        "shadow_live",
        *_row_key("model", "row_id"),
        sa.Column("reference_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("row", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("model", "row_id"),
    )
    op.create_table(
        "shadow_waiting",
        *_row_key("model", "version", "row_id"),
        sa.Column("reference_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("row", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("model", "version", "row_id"),
    )
    with op.batch_alter_table("shadow_waiting", schema=None) as batch_op:
        batch_op.create_index("ix_shadow_waiting_id", ["model", "row_id"], unique=False)
    op.create_table(
        "shadow_paired",
        *_row_key("model", "version", "row_id"),
        sa.Column("reference_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("live", sa.Text(), nullable=False),
        sa.Column("shadow", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("model", "version", "row_id"),
    )
    with op.batch_alter_table("shadow_paired", schema=None) as batch_op:
        batch_op.create_index("ix_shadow_paired_id", ["model", "row_id"], unique=False)
    op.create_table(
        "shadow_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        *_row_key("model"),
        sa.Column("reference_id", sa.BigInteger(), nullable=False),
        *_row_key("version"),
        sa.Column("counts", sa.LargeBinary(), nullable=False),
        sa.Column("sums", sa.LargeBinary(), nullable=False),
        sa.Column("segments", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("shadow_tallies", schema=None) as batch_op:
        batch_op.create_index(
            "ix_shadow_tallies_read", ["model", "reference_id", "version"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("shadow_tallies", schema=None) as batch_op:
        batch_op.drop_index("ix_shadow_tallies_read")
    op.drop_table("shadow_tallies")
    with op.batch_alter_table("shadow_paired", schema=None) as batch_op:
        batch_op.drop_index("ix_shadow_paired_id")
    op.drop_table("shadow_paired")
    with op.batch_alter_table("shadow_waiting", schema=None) as batch_op:
        batch_op.drop_index("ix_shadow_waiting_id")
    op.drop_table("shadow_waiting")
    op.drop_table("shadow_live")
    op.drop_table("shadow_versions")
