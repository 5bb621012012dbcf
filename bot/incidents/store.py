"""Small database helpers shared by the incident service and alert ingestion.

Each takes the open session explicitly (keyword ``session``) and never commits: the caller
owns the transaction, so a change and the timeline entry that records it land together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.errors import NotFoundError
from bot.incidents.classify import Signal, SubjectPolicy, signal_from_alert
from bot.incidents.views import IncidentView
from bot.models import Alert, Incident, TimelineEvent

Clock = Callable[[], datetime]
MAX_ID = 2**31 - 1  # incidents.id is a 32-bit integer on PostgreSQL


def utcnow() -> datetime:
    """The default clock; tests inject their own."""
    return datetime.now(UTC)


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


async def alerts_of(*, session: AsyncSession, incident_id: int) -> list[Alert]:
    stmt = (
        select(Alert)
        .where(col(Alert.incident_id) == incident_id)
        .order_by(col(Alert.first_seen), col(Alert.id))
    )
    return list((await session.exec(stmt)).all())


async def view_of(
    *, session: AsyncSession, incident: Incident, timeline: bool = True
) -> IncidentView:
    """A snapshot of an incident (alerts, and the timeline unless ``timeline`` is False),
    taken inside the transaction."""
    assert incident.id is not None
    events: Sequence[TimelineEvent] = []
    if timeline:
        events = (
            await session.exec(
                select(TimelineEvent)
                .where(col(TimelineEvent.incident_id) == incident.id)
                .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
            )
        ).all()
    alerts = await alerts_of(session=session, incident_id=incident.id)
    return IncidentView.of(incident, alerts, list(events))


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
