"""The incident service: open, acknowledge, set severity, assign, note, contain, resolve.

Every change is one transaction that also writes the timeline entry describing it, so the
timeline can never disagree with the state. After the commit, listeners (the chat backend,
later paging) hear about the change; a failing listener is logged and never undoes it.
Alert ingestion lives in ``bot.incidents.ingest`` and shares ``IncidentSettings``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from sqlalchemy import case
from sqlmodel import col, select

from bot.db import Database
from bot.errors import ValidationError
from bot.incidents import store
from bot.incidents.classify import (
    DEFAULT_POLICY,
    SEVERITIES,
    Policy,
    SubjectPolicy,
)
from bot.incidents.fingerprint import DEFAULT_GROUP_BY
from bot.incidents.states import OPEN_STATES, check_transition
from bot.incidents.views import IncidentView
from bot.models import Incident

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncidentSettings:
    """What decides grouping and severity; built from ``vigil.yaml`` by ``bot.config``."""

    group_by: tuple[str, ...] = DEFAULT_GROUP_BY
    policy: Policy = DEFAULT_POLICY
    models: Mapping[str, SubjectPolicy] = field(default_factory=lambda: MappingProxyType({}))
    services: Mapping[str, SubjectPolicy] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Change:
    """Told to listeners after a committed change: what happened, to which incident, by whom."""

    kind: str  # opened | severity | state | commander | note | alert
    incident: IncidentView
    actor: str
    text: str


Listener = Callable[[Change], Awaitable[None]]


class Notifier:
    """Fans committed changes out to listeners; one failing listener does not stop the rest."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def publish(self, changes: Sequence[Change]) -> None:
        for change in changes:
            for listener in self._listeners:
                try:
                    await listener(change)
                except Exception:
                    log.exception(
                        "listener failed for %s on incident #%s", change.kind, change.incident.id
                    )


def _severity(value: str) -> str:
    sev = value.strip().upper()
    if sev not in SEVERITIES:
        raise ValidationError("severity", f"must be one of P1, P2, P3, P4, got {value!r}")
    return sev


