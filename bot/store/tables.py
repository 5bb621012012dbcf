"""SQLModel tables: alerts, incidents and their timeline.

Alembic owns the schema (``bot/migrations``); these classes describe it to the ORM. Times are
stored in UTC and always come back timezone-aware (``UTCDateTime``), on SQLite as on
PostgreSQL, so arithmetic such as time-to-acknowledge never mixes naive and aware values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """A DateTime that refuses naive values going in and returns aware UTC values coming out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_column(*, nullable: bool, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Incident(SQLModel, table=True):
    """The human-facing unit: one problem, one commander, one timeline.

    ``open_key`` holds a digest of the grouping key while the incident is open and NULL once
    resolved; a unique index on it is what guarantees at most one open incident per key even
    when two alert posts race. (A digest, because label values may be long and an index on
    the raw key could exceed PostgreSQL's index row size.)
    """

    __tablename__ = "incidents"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_column=Column(String(300), nullable=False))
    severity: str = Field(sa_column=Column(String(2), nullable=False))
    severity_reason: str = Field(sa_column=Column(Text, nullable=False))
    severity_source: str = Field(sa_column=Column(String(16), nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    commander: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    group_key: str = Field(sa_column=Column(Text, nullable=False, index=True))
    open_key: str | None = Field(
        default=None, sa_column=Column(String(64), nullable=True, unique=True)
    )
    service: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    model: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _utc_column(nullable=False, index=True)
    updated_at: datetime = _utc_column(nullable=False)
    acknowledged_at: datetime | None = _utc_column(nullable=True)
    contained_at: datetime | None = _utc_column(nullable=True)
    resolved_at: datetime | None = _utc_column(nullable=True)
    # Every alert had cleared (open incidents only): escalation stopped, auto-resolve due.
    cleared_at: datetime | None = _utc_column(nullable=True)


class Alert(SQLModel, table=True):
    """One alert identity (fingerprint) within one incident, updated in place on repeats.

    ``incident_id`` is NULL for a resolved alert that arrived with no open incident to
    attach to, and for a firing alert a silence, a maintenance window or inhibition kept from
    opening one (``muted_by`` says which, migration 0017): it is still stored, so nothing a
    sender told us is lost, and a muted alert still firing when its mute ends is released.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "ix_alerts_muted_fingerprint",
            "fingerprint",
            postgresql_where=text("muted_by IS NOT NULL"),
            sqlite_where=text("muted_by IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=True, index=True),
    )
    fingerprint: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    source: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    title: str = Field(sa_column=Column(String(1024), nullable=False))
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    annotations: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    value: float | None = None
    severity_hint: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    generator_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    starts_at: datetime = _utc_column(nullable=False)
    ends_at: datetime | None = _utc_column(nullable=True)
    first_seen: datetime = _utc_column(nullable=False)
    last_seen: datetime = _utc_column(nullable=False)
    count: int = 1
    # none_as_null: an alert nothing muted is SQL NULL, not JSON 'null' (the partial index
    # and every "muted_by IS NOT NULL" read rely on it).
    muted_by: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )


class TimelineEvent(SQLModel, table=True):
    """Something that happened to an incident: an alert, a command, a change of severity."""

    __tablename__ = "timeline_events"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(
        sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False, index=True)
    )
    at: datetime = _utc_column(nullable=False)
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    actor: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Page(SQLModel, table=True):
    """One page sent to one person for one incident, and when (if) it was acknowledged.

    ``step`` is the escalation step (0-based over all levels and repeats), so after a restart
    the pager knows exactly which steps went out and never pages a step twice.
    """

    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("incident_id", "step", "target"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(
        sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False, index=True)
    )
    step: int
    level: int
    target: str = Field(sa_column=Column(Text, nullable=False))
    channel: str = Field(sa_column=Column(String(32), nullable=False))
    sent_at: datetime = _utc_column(nullable=False)
    acknowledged_at: datetime | None = _utc_column(nullable=True)
    acknowledged_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


# Durable timers (``bot.store.timers``, migration 0012): one row per key, due at ``due_at``.
# ``token`` is new at every write (a schedule or a claim), so a claim, a retry and the
# delete after a handler each name the exact version of the row they read: a timer a
# handler set anew under the same key is never taken for the one it replaced.
def timers_table(name: str, metadata: MetaData) -> Table:
    """The timers table's shape under ``name`` (tests give a Timers a table of its own)."""
    return Table(
        name,
        metadata,
        Column("key", String(191), primary_key=True),
        Column("kind", String(64), nullable=False),
        Column("due_at", UTCDateTime(), nullable=False, index=True),
        Column("payload", Text, nullable=False),  # JSON text
        Column("attempt", Integer, nullable=False),  # failed runs so far (the retry's backoff)
        Column("token", String(32), nullable=False),
    )


TIMERS_TABLE = timers_table("timers", SQLModel.metadata)


class HealthProbe(SQLModel, table=True):
    """The one row ``/healthz`` writes (migration 0009): "can the database be written?" is
    answered by writing, so a read-only or full database is not called up."""

    __tablename__ = "vigil_health"

    id: int | None = Field(default=None, primary_key=True)
    probed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
