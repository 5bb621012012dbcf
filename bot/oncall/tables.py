"""The on-call tables (migration 0008): imported schedule overrides and active snoozes.

``schedule_overrides`` holds the overrides imported from iCalendar files (``POST
/api/v1/schedules/{name}/overrides``, ``vigil schedule import``), one row per event; the
``uid`` of the event is unique within a schedule, so importing the same file twice (or an
updated export of the same calendar) replaces rows instead of stacking copies. They live in
the database rather than in ``vigil.yaml`` so that a swap agreed at 6 p.m. reaches every
replica without a deploy.

``snoozes`` holds at most one snooze per incident (a new snooze replaces the old one): the
request as typed (re-parsed when the timer fires, so the rules live in one pure module), who
asked and when, and ``progress``: what the condition watcher has seen so far (per series,
since when the condition has held), so a restart does not start the ``for`` count again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.models import UTCDateTime


class ScheduleOverrideRow(SQLModel, table=True):
    """One imported override: ``person`` covers ``schedule`` from ``start`` to ``end``."""

    __tablename__ = "schedule_overrides"
    __table_args__ = (UniqueConstraint("schedule", "uid"),)

    id: int | None = Field(default=None, primary_key=True)
    schedule: str = Field(sa_column=Column(String(100), nullable=False, index=True))
    uid: str = Field(sa_column=Column(String(300), nullable=False))
    person: str = Field(sa_column=Column(Text, nullable=False))
    start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    source: str = Field(sa_column=Column(String(500), nullable=False))
    imported_by: str = Field(sa_column=Column(Text, nullable=False))
    imported_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


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
