"""The snoozes' table (migration 0008): the active (or last) snooze of each incident.

``snoozes`` holds at most one snooze per incident (a new snooze replaces the old one): the
request as typed (re-parsed when the timer fires, so the rules live in one pure module), who
asked and when, and ``progress``: what the condition watcher has seen so far (per series,
since when the condition has held), so a restart does not start the ``for`` count again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Text
from sqlmodel import Field, SQLModel

from bot.store.tables import UTCDateTime


class SnoozeRow(SQLModel, table=True):
    """The active (or last) snooze of one incident; ``ended_at`` set once it is over."""

    __tablename__ = "snoozes"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(
        sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False, unique=True)
    )
    request: str = Field(sa_column=Column(Text, nullable=False))
    snoozed_by: str = Field(sa_column=Column(Text, nullable=False))
    snoozed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    until: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    progress: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    ended_why: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
