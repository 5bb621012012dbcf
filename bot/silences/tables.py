"""The ``silences`` table (migration 0017): every silence, active, pending or over.

A row is never deleted: an expired silence stays readable (Alertmanager keeps them for its
retention; Vigil keeps them with the incidents they explain). Ending a silence early moves
``ends_at`` to that moment and names who did it (``expired_by``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Integer, String, Text
from sqlmodel import Field, SQLModel

from bot.store.tables import UTCDateTime


def _utc(*, nullable: bool, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class SilenceRow(SQLModel, table=True):
    """One silence: Alertmanager's fields, plus the incident it was made for and how it ends
    itself (``expire_on_resolve``, ``expire_unused_s``)."""

    __tablename__ = "silences"

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    matchers: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    starts_at: datetime = _utc(nullable=False)
    ends_at: datetime = _utc(nullable=False, index=True)
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    comment: str = Field(sa_column=Column(Text, nullable=False))
    incident_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    expire_on_resolve: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, default=False)
    )
    expire_unused_s: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    created_at: datetime = _utc(nullable=False)
    updated_at: datetime = _utc(nullable=False)
    expired_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_matched_at: datetime | None = _utc(nullable=True)
