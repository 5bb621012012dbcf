"""model_ledger_minutes: the per-version minute ledger, flushed (bot.monitoring.ledger_store)

Additive delta rows by (model, reference, version, minute); pruned after the retention.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_ledger_minutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("reference_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.String(length=200), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.LargeBinary(), nullable=False),
        sa.Column("conf_sum", sa.Float(), nullable=False),
        sa.Column("conf_var", sa.Float(), nullable=False),
        sa.Column("latencies", sa.LargeBinary(), nullable=False),
        sa.Column("latency_rows", sa.BigInteger(), nullable=False),
        sa.Column("confusion", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("model_ledger_minutes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_model_ledger_minutes_read", ["model", "reference_id", "minute"], unique=False
        )
        batch_op.create_index("ix_model_ledger_minutes_minute", ["minute"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("model_ledger_minutes", schema=None) as batch_op:
        batch_op.drop_index("ix_model_ledger_minutes_minute")
        batch_op.drop_index("ix_model_ledger_minutes_read")
    op.drop_table("model_ledger_minutes")
