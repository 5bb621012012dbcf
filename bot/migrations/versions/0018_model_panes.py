"""model_panes, model_awaiting: the model monitor's windows and label join, in the database

Merged sketches by (model, reference, version, minute), appended by every replica's writes
and folded once the minute is over, and the predictions awaiting their labels
(bot.monitoring.panes.store). model_ledger_minutes (0015) goes: the panes hold all it held,
stored as each post is answered; the ledger's last day of canary evidence is not carried
over (a rollout judged across the upgrade compares from the upgrade on).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_ledger_minutes", schema=None) as batch_op:
        batch_op.drop_index("ix_model_ledger_minutes_minute")
        batch_op.drop_index("ix_model_ledger_minutes_read")
    op.drop_table("model_ledger_minutes")
    op.create_table(
        "model_panes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("reference_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.String(length=200), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.LargeBinary(), nullable=False),
        sa.Column("sums", sa.LargeBinary(), nullable=False),
        sa.Column("first", sa.BigInteger(), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.Column("confusion", sa.Text(), nullable=False),
        sa.Column("latencies", sa.LargeBinary(), nullable=False),
        sa.Column("latency_rows", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("model_panes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_model_panes_read", ["model", "reference_id", "minute"], unique=False
        )
        batch_op.create_index("ix_model_panes_minute", ["minute"], unique=False)
    op.create_table(
        "model_awaiting",
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("row_id", sa.String(length=200), nullable=False),
        sa.Column("reference_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.String(length=200), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("predicted", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("model", "row_id"),
    )
    with op.batch_alter_table("model_awaiting", schema=None) as batch_op:
        batch_op.create_index("ix_model_awaiting_minute", ["model", "minute"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("model_awaiting", schema=None) as batch_op:
        batch_op.drop_index("ix_model_awaiting_minute")
    op.drop_table("model_awaiting")
    with op.batch_alter_table("model_panes", schema=None) as batch_op:
        batch_op.drop_index("ix_model_panes_minute")
        batch_op.drop_index("ix_model_panes_read")
    op.drop_table("model_panes")
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
