"""The ``outbox`` table (migration 0004): every message Vigil owes a chat, until it is sent.

A row is written in the same transaction as the change it reports (``bot.outbox.feed``), so
a committed change always has its message and a rolled-back one never does. The worker
(``bot.outbox.worker``) sends the rows of each incident in ``id`` order and marks each one
``sent_at`` or ``given_up_at``; rows are kept afterwards as the delivery record.

``next_attempt_at`` doubles as the claim: a worker moves it a lease into the future before
sending, so another worker (or process) leaves the row alone while it is in flight.
``last_error`` holds the classified reason only (an error code, an HTTP status), never a
token or a message body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Text
from sqlmodel import Field, SQLModel, col

from bot.store.tables import UTCDateTime

PAGE = "page"  # the kind of a page's DM row: a queue of its own per incident


def _utc(*, nullable: bool, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class OutboxRow(SQLModel, table=True):
    """One outbound message: what to say (``kind`` + ``payload``) and how delivery went."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=True, index=True),
    )
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc(nullable=False)
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = _utc(nullable=False, index=True)
    sent_at: datetime | None = _utc(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    given_up_at: datetime | None = _utc(nullable=True)


UNFINISHED = (col(OutboxRow.sent_at).is_(None), col(OutboxRow.given_up_at).is_(None))
"""The condition "neither sent nor given up": what the worker and the feed call waiting."""
