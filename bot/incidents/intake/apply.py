"""One ingest transaction: a batch of alerts applied to the incident store, all or nothing.

Rules, per alert:

* an alert whose grouping key matches an open incident joins it; otherwise a new one opens
  (naming the closed incident it follows, if any);
* a repeat of a firing alert (same fingerprint) updates ``last_seen`` and ``count`` only;
* a resolved alert is marked resolved and written on the timeline; one with no open
  incident is still stored, detached, so nothing a sender said is lost;
* after the alerts are applied, each touched incident is classified again
  (``reclassify.py``), the timeline gets one line per incident and kind (``lines.py``),
  and the changes are staged for the listeners in the same transaction.

The group commit that decides which posts share a transaction is ``bot.incidents.intake.ingest``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import Clock
from bot.core.errors import StorageError
from bot.incidents import store
from bot.incidents.intake.fingerprint import group_key, key_digest
from bot.incidents.intake.lines import Lines
from bot.incidents.intake.muting import MutedAlerts, Muter
from bot.incidents.intake.reclassify import reclassify
from bot.incidents.intake.rows import NewAlert
from bot.incidents.quiet import (
    RELAPSE_KIND,
    follows_words,
    refiring_words,
    relapse_of,
    relapse_words,
)
from bot.incidents.reactions.changes import Change, Notifier, Staged
from bot.incidents.settings import IncidentSettings
from bot.incidents.states import OPEN_STATES
from bot.ingest.model import AlertIn
from bot.store.db import Database
from bot.store.tables import Alert, Incident

_ATTEMPTS = 3


@dataclass(frozen=True)
class IngestOutcome:
    """What became of one inbound alert: ``opened``, ``joined``, ``repeated``, ``refired``,
    ``resolved``, ``stored`` (resolved with no open incident) or ``muted`` (firing, stored,
    but a silence, a maintenance window or inhibition keeps it from opening an incident)."""

    fingerprint: str
    incident_id: int | None
    action: str


class PostApplier:
    """Applies validated ``AlertIn`` values to the incident store, one transaction a call."""

    def __init__(
        self,
        db: Database,
        settings: IncidentSettings,
        *,
        notifier: Notifier,
        clock: Clock,
        muter: Muter | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._notifier = notifier
        self._clock = clock
        self.muter = muter  # set by the composition root once the silences exist

    async def apply(
        self, alerts: Sequence[AlertIn]
    ) -> tuple[list[IngestOutcome], list[Change], Staged]:
        """Apply one batch of alerts in one transaction; retried when another process opened
        the same incident at the same moment."""
        for attempt in range(_ATTEMPTS):
            try:
                return await self._apply_once(alerts)
            except IntegrityError as exc:
                if attempt == _ATTEMPTS - 1:
                    raise StorageError("could not store the alerts; please retry") from exc
        raise AssertionError("unreachable")

    async def _apply_once(
        self, alerts: Sequence[AlertIn]
    ) -> tuple[list[IngestOutcome], list[Change], Staged]:
        slots: list[IngestOutcome | None] = [None] * len(alerts)
        opened: set[int] = set()
        touched: dict[int, Incident] = {}  # to classify again: something new arrived
        repeats: dict[int, Incident] = {}  # only repeats so far
        changed_values: set[int] = set()  # incidents whose repeated alerts carry news
        refiring: dict[int, tuple[Incident, datetime]] = {}  # fired again, and when it cleared
        lines = Lines()
        keyed = [(group_key(a.labels, self._settings.group_by), i) for i, a in enumerate(alerts)]
        async with self._db.session() as s, s.begin():
            # Two reads for the whole post (its open incidents, then their alerts with the
            # post's fingerprints), not two per alert: a storm is ingested at the speed of
            # its writes. The incidents are locked in the order of their keys, whatever the
            # order in the post: two posts naming the same incidents in other orders would
            # otherwise deadlock on PostgreSQL (seen with 8 Alertmanager senders).
            open_by_key = await self._open_incidents(s, {k for k, _ in keyed})
            known: dict[tuple[int, str], Alert | NewAlert] = dict(
                await self._known_alerts(
                    s, [i.id for i in open_by_key.values()], {a.fingerprint for a in alerts}
                )
            )
            new_rows: list[NewAlert] = []
            started = self._clock()
            mutes = None
            if self.muter is not None:
                firing = [a.labels for a in alerts if a.status == "firing"]
                mutes = await self.muter.load(s, started, firing)
            muted = (
                await MutedAlerts.read(s, {a.fingerprint for a in alerts})
                if mutes is not None
                else MutedAlerts({})
            )
            for key, index in sorted(keyed):
                alert = alerts[index]
                incident = open_by_key.get(key)
                reasons = (
                    mutes.reasons(
                        alert.labels, alert.fingerprint, incident.severity if incident else None
                    )
                    if mutes is not None and alert.status == "firing"
                    else []
                )
                if reasons:
                    assert mutes is not None
                    near = incident.id if incident is not None else None
                    muted.fire(alert, reasons, started, new_rows, near, mutes.words(reasons))
                    slots[index] = IngestOutcome(alert.fingerprint, None, "muted")
                elif alert.status == "firing":
                    muted.unmuted(alert.fingerprint)
                    if incident is None:
                        incident = await self._new_incident(s, alert, key)
                        assert incident.id is not None
                        opened.add(incident.id)
                        open_by_key[key] = incident
                    assert incident.id is not None
                    row = known.get((incident.id, alert.fingerprint))
                    action, row = self._apply_firing(incident, alert, row, changed_values)
                    if action == "joined":
                        assert isinstance(row, NewAlert)
                        new_rows.append(row)
                    known[incident.id, alert.fingerprint] = row
                    if action in ("joined", "refired") and incident.cleared_at is not None:
                        refiring[incident.id] = (incident, incident.cleared_at)
                        incident.cleared_at = None  # a flap: same incident, paging resumes
                    lines.note(incident, action, alert)
                    if incident.id in opened and action == "joined":
                        action = "opened"
                    if action != "repeated" or incident.id in opened:
                        touched[incident.id] = incident
                    elif incident.id not in touched:
                        repeats[incident.id] = incident
                    slots[index] = IngestOutcome(alert.fingerprint, incident.id, action)
                else:
                    row = None
                    if incident is not None and incident.id is not None:
                        row = known.get((incident.id, alert.fingerprint))
                    if (incident is None or row is None) and muted.resolve(alert, started):
                        slots[index] = IngestOutcome(alert.fingerprint, None, "resolved")
                        continue
                    action = self._apply_resolved(incident, alert, row, new_rows)
                    if incident is not None and action == "resolved":
                        lines.note(incident, action, alert)
                    attached = incident.id if incident and action != "stored" else None
                    slots[index] = IngestOutcome(alert.fingerprint, attached, action)
            if new_rows:  # one statement (an executemany), before anything reads them
                await s.exec(insert(Alert), params=[r.values() for r in new_rows])
            await muted.write(s, started)
            if muted.reasons and self.muter is not None:
                await self.muter.record(s, muted.reasons, started)
            now = self._clock()
            cleared = await lines.write(s, now, self._settings.auto_resolve)
            refired = [(i, refiring_words(was_clear, now)) for i, was_clear in refiring.values()]
            for incident, text in refired:
                store.add_event(
                    session=s, incident=incident, at=now, kind="refiring", actor="vigil", text=text
                )
            # A repeat whose value or notes changed may raise the severity; a plain repeat
            # (what Alertmanager re-sends every group_interval) cannot: no re-classifying.
            for incident_id, incident in repeats.items():
                if incident_id in changed_values:
                    touched.setdefault(incident_id, incident)
            kinds: dict[int, str] = {}
            for incident_id, incident in touched.items():
                raised = await reclassify(
                    s, incident, self._settings, self._clock(), new=incident_id in opened
                )
                if incident_id in opened:
                    kinds[incident_id] = "opened"
                elif raised:
                    kinds[incident_id] = "severity"
            changes = [
                Change(
                    kind,
                    await store.view_of(session=s, incident=touched[i]),
                    "vigil",
                    touched[i].severity_reason,
                )
                for i, kind in kinds.items()
            ]
            for incident, source, line, clear in cleared:
                view = await store.view_of(session=s, incident=incident)
                changes.append(Change("cleared" if clear else "alert", view, source, line))
            for incident, text in refired:
                view = await store.view_of(session=s, incident=incident)
                changes.append(Change("refiring", view, "vigil", text))
            staged = self._notifier.stage(s, changes, self._clock())
        return [o for o in slots if o is not None], changes, staged

    async def _open_incidents(self, s: AsyncSession, keys: set[str]) -> dict[str, Incident]:
        """The open incident of each key that has one, locked in key order."""
        digests = {key_digest(k): k for k in keys}
        stmt = (
            select(Incident)
            .where(col(Incident.open_key).in_(sorted(digests)))
            .order_by(col(Incident.open_key))
            .with_for_update()
        )
        rows = (await s.exec(stmt)).all()
        return {digests[str(r.open_key)]: r for r in rows}

    async def _known_alerts(
        self, s: AsyncSession, incident_ids: list[int | None], fingerprints: set[str]
    ) -> dict[tuple[int, str], Alert]:
        """The stored alerts of these incidents with one of the post's fingerprints."""
        ids = [i for i in incident_ids if i is not None]
        if not ids:
            return {}
        stmt = select(Alert).where(
            col(Alert.incident_id).in_(ids), col(Alert.fingerprint).in_(sorted(fingerprints))
        )
        return {(int(a.incident_id or 0), a.fingerprint): a for a in (await s.exec(stmt)).all()}

    async def _new_incident(self, s: AsyncSession, alert: AlertIn, key: str) -> Incident:
        opened_text = f"Opened by an alert from {alert.source}: {alert.title}"
        data: dict[str, object] = {"group_key": key}
        # The same alerts back after their incident was resolved: a new incident, which
        # says which one it follows (the responder reads the first one's timeline).
        before = (
            await s.exec(
                select(Incident.id, Incident.resolved_at)
                .where(col(Incident.group_key) == key, col(Incident.state).not_in(OPEN_STATES))
                .order_by(col(Incident.id).desc())
                .limit(1)
            )
        ).first()
        if before is not None and before[0] is not None:
            opened_text += f". {follows_words(before[0], before[1], self._clock())}"
            data["follows"] = before[0]
        title = alert.title
        # A rule watching its subject closely after a fix fired again: a new incident that
        # names the one it relapses first thing (a resolved incident is never reopened: its
        # post-mortem and response times stand), and a line on that one's timeline.
        relapse = relapse_of(alert.annotations)
        if relapse is not None:
            previous, resolved_at = relapse
            head = relapse_words(previous, resolved_at, self._clock())
            title = f"{head}: {alert.title}"
            opened_text = f"{head}. The same rule fired again on the same subject. {opened_text}"
            data["follows"] = data["relapse_of"] = previous
        row = await store.create_incident(
            session=s,
            title=title,
            severity="P4",
            reason="",  # classified right after the alerts are applied
            source="policy",
            group_key=key,
            open_key=key_digest(key),
            service=alert.labels.get("service"),
            model=alert.labels.get("model"),
            actor=alert.source,
            at=self._clock(),
            opened_text=opened_text,
            data=data,
        )
        if relapse is not None:
            await self._tell_relapsed(s, relapse[0], row, alert.title)
        return row

    async def _tell_relapsed(
        self, s: AsyncSession, previous: int, new: Incident, title: str
    ) -> None:
        """``Relapsed: #13 opened …`` on the incident that relapsed, in the same transaction."""
        old = await s.get(Incident, previous)
        if old is not None:
            store.add_event(
                session=s,
                incident=old,
                at=self._clock(),
                kind=RELAPSE_KIND,
                actor="vigil",
                text=f"Relapsed: #{new.id} opened while watching closely: {title}",
                data={"incident": new.id},
            )

    def _apply_firing(
        self,
        incident: Incident,
        alert: AlertIn,
        row: Alert | NewAlert | None,
        changed: set[int],
    ) -> tuple[str, Alert | NewAlert]:
        """``joined`` with a new row (the caller inserts it), else ``repeated`` or ``refired``
        with the row updated in place."""
        now = self._clock()
        assert incident.id is not None
        if row is None:
            return "joined", NewAlert.of(alert, incident.id, now)
        action = "repeated" if row.status == "firing" else "refired"
        row.count += 1
        row.last_seen = now
        if row.annotations != alert.annotations:
            row.annotations = dict(alert.annotations)
            changed.add(incident.id)
        if alert.value is not None and alert.value != row.value:
            row.value = alert.value
            changed.add(incident.id)
        if action == "refired":
            row.status, row.ends_at = "firing", None
        return action, row

    def _apply_resolved(
        self,
        incident: Incident | None,
        alert: AlertIn,
        row: Alert | NewAlert | None,
        new_rows: list[NewAlert],
    ) -> str:
        now = self._clock()
        if incident is None or row is None:
            new_rows.append(NewAlert.of(alert, None, now))
            return "stored"
        if row.status == "resolved":
            row.last_seen = now
            return "repeated"
        row.status, row.ends_at, row.last_seen = "resolved", alert.ends_at or now, now
        return "resolved"
