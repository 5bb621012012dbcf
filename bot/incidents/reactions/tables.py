"""The ``reactions`` table (migration 0009): follow-ups a committed change still owes.

Why a table: paging, the SLA timer, the PagerDuty mirror and the post-mortem draft used to
be after-commit listeners. When one failed (SQLite said "database is locked" under a storm
of alerts), the failure was logged and swallowed, and a P1 was never paged; a process killed
between the commit and the listener lost the page the same way. Now the change's own
transaction writes one row per follow-up
(:meth:`bot.incidents.reactions.changes.Notifier.stage`), so a committed change always has
its follow-ups and a rolled-back one never does; the
:class:`bot.incidents.reactions.reactor.Reactor` runs each row until it succeeds, with
backoff, and deletes it. A restart (or the other replica) runs whatever is still due.

``due_at`` doubles as the claim, as in the outbox: a worker moves it a lease into the future
before running the row, so nobody else runs it meanwhile; a process that dies mid-run leaves
the row to be run again once the lease is over (at least once: every follow-up is written to
be safe to repeat). ``last_error`` holds the exception's class only, never its message,
which could carry what a person typed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Text
from sqlmodel import Field, SQLModel

from bot.store.tables import UTCDateTime


def _utc(*, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=False, index=index))


class Reaction(SQLModel, table=True):
    """One follow-up: which listener (``follower``) runs it, for which incident, with what."""

    __tablename__ = "reactions"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=True, index=True),
    )
    follower: str = Field(sa_column=Column(String(48), nullable=False))
    # A change's kind, actor and text; or the follower's own arguments (a page to send).
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()
    due_at: datetime = _utc(index=True)
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
