"""Muted alerts in the intake: stored, counted and told, but opening nothing and paging nobody.

What mutes an alert (silences, maintenance windows, inhibition) is decided above this room
(``bot.silences``), through the :class:`Muter` the composition root hands the intake: this
module only keeps the rows. A muted firing alert is stored detached (``incident_id`` NULL)
with ``muted_by`` naming every reason; its repeats update that row; its resolve marks it
resolved. An incident that would have taken it (the open incident of its grouping key, or
the incident inhibiting it) gets one timeline line per post: "Muted, not paged: …", so the
alert is visible where people look. When the mute ends and the alert still fires it is
released (``bot.silences.release``): ingested again as it is, and its muted row removed; an
alert arriving while no longer muted removes that row here, the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents.intake.alert_lines import AlertFacts, line_data, muted_line
from bot.incidents.intake.rows import NewAlert
from bot.ingest.model import AlertIn
from bot.store.tables import Alert, TimelineEvent

Reasons = list[dict[str, Any]]


class Mutes(Protocol):
    """What mutes, as of one transaction's moment."""

    def reasons(
        self, labels: Mapping[str, str], fingerprint: str, severity: str | None = None
    ) -> Reasons: ...

    def words(self, reasons: Sequence[dict[str, Any]]) -> str: ...


class Muter(Protocol):
    """Reads what mutes, inside the ingest transaction, and records what it muted."""

    async def load(
        self, s: AsyncSession, now: datetime, candidates: Sequence[Mapping[str, str]] | None = None
    ) -> Mutes: ...

    async def record(self, s: AsyncSession, muted: Sequence[Reasons], now: datetime) -> None: ...


class MutedAlerts:
    """One transaction's muted alerts: their rows, and the lines they owe."""

    def __init__(self, rows: Mapping[str, Alert | NewAlert]) -> None:
        self._rows = dict(rows)  # stored muted firing rows, by fingerprint
        self._gone: list[int] = []
        self._lines: dict[int, list[tuple[AlertFacts, str]]] = {}
        self.reasons: list[Reasons] = []

    @classmethod
    async def read(cls, s: AsyncSession, fingerprints: set[str]) -> MutedAlerts:
        """The muted, still firing, detached rows with one of the post's fingerprints. Only
        ``muted_by`` and the fingerprints in SQL: that is the partial index
        ``ix_alerts_muted_fingerprint`` (muted rows only, so a storm's look-up is free);
        a muted row is always detached, and a resolved one is left out here."""
        stmt = select(Alert).where(
            col(Alert.muted_by).is_not(None), col(Alert.fingerprint).in_(sorted(fingerprints))
        )
        rows = (await s.exec(stmt)).all()
        return cls(
            {a.fingerprint: a for a in rows if a.status == "firing" and a.incident_id is None}
        )

    def fire(
        self,
        alert: AlertIn,
        reasons: Reasons,
        now: datetime,
        new_rows: list[NewAlert],
        near: int | None,
        words: str,
    ) -> None:
        """Store (or count again) a muted firing alert; a first one owes a line to ``near``
        (the incident that would have taken it) or to the incident inhibiting it."""
        self.reasons.append(reasons)
        row = self._rows.get(alert.fingerprint)
        if row is not None:
            row.count += 1
            row.last_seen = now
            row.muted_by = reasons
            if alert.value is not None:
                row.value = alert.value
            return
        new = NewAlert.of(alert, None, now)
        new.muted_by = reasons
        new_rows.append(new)
        self._rows[alert.fingerprint] = new  # its repeats in the same post
        inhibiting = [r.get("incident") for r in reasons if r.get("kind") == "inhibited"]
        target = next((i for i in inhibiting if isinstance(i, int)), near)
        if target is not None:
            facts = AlertFacts(alert.fingerprint, alert.title, alert.labels, alert.value)
            self._lines.setdefault(target, []).append((facts, words))

    def unmuted(self, fingerprint: str) -> None:
        """The alert arrived and nothing mutes it now: its muted row is done (the alert is
        about to open or join an incident the ordinary way)."""
        row = self._rows.pop(fingerprint, None)
        if isinstance(row, Alert) and row.id is not None:
            self._gone.append(row.id)

    def resolve(self, alert: AlertIn, now: datetime) -> bool:
        """A resolve for a muted alert marks its row resolved; False if there is none."""
        row = self._rows.pop(alert.fingerprint, None)
        if row is None:
            return False
        row.status, row.ends_at, row.last_seen = "resolved", alert.ends_at or now, now
        return True

    async def write(self, s: AsyncSession, now: datetime) -> None:
        """Remove released rows and add one line per incident (without touching the
        incident's row: an inhibiting P1 is not locked by its symptoms' posts)."""
        if self._gone:
            await s.exec(delete(Alert).where(col(Alert.id).in_(self._gone)))
        for incident_id, items in self._lines.items():
            facts = [f for f, _ in items]
            why = items[0][1]
            text = muted_line(facts, why)
            data = line_data(facts, labels=True) | {"muted": True}
            s.add(
                TimelineEvent(
                    incident_id=incident_id,
                    at=now,
                    kind="alert_muted",
                    actor="vigil",
                    text=text,
                    data=data,
                )
            )
