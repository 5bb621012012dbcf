"""Alembic environment: runs on the connection Vigil hands it (see
``bot.store.db.Database.migrate``).

For ``alembic`` on the command line (autogenerate while developing), it builds a synchronous
engine from ``VIGIL_DATABASE_URL`` instead.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import bot.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from bot.chat.slack import tables as _slack_tables  # noqa: F401  (slack cards, migration 0005)
from bot.heartbeats import tables as _heartbeat_tables  # noqa: F401  (heartbeats, migration 0006)
from bot.incidents.reactions import tables as _reactions  # noqa: F401  (reactions, migration 0009)
from bot.monitoring import shadow_tables as _shadow_tables  # noqa: F401  (shadow mode, 0021)
from bot.monitoring import tables as _monitoring_tables  # noqa: F401  (references 0007, panes 0018)
from bot.oncall.schedules import tables as _schedule_tables  # noqa: F401  (overrides: 0008)
from bot.oncall.snooze import tables as _snooze_tables  # noqa: F401  (snoozes: migration 0008)
from bot.outbox import tables as _outbox_tables  # noqa: F401  (outbox, migration 0004)
from bot.registry import tables as _registry_tables  # noqa: F401  (registry + run tables)
from bot.retrain import tables as _retrain_tables  # noqa: F401  (retrain runs, migration 0014)
from bot.rollouts import tables as _rollout_tables  # noqa: F401  (rollouts, migration 0016)
from bot.silences import tables as _silence_tables  # noqa: F401  (silences, migration 0017)
from bot.sources import pushed_store as _pushed  # noqa: F401  (pushed samples, migration 0020)

target_metadata = SQLModel.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = os.environ.get("VIGIL_DATABASE_URL", "sqlite:///var/vigil.db")
    url = url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")
    with create_engine(url).connect() as conn:
        _run(conn)
