"""Read-only snapshots of incidents, detached from the database session.

Chat replies, the HTTP API and (later) post-mortems all render these, so no caller ever
touches an ORM object after its transaction has closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core.timefmt import iso_z

if TYPE_CHECKING:  # the rows are only read: no database code loads with the views
    from bot.store.tables import Alert, Incident, TimelineEvent


@dataclass(frozen=True)
class AlertView:
    id: int
    fingerprint: str
    status: str
    title: str
    source: str
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float | None
    severity_hint: str | None
    generator_url: str | None
    starts_at: datetime
    ends_at: datetime | None
    first_seen: datetime
    last_seen: datetime
    count: int

    @classmethod
    def of(cls, row: Alert) -> AlertView:
        assert row.id is not None
        return cls(
            id=row.id,
            fingerprint=row.fingerprint,
            status=row.status,
            title=row.title,
            source=row.source,
            labels=dict(row.labels),
            annotations=dict(row.annotations),
            value=row.value,
            severity_hint=row.severity_hint,
            generator_url=row.generator_url,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            count=row.count,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "status": self.status,
            "title": self.title,
            "source": self.source,
            "labels": self.labels,
            "annotations": self.annotations,
            "value": self.value,
            "severity_hint": self.severity_hint,
            "generator_url": self.generator_url,
            "starts_at": iso_z(self.starts_at),
            "ends_at": iso_z(self.ends_at),
            "first_seen": iso_z(self.first_seen),
            "last_seen": iso_z(self.last_seen),
            "count": self.count,
        }


@dataclass(frozen=True)
class EventView:
    at: datetime
    kind: str
    actor: str
    text: str
    data: dict[str, Any]

    @classmethod
    def of(cls, row: TimelineEvent) -> EventView:
        return cls(at=row.at, kind=row.kind, actor=row.actor, text=row.text, data=dict(row.data))

    def to_json(self) -> dict[str, Any]:
        return {
            "at": iso_z(self.at),
            "kind": self.kind,
            "actor": self.actor,
            "text": self.text,
            "data": self.data,
        }


@dataclass(frozen=True)
class IncidentFields:
    """The incident's own columns, as every snapshot of it holds them."""

    id: int
    title: str
    severity: str
    severity_reason: str
    severity_source: str
    state: str
    commander: str | None
    service: str | None
    model: str | None
    group_key: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    contained_at: datetime | None
    resolved_at: datetime | None
    cleared_at: datetime | None = None  # every alert had cleared; None once one fires again


@dataclass(frozen=True)
class IncidentView(IncidentFields):
    alerts: tuple[AlertView, ...] = ()
    timeline: tuple[EventView, ...] = ()

    @classmethod
    def of(
        cls,
        row: Incident,
        alerts: list[Alert] | None = None,
        events: list[TimelineEvent] | None = None,
    ) -> IncidentView:
        return cls(
            **_fields(row),
            alerts=tuple(AlertView.of(a) for a in alerts or ()),
            timeline=tuple(EventView.of(e) for e in events or ()),
        )

    @classmethod
    def of_views(
        cls, row: Incident, alerts: Sequence[AlertView], events: Sequence[EventView]
    ) -> IncidentView:
        return cls(**_fields(row), alerts=tuple(alerts), timeline=tuple(events))

    @property
    def firing(self) -> tuple[AlertView, ...]:
        return tuple(a for a in self.alerts if a.status == "firing")

    @property
    def firing_count(self) -> int:
        return len(self.firing)

    def to_json(self, *, detail: bool = True) -> dict[str, Any]:
        body = {**_fields_json(self), "alerts": [a.to_json() for a in self.alerts]}
        if detail:
            body["timeline"] = [e.to_json() for e in self.timeline]
        return body


@dataclass(frozen=True)
class FiringDigest:
    """What a card shows of an incident's alerts: the first firing ones, and how many fire
    and how many there are. Read with two small queries (``store.firing_digest``) instead of
    every alert: a card is redrawn at each timeline entry, and in a storm an incident holds
    hundreds of alerts."""

    shown: tuple[AlertView, ...]
    firing: int
    total: int

    @classmethod
    def of(cls, view: IncidentView, limit: int) -> FiringDigest:
        """From a snapshot that holds every alert."""
        firing = view.firing
        return cls(shown=firing[:limit], firing=len(firing), total=len(view.alerts))


@dataclass(frozen=True)
class IncidentSummary(IncidentFields):
    """What a list shows of an incident: its own fields and how many alerts fire, read in
    one query for the whole page. No timeline (``GET /api/v1/incidents/{id}`` has it);
    ``alerts`` is loaded for the page in one more query only where the list shows them
    (the API), and is None where it does not (chat, the CLI)."""

    firing_count: int = 0  # (a default only because the fields before it have one)
    alerts: tuple[AlertView, ...] | None = None

    @classmethod
    def of_columns(cls, values: Sequence[Any], *, firing: int) -> IncidentSummary:
        """From the :data:`FIELDS` columns as selected, in that order (no ORM object: a
        list of fifty is built several times faster)."""
        return cls(**dict(zip(FIELDS, values, strict=True)), firing_count=firing)

    def to_json(self) -> dict[str, Any]:
        """The incident's fields as ``IncidentView.to_json`` words them, less the timeline;
        ``alerts`` when they were loaded."""
        body = _fields_json(self)
        if self.alerts is not None:
            body["alerts"] = [a.to_json() for a in self.alerts]
        return body


FIELDS: tuple[str, ...] = (
    "id",
    "title",
    "severity",
    "severity_reason",
    "severity_source",
    "state",
    "commander",
    "service",
    "model",
    "group_key",
    "created_by",
    "created_at",
    "updated_at",
    "acknowledged_at",
    "contained_at",
    "resolved_at",
    "cleared_at",
)
"""The incident's own columns that both snapshots hold (a list selects just these)."""


def _fields(row: Incident) -> dict[str, Any]:
    """The incident's own columns, as both snapshots hold them."""
    assert row.id is not None
    return {name: getattr(row, name) for name in FIELDS}


def _fields_json(v: IncidentFields) -> dict[str, Any]:
    """The incident's own fields in API answers, the same for a list and for one incident."""
    return {
        "id": v.id,
        "title": v.title,
        "severity": v.severity,
        "severity_reason": v.severity_reason,
        "severity_source": v.severity_source,
        "state": v.state,
        "commander": v.commander,
        "service": v.service,
        "model": v.model,
        "group_key": v.group_key,
        "created_by": v.created_by,
        "created_at": iso_z(v.created_at),
        "updated_at": iso_z(v.updated_at),
        "acknowledged_at": iso_z(v.acknowledged_at),
        "contained_at": iso_z(v.contained_at),
        "resolved_at": iso_z(v.resolved_at),
        "cleared_at": iso_z(v.cleared_at),
    }
