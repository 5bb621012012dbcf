"""The ``heartbeats`` table (migration 0006): each configured heartbeat's last run.

One row per heartbeat name, created when Vigil first knows the heartbeat (``known_since``:
a job that never reports is late from then on, across restarts) and updated in place by
every beat. The ``last_*`` columns belong to the run with the latest finish time
(``last_beat_at``), so a delayed, older beat never hides a newer one; ``beats`` counts every
beat received. ``learned_schema_hash`` is the first schema hash ever received.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Float, Integer, String
from sqlmodel import Field, SQLModel

from bot.store.tables import UTCDateTime


def _utc(*, nullable: bool) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable))


class HeartbeatRow(SQLModel, table=True):
    """One heartbeat's state; see the module docstring."""

    __tablename__ = "heartbeats"

    name: str = Field(sa_column=Column(String(100), primary_key=True))
    known_since: datetime = _utc(nullable=False)
    last_beat_at: datetime | None = _utc(nullable=True)
    last_rows: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_schema_hash: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    learned_schema_hash: str | None = Field(
        default=None, sa_column=Column(String(200), nullable=True)
    )
    last_label_delay_s: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    beats: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    updated_at: datetime = _utc(nullable=False)
