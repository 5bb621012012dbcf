"""The alert rows an ingest transaction inserts, all in one statement.

An ORM add inserts row by row on SQLite (to learn each id, which ingestion never needs): a
third of a storm's time. So a row first seen in the transaction is kept as a plain
``NewAlert`` until the post is applied, then inserted with the others (``values()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.ingest.model import AlertIn


@dataclass(slots=True)
class NewAlert:
    """An alerts row first seen in this transaction, inserted with the others in one
    statement once the post is applied: an ORM add inserts row by row on SQLite (to learn
    each id, which ingestion never needs), a third of a storm's time. A plain dataclass, not
    an unsaved ``Alert``: building a table model costs several times more, per alert."""

    incident_id: int | None
    fingerprint: str
    source: str
    status: str
    title: str
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float | None
    severity_hint: str | None
    generator_url: str | None
    starts_at: datetime
    ends_at: datetime | None
    first_seen: datetime
    last_seen: datetime
    count: int = 1
    muted_by: list[dict[str, Any]] | None = None

    @classmethod
    def of(cls, alert: AlertIn, incident_id: int | None, now: datetime) -> NewAlert:
        """Detached (``incident_id`` None) only when resolved with no open incident."""
        return cls(
            incident_id=incident_id,
            fingerprint=alert.fingerprint,
            source=alert.source,
            status=alert.status,
            title=alert.title[:1024],
            labels=dict(alert.labels),
            annotations=dict(alert.annotations),
            value=alert.value,
            severity_hint=alert.severity_hint,
            generator_url=alert.generator_url,
            starts_at=alert.starts_at,
            ends_at=(alert.ends_at or now) if alert.status == "resolved" else None,
            first_seen=now,
            last_seen=now,
        )

    def values(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}
