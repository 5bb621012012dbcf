"""Small database helpers shared by the incident service and alert ingestion.

Each takes the open session explicitly (keyword ``session``) and never commits: the caller
owns the transaction, so a change and the timeline entry that records it land together.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.errors import NotFoundError
from bot.incidents.policy.classify import Signal, SubjectPolicy, signal_from_alert
from bot.incidents.views import AlertView, EventView, FiringDigest, IncidentView
from bot.store.tables import Alert, Incident, TimelineEvent

MAX_ID = 2**31 - 1  # incidents.id is a 32-bit integer on PostgreSQL


async def get_incident(
    *, session: AsyncSession, incident_id: int, for_update: bool = False
) -> Incident:
    """The incident row, or ``NotFoundError`` with a message a person can act on."""
    if not 1 <= incident_id <= MAX_ID:
        raise NotFoundError(f"There is no incident #{incident_id}.")
    stmt = select(Incident).where(col(Incident.id) == incident_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.exec(stmt)).first()
    if row is None:
        raise NotFoundError(
            f"There is no incident #{incident_id}. `/incident list --all` shows them all."
        )
    return row


_ALERT_COLUMNS: tuple[Any, ...] = (
    Alert.id,
    Alert.fingerprint,
    Alert.status,
    Alert.title,
    Alert.source,
    Alert.labels,
    Alert.annotations,
    Alert.value,
    Alert.severity_hint,
    Alert.generator_url,
    Alert.starts_at,
    Alert.ends_at,
    Alert.first_seen,
    Alert.last_seen,
    Alert.count,
)
"""The columns of an :class:`AlertView`, in its fields' order."""

_EVENT_COLUMNS: tuple[Any, ...] = (
    TimelineEvent.at,
    TimelineEvent.kind,
    TimelineEvent.actor,
    TimelineEvent.text,
    TimelineEvent.data,
)
"""The columns of an :class:`EventView`, in its fields' order."""


async def view_of(
    *, session: AsyncSession, incident: Incident, timeline: bool = True, alerts: bool = True
) -> IncidentView:
    """A snapshot of an incident (its alerts and timeline, unless ``alerts`` or ``timeline``
    is False), taken inside the transaction.

    The alerts and entries are read as plain columns straight into their views, not as
    table objects copied afterwards: pages, cards and followers each take a snapshot, and
    in a storm an incident holds hundreds of alerts (the copies were a tenth of a storm's
    CPU)."""
    assert incident.id is not None
    events: list[EventView] = []
    if timeline:
        entries: Any = (
            sa_select(*_EVENT_COLUMNS)
            .where(col(TimelineEvent.incident_id) == incident.id)
            .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
        )
        events = [EventView(*row) for row in (await session.exec(entries)).all()]
    stmt: Any = (
        sa_select(*_ALERT_COLUMNS)
        .where(col(Alert.incident_id) == incident.id)
        .order_by(col(Alert.first_seen), col(Alert.id))
    )
    shown = [AlertView(*row) for row in (await session.exec(stmt)).all()] if alerts else []
    return IncidentView.of_views(incident, shown, events)


async def firing_digest(*, session: AsyncSession, incident_id: int, limit: int) -> FiringDigest:
    """The incident's first ``limit`` firing alerts (in a snapshot's order), how many fire
    and how many there are, without reading the rest."""
    counts = select(func.count(), func.count().filter(col(Alert.status) == "firing")).where(
        col(Alert.incident_id) == incident_id
    )
    total, firing = (await session.exec(counts)).one()
    stmt: Any = (
        sa_select(*_ALERT_COLUMNS)
        .where(col(Alert.incident_id) == incident_id, col(Alert.status) == "firing")
        .order_by(col(Alert.first_seen), col(Alert.id))
        .limit(limit)
    )
    shown = tuple(AlertView(*row) for row in (await session.exec(stmt)).all())
    return FiringDigest(shown, int(firing or 0), int(total))


def add_event(
    *,
    session: AsyncSession,
    incident: Incident,
    at: datetime,
    kind: str,
    actor: str,
    text: str,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Append one timeline entry and touch the incident's ``updated_at``."""
    assert incident.id is not None
    session.add(
        TimelineEvent(
            incident_id=incident.id, at=at, kind=kind, actor=actor, text=text, data=dict(data or {})
        )
    )
    incident.updated_at = at
    session.add(incident)


async def firing_signals(
    *,
    session: AsyncSession,
    incident_id: int,
    models: Mapping[str, SubjectPolicy],
    services: Mapping[str, SubjectPolicy],
) -> list[Signal]:
    """The classification signals of an incident's firing alerts.

    Reads the four columns a signal needs, not whole rows: ingestion classifies every
    incident a post touched, and in a storm an incident holds hundreds of alerts."""
    stmt = (
        select(Alert.labels, Alert.annotations, Alert.value, Alert.severity_hint)
        .where(col(Alert.incident_id) == incident_id, col(Alert.status) == "firing")
        .order_by(col(Alert.first_seen), col(Alert.id))
    )
    return [
        signal_from_alert(labels, annotations, value, hint, models=models, services=services)
        for labels, annotations, value, hint in (await session.exec(stmt)).all()
    ]


async def firing_count(*, session: AsyncSession, incident_id: int) -> int:
    """How many of the incident's alerts are firing (pending changes flushed first)."""
    stmt = select(func.count()).where(
        col(Alert.incident_id) == incident_id, col(Alert.status) == "firing"
    )
    return int((await session.exec(stmt)).one())


async def create_incident(
    *,
    session: AsyncSession,
    title: str,
    severity: str,
    reason: str,
    source: str,
    group_key: str,
    open_key: str | None,
    service: str | None,
    model: str | None,
    actor: str,
    at: datetime,
    opened_text: str,
    data: Mapping[str, Any] | None = None,
) -> Incident:
    """Insert a triggered incident and its "opened" timeline entry; returns it with its id."""
    row = Incident(
        title=title[:300],
        severity=severity,
        severity_reason=reason,
        severity_source=source,
        state="triggered",
        group_key=group_key,
        open_key=open_key,
        service=service,
        model=model,
        created_by=actor,
        created_at=at,
        updated_at=at,
    )
    session.add(row)
    await session.flush()
    add_event(
        session=session,
        incident=row,
        at=at,
        kind="opened",
        actor=actor,
        text=opened_text,
        data=data,
    )
    return row


def enter_state(row: Incident, target: str, now: datetime) -> None:
    """Move to an allowed state with its bookkeeping, whichever operation moves it (a
    command, a containment playbook), so MTTA and time-to-contain never miss a step."""
    row.state = target
    if not row.acknowledged_at:  # acting on it means someone has seen it
        row.acknowledged_at = now
    if target == "contained":
        row.contained_at = now
    if target == "resolved":
        row.resolved_at = now
        row.open_key = None  # a new alert for the same key opens a new incident
