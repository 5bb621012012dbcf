"""model_panes.labels, model_awaiting.arrived/confidence: what label health counts

The joined labels by source, confidence and delay bin (bot.quality.labels.tally) beside each
pane's confusion, and the prediction's arrival time and confidence on each awaiting row, so
a label's delay and its prediction's confidence are known when it joins. Nullable: rows
stored before read as "not recorded".

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_panes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("labels", sa.Text(), nullable=True))
    with op.batch_alter_table("model_awaiting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("arrived", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("confidence", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_awaiting", schema=None) as batch_op:
        batch_op.drop_column("confidence")
        batch_op.drop_column("arrived")
    with op.batch_alter_table("model_panes", schema=None) as batch_op:
        batch_op.drop_column("labels")
