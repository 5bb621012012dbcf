"""The schedules' table (migration 0008): the overrides imported from calendars.

``schedule_overrides`` holds the overrides imported from iCalendar files (``POST
/api/v1/schedules/{name}/overrides``, ``vigil schedule import``), one row per event; the
``uid`` of the event is unique within a schedule, so importing the same file twice (or an
updated export of the same calendar) replaces rows instead of stacking copies. They live in
the database rather than in ``vigil.yaml`` so that a swap agreed at 6 p.m. reaches every
replica without a deploy.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.tables import UTCDateTime


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
