"""Alerts in, incidents out: grouping, deduplication and classification of inbound alerts.

One call handles one inbound post in one transaction, so either every alert of the post is
stored (and the sender gets its 2xx) or none is (and the sender retries). Rules:

* alerts whose grouping key matches an open incident join it; otherwise a new one opens;
* a repeat of a firing alert (same fingerprint) updates ``last_seen`` and ``count`` only;
* a resolved alert is marked resolved and written on the timeline; one with no open
  incident is still stored, detached, so nothing a sender said is lost;
* after the alerts are applied, each touched incident is classified over all its alerts and
  its severity only ever rises; a severity set by a human is kept, and the policy's
  disagreement is written on the timeline instead.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock, utcnow
from bot.db import Database
from bot.errors import StorageError
from bot.incidents import store
from bot.incidents.alert_lines import AlertFacts, cleared_line, firing_line, line_data
from bot.incidents.classify import Classification, classify
from bot.incidents.fingerprint import group_key, key_digest
from bot.incidents.quiet import cleared_words, follows_words, refiring_words
from bot.incidents.service import Change, Notifier, Staged
from bot.incidents.settings import IncidentSettings
from bot.incidents.severity import SEVERITIES
from bot.incidents.states import OPEN_STATES
from bot.ingest.model import AlertIn
from bot.tables import Alert, Incident, TimelineEvent

_ATTEMPTS = 3


@dataclass(frozen=True)
class IngestOutcome:
    """What became of one inbound alert: ``opened``, ``joined``, ``repeated``, ``refired``,
    ``resolved`` or ``stored`` (resolved with no open incident)."""

    fingerprint: str
    incident_id: int | None
    action: str


@dataclass(slots=True)
class _NewAlert:
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

    @classmethod
    def of(cls, alert: AlertIn, incident_id: int | None, now: datetime) -> _NewAlert:
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


BATCH_ALERTS = 1_000  # alerts in one group-committed transaction, at most
PG_BATCHES = 4  # ingest transactions at once on PostgreSQL
QUIET = 1.0  # seconds without a post before a storm's intake counts as over (busy)
STORM_POSTS = 3  # ingest transactions within QUIET that make a storm


@dataclass
class _Post:
    """One inbound post waiting for the transaction that stores it."""

    alerts: Sequence[AlertIn]
    done: asyncio.Future[list[IngestOutcome]]


def _settle(done: asyncio.Future[list[IngestOutcome]], exc: BaseException) -> None:
    if not done.done():
        done.set_exception(exc)


def _retitle(incident: Incident, verdict: Classification) -> None:
    """Title the incident by the policy's story when it joins several kinds of signal
    (``Classification.headline``), set with the severity and its "Why" so the two agree
    and the title does not change with every new value."""
    if verdict.headline is not None:
        incident.title = verdict.headline[:300]


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


_LINE_KINDS = {"joined": "fired", "opened": "fired", "refired": "again", "resolved": "cleared"}


class _Lines:
    """What one transaction's alerts did, by incident, so each incident gets one timeline
    line per kind (fired, fired again, cleared) and source, not one per alert."""

    def __init__(self) -> None:
        self._incidents: dict[int, Incident] = {}
        self._groups: dict[tuple[int, str, str], list[AlertFacts]] = {}

    def note(self, incident: Incident, action: str, alert: AlertIn) -> None:
        kind = _LINE_KINDS.get(action)
        if kind is None or incident.id is None:
            return
        self._incidents[incident.id] = incident
        facts = AlertFacts(alert.fingerprint, alert.title, alert.labels, alert.value)
        self._groups.setdefault((incident.id, kind, alert.source), []).append(facts)

    async def write(
        self, s: AsyncSession, now: datetime, quiet: Mapping[str, timedelta | None]
    ) -> list[tuple[Incident, str, str, bool]]:
        """Add the lines; return (incident, source, line, all clear) of each "cleared" one,
        which the channel is told of (a firing alert is told through the incident's own
        change). All clear: nothing of the open incident fires any more; its ``cleared_at``
        is set and the line says what happens next (``bot.incidents.quiet``)."""
        cleared: list[tuple[Incident, str, str, bool]] = []
        for (incident_id, kind, source), facts in self._groups.items():
            incident = self._incidents[incident_id]
            if kind == "cleared":
                still = await store.firing_count(session=s, incident_id=incident_id)
                clear = still == 0 and incident.state in OPEN_STATES and not incident.cleared_at
                then = ""
                if clear:
                    incident.cleared_at = now
                    then = cleared_words(quiet.get(incident.severity), now, UTC)
                line = cleared_line(facts, incident_id=incident_id, still_firing=still, then=then)
                cleared.append((incident, source, line, clear))
                event, data = "alert_resolved", line_data(facts, labels=False)
            else:
                line = firing_line(facts, again=kind == "again")
                event, data = "alert", line_data(facts, labels=kind == "fired")
            store.add_event(
                session=s, incident=incident, at=now, kind=event, actor=source, text=line, data=data
            )
        return cleared


class AlertIngestor:
    """Applies validated ``AlertIn`` values to the incident store."""

    def __init__(
        self,
        db: Database,
        settings: IncidentSettings,
        *,
        notifier: Notifier,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._settings = settings
        self._notifier = notifier
        self._clock = clock
        self._waiting: list[_Post] = []
        self._storing = 0  # ingest transactions running now
        # Loop times the last ingest transactions ended (a storm is several within QUIET).
        self._stored_at: collections.deque[float] = collections.deque(maxlen=STORM_POSTS)
        # SQLite has one writer: one ingest transaction at a time. PostgreSQL runs a few at
        # once (their round trips overlap; incidents are locked in key order: no deadlock).
        self._turn = asyncio.Semaphore(1 if db.is_sqlite else PG_BATCHES)

    async def ingest(self, alerts: Sequence[AlertIn]) -> list[IngestOutcome]:
        """Store every alert of the post or none, and say what became of each.

        Group commit: posts that arrive while a transaction is running wait for it (on
        PostgreSQL, while :data:`PG_BATCHES` are), then the next of them stores all of them
        in one transaction (at most :data:`BATCH_ALERTS`
        alerts) and answers each. One ingest transaction at a time leaves the writer free in
        between for the rest (a page, a command), and a storm costs one commit per batch
        instead of one per post."""
        post = _Post(alerts, asyncio.get_running_loop().create_future())
        self._waiting.append(post)
        async with self._turn:
            while not post.done.done():
                batch: list[_Post] = []
                size = 0
                while self._waiting and (
                    not batch or size + len(self._waiting[0].alerts) <= BATCH_ALERTS
                ):
                    batch.append(self._waiting.pop(0))
                    size += len(batch[-1].alerts)
                self._storing += 1
                try:
                    await self._store(batch)
                except BaseException as exc:  # cancelled mid-batch: nobody is left waiting
                    for each in batch:
                        _settle(each.done, exc)
                    raise
                finally:
                    self._storing -= 1
                    self._stored_at.append(asyncio.get_running_loop().time())
        return await post.done

    def busy(self) -> bool:
        """Are alerts being stored, waiting to be, or is a storm on (:data:`STORM_POSTS`
        transactions stored within the last :data:`QUIET` seconds)? (Slack's thread
        messages wait for a storm's intake: ``OutboxWorker.hold``.) The last second counts:
        between two posts of a storm the ingestor is idle for a moment, and thread messages
        let through in those gaps took a third of the CPU the intake needed (measured:
        730-1,000 alerts/s on SQLite without it, 1,100-1,160 with it, pages sooner too). A
        lone alert is no storm: its card goes out at once."""
        if self._storing > 0 or self._waiting:
            return True
        ends = self._stored_at  # the last STORM_POSTS, oldest first
        return len(ends) == STORM_POSTS and asyncio.get_running_loop().time() - ends[0] < QUIET

    async def _store(self, batch: list[_Post]) -> None:
        """One transaction for the whole batch; if it fails for another reason than a race,
        each post is tried alone, so one post the database refuses fails only itself."""
        alerts = [a for post in batch for a in post.alerts]
        try:
            outcomes, changes, staged = await self._ingest_retrying(alerts)
        except Exception as exc:
            if len(batch) > 1:
                for post in batch:
                    await self._store([post])
                return
            _settle(batch[0].done, exc)
            return
        await self._notifier.publish(changes, staged)
        start = 0
        for post in batch:
            end = start + len(post.alerts)
            if not post.done.done():
                post.done.set_result(outcomes[start:end])
            start = end

    async def _ingest_retrying(
        self, alerts: Sequence[AlertIn]
    ) -> tuple[list[IngestOutcome], list[Change], Staged]:
        """Retried when another process opened the same incident at the same moment."""
        for attempt in range(_ATTEMPTS):
            try:
                return await self._ingest_once(alerts)
            except IntegrityError as exc:
                if attempt == _ATTEMPTS - 1:
                    raise StorageError("could not store the alerts; please retry") from exc
        raise AssertionError("unreachable")

    async def _ingest_once(
        self, alerts: Sequence[AlertIn]
    ) -> tuple[list[IngestOutcome], list[Change], Staged]:
        slots: list[IngestOutcome | None] = [None] * len(alerts)
        opened: set[int] = set()
        touched: dict[int, Incident] = {}  # to classify again: something new arrived
        repeats: dict[int, Incident] = {}  # only repeats so far
        changed_values: set[int] = set()  # incidents whose repeated alerts carry news
        refiring: dict[int, tuple[Incident, datetime]] = {}  # fired again, and when it cleared
        lines = _Lines()
        keyed = [(group_key(a.labels, self._settings.group_by), i) for i, a in enumerate(alerts)]
        async with self._db.session() as s, s.begin():
            # Two reads for the whole post (its open incidents, then their alerts with the
            # post's fingerprints), not two per alert: a storm is ingested at the speed of
            # its writes. The incidents are locked in the order of their keys, whatever the
            # order in the post: two posts naming the same incidents in other orders would
            # otherwise deadlock on PostgreSQL (seen with 8 Alertmanager senders).
            open_by_key = await self._open_incidents(s, {k for k, _ in keyed})
            known: dict[tuple[int, str], Alert | _NewAlert] = dict(
                await self._known_alerts(
                    s, [i.id for i in open_by_key.values()], {a.fingerprint for a in alerts}
                )
            )
            new_rows: list[_NewAlert] = []
            for key, index in sorted(keyed):
                alert = alerts[index]
                incident = open_by_key.get(key)
                if alert.status == "firing":
                    if incident is None:
                        incident = await self._new_incident(s, alert, key)
                        assert incident.id is not None
                        opened.add(incident.id)
                        open_by_key[key] = incident
                    assert incident.id is not None
                    row = known.get((incident.id, alert.fingerprint))
                    action, row = self._apply_firing(incident, alert, row, changed_values)
                    if action == "joined":
                        assert isinstance(row, _NewAlert)
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
                    action = self._apply_resolved(incident, alert, row, new_rows)
                    if incident is not None and action == "resolved":
                        lines.note(incident, action, alert)
                    attached = incident.id if incident and action != "stored" else None
                    slots[index] = IngestOutcome(alert.fingerprint, attached, action)
            if new_rows:  # one statement (an executemany), before anything reads them
                await s.exec(insert(Alert), params=[r.values() for r in new_rows])
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
                raised = await self._classify(s, incident, new=incident_id in opened)
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
        return await store.create_incident(
            session=s,
            title=alert.title,
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

    def _apply_firing(
        self,
        incident: Incident,
        alert: AlertIn,
        row: Alert | _NewAlert | None,
        changed: set[int],
    ) -> tuple[str, Alert | _NewAlert]:
        """``joined`` with a new row (the caller inserts it), else ``repeated`` or ``refired``
        with the row updated in place."""
        now = self._clock()
        assert incident.id is not None
        if row is None:
            return "joined", _NewAlert.of(alert, incident.id, now)
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
        row: Alert | _NewAlert | None,
        new_rows: list[_NewAlert],
    ) -> str:
        now = self._clock()
        if incident is None or row is None:
            new_rows.append(_NewAlert.of(alert, None, now))
            return "stored"
        if row.status == "resolved":
            row.last_seen = now
            return "repeated"
        row.status, row.ends_at, row.last_seen = "resolved", alert.ends_at or now, now
        return "resolved"

    async def _classify(self, s: AsyncSession, incident: Incident, *, new: bool) -> bool:
        """Re-classify over every alert of the incident; True when the severity rose."""
        assert incident.id is not None
        if not new and incident.severity == SEVERITIES[0]:
            return False  # nothing is above P1: the policy can neither raise it nor disagree
        signals = await store.firing_signals(
            session=s,
            incident_id=incident.id,
            models=self._settings.models,
            services=self._settings.services,
        )
        verdict = classify(signals, self._settings.policy)
        now = self._clock()
        if new:
            incident.severity, incident.severity_reason = verdict.severity, verdict.reason
            _retitle(incident, verdict)
            store.add_event(
                session=s,
                incident=incident,
                at=now,
                kind="severity",
                actor="vigil",
                text=verdict.reason,
                data={"severity": verdict.severity, "source": "policy", "rule": verdict.rule},
            )
            return False
        if _rank(verdict.severity) >= _rank(incident.severity):
            return False
        if incident.severity_source == "policy":
            before = incident.severity
            incident.severity, incident.severity_reason = verdict.severity, verdict.reason
            _retitle(incident, verdict)
            store.add_event(
                session=s,
                incident=incident,
                at=now,
                kind="severity",
                actor="vigil",
                text=f"Severity raised {before} → {verdict.reason}",
                data={
                    "from": before,
                    "to": verdict.severity,
                    "source": "policy",
                    "rule": verdict.rule,
                },
            )
            return True
        last = (
            await s.exec(
                select(TimelineEvent)
                .where(
                    col(TimelineEvent.incident_id) == incident.id,
                    col(TimelineEvent.kind) == "policy",
                )
                .order_by(col(TimelineEvent.id).desc())
            )
        ).first()
        if last is None or last.data.get("severity") != verdict.severity:
            store.add_event(
                session=s,
                incident=incident,
                at=now,
                kind="policy",
                actor="vigil",
                text=(
                    f"The policy now says {verdict.reason}; keeping {incident.severity} set "
                    f"by a person (/incident sev {incident.id} {verdict.severity} to agree)"
                ),
                data={"severity": verdict.severity, "rule": verdict.rule},
            )
        return False