class IncidentService:
    """Human-driven operations on incidents (the ``/incident`` commands and the API)."""

    def __init__(
        self,
        db: Database,
        *,
        notifier: Notifier | None = None,
        clock: store.Clock = store.utcnow,
    ) -> None:
        self._db = db
        self.notifier = notifier or Notifier()
        self._clock = clock

    async def open(
        self,
        *,
        title: str,
        actor: str,
        severity: str | None = None,
        service: str | None = None,
        model: str | None = None,
    ) -> IncidentView:
        """Open an incident by hand. Alerts never join it: it has no grouping key."""
        title = title.strip()
        if not title:
            raise ValidationError("title", "an incident needs a title")
        if len(title) > 300:
            raise ValidationError("title", "must be at most 300 characters")
        now = self._clock()
        if severity is not None:
            sev, source = _severity(severity), "human"
            reason = f"{sev}: set by {actor} when opening the incident"
        else:
            sev, source = "P4", "policy"
            reason = "P4: opened by hand without a severity; set one with /incident sev N P1..P4"
        subject = f"service={service}" if service else f"model={model}" if model else ""
        async with self._db.session() as s, s.begin():
            row = Incident(
                title=title,
                severity=sev,
                severity_reason=reason,
                severity_source=source,
                state="triggered",
                group_key=f"manual:{subject}",
                open_key=None,
                service=service,
                model=model,
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            await s.flush()
            store.add_event(
                session=s,
                incident=row,
                at=now,
                kind="opened",
                actor=actor,
                text=f"Opened by {actor}: {title}",
            )
            store.add_event(
                session=s,
                incident=row,
                at=now,
                kind="severity",
                actor=actor,
                text=reason,
                data={"severity": sev, "source": source},
            )
            view = await store.view_of(session=s, incident=row)
        await self.notifier.publish([Change("opened", view, actor, f"Opened by {actor}")])
        return view

    async def get(self, incident_id: int) -> IncidentView:
        async with self._db.session() as s, s.begin():
            row = await store.get_incident(session=s, incident_id=incident_id)
            return await store.view_of(session=s, incident=row)

    async def list(self, *, include_closed: bool = False, limit: int = 50) -> list[IncidentView]:
        """Open incidents, most severe first then newest; with ``include_closed`` the newest."""
        stmt = select(Incident)
        if include_closed:
            stmt = stmt.order_by(col(Incident.id).desc())
        else:
            rank = case({s: i for i, s in enumerate(SEVERITIES)}, value=col(Incident.severity))
            stmt = stmt.where(col(Incident.state).in_(OPEN_STATES)).order_by(
                rank, col(Incident.id).desc()
            )
        async with self._db.session() as s, s.begin():
            rows = (await s.exec(stmt.limit(limit))).all()
            return [await store.view_of(session=s, incident=r) for r in rows]

    async def acknowledge(self, incident_id: int, *, actor: str) -> IncidentView:
        return await self._transition(incident_id, "acknowledged", actor=actor)

    async def contain(self, incident_id: int, *, actor: str) -> IncidentView:
        return await self._transition(incident_id, "contained", actor=actor)

    async def resolve(
        self, incident_id: int, *, actor: str, text: str | None = None
    ) -> IncidentView:
        return await self._transition(incident_id, "resolved", actor=actor, text=text)

    async def _transition(
        self, incident_id: int, target: str, *, actor: str, text: str | None = None
    ) -> IncidentView:
        now = self._clock()
        async with self._db.session() as s, s.begin():
            row = await store.get_incident(session=s, incident_id=incident_id, for_update=True)
            check_transition(incident_id, row.state, target)
            before, row.state = row.state, target
            if target in ("acknowledged", "contained", "resolved") and not row.acknowledged_at:
                row.acknowledged_at = now
            if target == "contained":
                row.contained_at = now
            if target == "resolved":
                row.resolved_at = now
                row.open_key = None  # a new alert for the same key opens a new incident
            line = f"{target.capitalize()} by {actor}" + (f": {text}" if text else "")
            store.add_event(
                session=s,
                incident=row,
                at=now,
                kind="state",
                actor=actor,
                text=line,
                data={"from": before, "to": target},
            )
            view = await store.view_of(session=s, incident=row)
        await self.notifier.publish([Change("state", view, actor, line)])
        return view

    async def set_severity(self, incident_id: int, severity: str, *, actor: str) -> IncidentView:
        """A human's severity wins over the policy from now on, and the change is recorded."""
        sev = _severity(severity)
        now = self._clock()
        async with self._db.session() as s, s.begin():
            row = await store.get_incident(session=s, incident_id=incident_id, for_update=True)
            before = row.severity
            reason = f"{sev}: set by {actor} (was {before}: {row.severity_reason})"
            if before == sev:
                reason = f"{sev}: confirmed by {actor} (policy said: {row.severity_reason})"
            row.severity, row.severity_reason, row.severity_source = sev, reason, "human"
            store.add_event(
                session=s,
                incident=row,
                at=now,
                kind="severity",
                actor=actor,
                text=f"Severity {before} → {sev} set by {actor}",
                data={"from": before, "to": sev, "source": "human"},
            )
            view = await store.view_of(session=s, incident=row)
        await self.notifier.publish([Change("severity", view, actor, f"{before} → {sev}")])
        return view

    async def assign(self, incident_id: int, commander: str, *, actor: str) -> IncidentView:
        commander = commander.strip()
        if not commander:
            raise ValidationError("commander", "name the person, e.g. @alice")
        now = self._clock()
        async with self._db.session() as s, s.begin():
            row = await store.get_incident(session=s, incident_id=incident_id, for_update=True)
            before, row.commander = row.commander, commander
            line = f"{commander} is now the incident commander (assigned by {actor})"
            if before:
                line += f", taking over from {before}"
            store.add_event(
                session=s,
                incident=row,
                at=now,
                kind="commander",
                actor=actor,
                text=line,
                data={"from": before, "to": commander},
            )
            view = await store.view_of(session=s, incident=row)
        await self.notifier.publish([Change("commander", view, actor, line)])
        return view

    async def note(self, incident_id: int, text: str, *, actor: str) -> IncidentView:
        text = text.strip()
        if not text:
            raise ValidationError("text", "a note needs some text")
        now = self._clock()
        async with self._db.session() as s, s.begin():
            row = await store.get_incident(session=s, incident_id=incident_id, for_update=True)
            store.add_event(session=s, incident=row, at=now, kind="note", actor=actor, text=text)
            view = await store.view_of(session=s, incident=row)
        await self.notifier.publish([Change("note", view, actor, f"note from {actor}: {text}")])
        return view
