"""Silences stored and read; what mutes an alert, for the intake (the :class:`Muter`).

One service behind every front door (chat, the Alertmanager v2 API, ``vigil silence``): a
silence is created with its end timer in the same transaction (``silence-end``, and the
reminder before it), so a silence never ends without the alerts it held being looked at
again (:mod:`bot.silences.watch` releases them). The intake reads the active silences inside
its own transaction (one small query), so a silence created by another process, or by the
CLI on the same database, holds from the next alert on, with no cache to go stale.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import Clock
from bot.core.errors import NotFoundError, ValidationError
from bot.incidents import store
from bot.incidents.states import OPEN_STATES
from bot.silences.inhibit import InhibitRule, SourceAlert
from bot.silences.matchers import Matcher, matches_all
from bot.silences.mutes import ActiveSilence, MuteSet, WindowRule
from bot.silences.spec import SilenceSpec, SilenceView, checked, silence_words
from bot.silences.tables import SilenceRow
from bot.store.db import Database
from bot.store.tables import TIMERS_TABLE, Alert, Incident
from bot.store.timer_rows import TimerRows


class TimerSink(Protocol):
    """Where a silence's timers are written, in the silence's own transaction: the running
    bot's :class:`~bot.store.timers.Timers`, or ``vigil silence``'s plain rows, which the
    serving process then runs."""

    async def schedule_in(
        self, session: AsyncSession, kind: str, key: str, at: datetime, payload: dict[str, Any]
    ) -> None: ...


class TimerRowsSink:
    """Timer rows written without a running timer loop (the CLI): the serving process's
    loop finds them and runs them with its handlers."""

    def __init__(self, db: Database) -> None:
        self._rows = TimerRows(db, TIMERS_TABLE)

    async def schedule_in(
        self, session: AsyncSession, kind: str, key: str, at: datetime, payload: dict[str, Any]
    ) -> None:
        await self._rows.write(session, kind, key, at, json.dumps(payload), 0)


REMIND_BEFORE = timedelta(minutes=15)  # the channel is told this long before a silence ends
PREVIEW_MOST = 5_000  # firing alerts a preview looks at


def view_of(row: SilenceRow) -> SilenceView:
    return SilenceView(
        id=row.id,
        matchers=tuple(Matcher.from_json(m, where="matchers") for m in row.matchers),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        created_by=row.created_by,
        comment=row.comment,
        incident_id=row.incident_id,
        expire_on_resolve=row.expire_on_resolve,
        expire_unused=timedelta(seconds=row.expire_unused_s) if row.expire_unused_s else None,
        updated_at=row.updated_at,
        expired_by=row.expired_by,
        last_matched_at=row.last_matched_at,
    )


class SilenceService:
    """Create, update, expire and read silences; tell the intake what mutes."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock,
        timers: TimerSink | None,
        windows: Sequence[WindowRule] = (),
        rules: Sequence[InhibitRule] = (),
    ) -> None:
        self._db = db
        self._clock = clock
        self._timers = timers
        self.windows = tuple(windows)
        self.rules = tuple(rules)

    # -- the Muter the intake consults ------------------------------------------------------

    async def load(
        self, s: AsyncSession, now: datetime, candidates: Sequence[Mapping[str, str]] | None = None
    ) -> MuteSet:
        """What mutes at ``now``: the active silences, the windows, and the inhibition
        sources, read only when one of the ``candidates`` (the label sets about to be
        judged; None: the muted alerts, for a release) is a target of some rule: a storm of
        P1 alerts, none of them a symptom, does not read every firing alert of the P1
        incidents per batch."""
        rows = (
            await s.exec(
                select(SilenceRow.id, SilenceRow.matchers, SilenceRow.ends_at).where(
                    col(SilenceRow.ends_at) > now, col(SilenceRow.starts_at) <= now
                )
            )
        ).all()
        silences = [
            ActiveSilence(i, tuple(Matcher.from_json(m, where="matchers") for m in ms), end)
            for i, ms, end in rows
        ]
        if candidates is None:
            wanted = bool(self.rules)
        else:
            wanted = any(matches_all(r.target, c) for r in self.rules for c in candidates)
        sources = await self._sources(s) if wanted else []
        return MuteSet(now, silences, self.windows, self.rules, sources)

    async def _sources(self, s: AsyncSession) -> list[SourceAlert]:
        """The firing alerts of open incidents that could inhibit (with their incident's
        severity); only the severities the rules ask for when each rule names one."""
        stmt = (
            select(Alert.labels, Alert.fingerprint, Alert.incident_id, Incident.severity)
            .join(Incident, col(Incident.id) == col(Alert.incident_id))
            .where(col(Alert.status) == "firing", col(Incident.state).in_(sorted(OPEN_STATES)))
        )
        wanted = _severities(self.rules)
        if wanted is not None:
            stmt = stmt.where(col(Incident.severity).in_(sorted(wanted)))
        return [
            SourceAlert(labels=dict(lab), fingerprint=fp, incident_id=iid, severity=sev)
            for lab, fp, iid, sev in (await s.exec(stmt)).all()
        ]

    async def record(
        self, s: AsyncSession, muted: Sequence[list[dict[str, Any]]], now: datetime
    ) -> None:
        """The silences that muted something now (``expire_unused`` counts from here)."""
        ids = sorted({str(r["id"]) for rs in muted for r in rs if r.get("kind") == "silence"})
        if ids:
            await s.exec(
                update(SilenceRow).where(col(SilenceRow.id).in_(ids)).values(last_matched_at=now)
            )

    # -- reads --------------------------------------------------------------------------------

    async def get(self, ref: str) -> SilenceView:
        """By id, or by a unique prefix of at least four characters (what chat shows)."""
        ref = ref.strip().lower()
        async with self._db.read() as s:
            row = await s.get(SilenceRow, ref)
            if row is None and len(ref) >= 4:
                rows = (
                    await s.exec(
                        select(SilenceRow).where(col(SilenceRow.id).startswith(ref)).limit(2)
                    )
                ).all()
                if len(rows) > 1:
                    raise ValidationError(
                        "id", f"{ref} names more than one silence; give more of its id"
                    )
                row = rows[0] if rows else None
        if row is None:
            raise NotFoundError(f"no silence {ref}: /silence list shows the silences")
        return view_of(row)

    async def listed(self, *, include_expired: bool = True) -> list[SilenceView]:
        """Every silence, newest first (expired ones too, unless asked not to)."""
        now = self._clock()
        stmt = select(SilenceRow).order_by(col(SilenceRow.created_at).desc())
        if not include_expired:
            stmt = stmt.where(col(SilenceRow.ends_at) > now)
        async with self._db.read() as s:
            return [view_of(r) for r in (await s.exec(stmt)).all()]

    async def preview(self, matchers: Sequence[Matcher]) -> list[Alert]:
        """The firing alerts these matchers would silence now: those of open incidents and
        those already muted by something else."""
        return [a for a in await self.firing() if matches_all(matchers, a.labels)]

    async def firing(self) -> list[Alert]:
        """The firing alerts Vigil knows now, newest first: those of open incidents and the
        muted ones (at most :data:`PREVIEW_MOST`)."""
        stmt = (
            select(Alert)
            .outerjoin(Incident, col(Incident.id) == col(Alert.incident_id))
            .where(
                col(Alert.status) == "firing",
                (col(Incident.state).in_(sorted(OPEN_STATES)))
                | (col(Alert.incident_id).is_(None) & col(Alert.muted_by).is_not(None)),
            )
            .order_by(col(Alert.last_seen).desc())
            .limit(PREVIEW_MOST)
        )
        async with self._db.read() as s:
            return list((await s.exec(stmt)).all())

    # -- writes -------------------------------------------------------------------------------

    def check(self, spec: SilenceSpec) -> SilenceSpec:
        """The refusals of :meth:`create` (``ValidationError``), storing nothing: a preview."""
        return checked(spec, self._clock())

    async def create(self, spec: SilenceSpec, *, sid: str | None = None) -> SilenceView:
        """Store a silence (or, given the id of one not yet over, change it: Alertmanager's
        update) with its timers; the incident it names must exist."""
        now = self._clock()
        spec = checked(spec, now)
        async with self._db.session() as s, s.begin():
            incident = await s.get(Incident, spec.incident_id) if spec.incident_id else None
            if spec.incident_id is not None and incident is None:
                raise ValidationError("incident", f"there is no incident #{spec.incident_id}")
            row = await s.get(SilenceRow, sid) if sid else None
            if sid and (row is None or row.ends_at <= now):
                raise NotFoundError(f"no silence {sid} to update (it may have ended)")
            started = row is not None and row.starts_at <= now
            if row is None:
                row = SilenceRow(
                    id=str(uuid.uuid4()),
                    created_at=now,
                    matchers=[],
                    starts_at=now,
                    ends_at=now,
                    created_by="",
                    comment="",
                    updated_at=now,
                )
            row.matchers = [m.to_json() for m in spec.matchers]
            starts = spec.starts_at
            if started and starts <= now:  # an update of a silence already on keeps its
                starts = row.starts_at  # start, as in Alertmanager (amtool sends it back)
            row.starts_at, row.ends_at = starts, spec.ends_at
            row.created_by, row.comment = spec.created_by, spec.comment
            row.incident_id = spec.incident_id
            row.expire_on_resolve = spec.expire_on_resolve
            row.expire_unused_s = (
                int(spec.expire_unused.total_seconds()) if spec.expire_unused else None
            )
            row.updated_at = now
            s.add(row)
            await self._schedule(s, row, now)
            view = view_of(row)
            if incident is not None:
                store.add_event(
                    session=s,
                    incident=incident,
                    at=now,
                    kind="silenced",
                    actor=spec.created_by,
                    text=silence_words(view, now),
                    data={"silence": view.id},
                )
        return view

    async def _schedule(self, s: AsyncSession, row: SilenceRow, now: datetime) -> None:
        if self._timers is None:
            return
        payload = {"id": row.id}
        await self._timers.schedule_in(
            s, "silence-end", f"silence-end:{row.id}", row.ends_at, payload
        )
        remind = row.ends_at - REMIND_BEFORE
        if remind > max(row.starts_at, now) + REMIND_BEFORE:  # silences over 30 min
            await self._timers.schedule_in(
                s, "silence-remind", f"silence-remind:{row.id}", remind, payload
            )
        if row.expire_unused_s:
            due = max(row.starts_at, now) + timedelta(seconds=row.expire_unused_s)
            await self._timers.schedule_in(
                s, "silence-unused", f"silence-unused:{row.id}", due, payload
            )

    async def expire(self, ref: str, actor: str, *, why: str = "") -> SilenceView:
        """End a silence now (Alertmanager's DELETE); its end timer then releases what it held.
        Expiring one already over changes nothing."""
        found = await self.get(ref)
        now = self._clock()
        async with self._db.session() as s, s.begin():
            row = await s.get(SilenceRow, found.id)
            assert row is not None
            if row.ends_at > now:
                row.ends_at = now
                row.starts_at = min(row.starts_at, now)
                row.expired_by = f"{actor}{f' ({why})' if why else ''}"
                row.updated_at = now
                s.add(row)
                if self._timers is not None:
                    await self._timers.schedule_in(
                        s, "silence-end", f"silence-end:{row.id}", now, {"id": row.id}
                    )
            view = view_of(row)
        return view


def _severities(rules: Sequence[InhibitRule]) -> set[str] | None:
    """The incident severities every rule's sources need (``vigil_severity="P1"``), or None
    when some rule takes sources of any severity."""
    wanted: set[str] = set()
    for rule in rules:
        named = [m.value for m in rule.source if m.name == "vigil_severity" and m.op == "="]
        if not named:
            return None
        wanted.update(named)
    return wanted
