"""The watches after a fix, read from the database, and the line each one writes at resolve.

Durable without a table of its own: a watch is derived from what is already stored (the
resolved incident's severity and ``resolved_at``, and the alerts Vigil's rules raised in it,
whose annotations name the rule and carry the subject's ``normal``), with the periods of
``sensitivity:`` as configured now. A restart, or the other process of a split ``vigil
serve``, reads the same watches; a rule that changed in between is judged as it is now.

:class:`WatchBook` is what the rule runner asks before each evaluation; it reads at most
every ``refresh`` (10 s), and its own process's resolves make it read again at once. The
query filters incidents on ``resolved_at`` (not indexed: the table is scanned every 10 s,
which is cheap next to the alerts an incident holds; an index is a migration away).

:class:`WatchLine` is the follower of a resolve: "Watching closely for 24 h: …" on the
timeline (once per resolve, a retry included). It runs before the post-mortem follower,
so the automatic draft reads the line. Nothing is written when a watch ends: the line says
until when, and a second line a day later would only be noise in the incident's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from types import MappingProxyType

from sqlmodel import col, select

from bot.core.timefmt import iso_z
from bot.incidents.quiet import WATCH_KIND
from bot.incidents.reactions.changes import Change
from bot.incidents.service import IncidentService
from bot.rules.alerts import SOURCE
from bot.rules.effective import Subjects, threshold_for
from bot.rules.heightened.config import Sensitivity
from bot.rules.heightened.tighten import (
    Heightening,
    WatchKey,
    watch_words,
    watches_of,
    watching_words,
)
from bot.rules.schema import Rule
from bot.store.db import Database
from bot.store.tables import Alert, Incident

log = logging.getLogger(__name__)

KIND = WATCH_KIND  # the timeline entry's kind (the post-mortem draft reads it)
REFRESH = timedelta(seconds=10)
_NONE: Mapping[WatchKey, Heightening] = MappingProxyType({})


class WatchBook:
    """The watches in force, by (rule, subject); see the module docstring."""

    def __init__(
        self, db: Database, sensitivity: Sensitivity, *, refresh: timedelta = REFRESH
    ) -> None:
        self._db = db
        self._sensitivity = sensitivity
        self._refresh = refresh
        self._read_at: datetime | None = None
        self._watches: list[Heightening] = []

    def invalidate(self) -> None:
        """Read again on the next ask (an incident of this process resolved)."""
        self._read_at = None

    async def current(self, now: datetime) -> Mapping[WatchKey, Heightening]:
        """The watches in force at ``now``; the latest resolve wins a (rule, subject)."""
        if self._sensitivity.longest is None:
            return _NONE
        fresh = self._read_at is not None and timedelta(0) <= now - self._read_at < self._refresh
        if not fresh:
            self._watches = await self._read(now)
            self._read_at = now
        found: dict[WatchKey, Heightening] = {}
        for h in sorted(self._watches, key=lambda h: h.resolved_at):
            if h.resolved_at <= now < h.until:
                found[h.key] = h
        return found

    async def _read(self, now: datetime) -> list[Heightening]:
        longest = self._sensitivity.longest
        assert longest is not None
        watched = [s for s, p in self._sensitivity.periods.items() if p is not None]
        async with self._db.read() as s, s.begin():
            incidents = (
                await s.exec(
                    select(Incident.id, Incident.severity, Incident.resolved_at).where(
                        col(Incident.resolved_at) >= now - longest,
                        col(Incident.severity).in_(watched),
                    )
                )
            ).all()
            ids = [i for i, _, _ in incidents if i is not None]
            rows = (
                (
                    await s.exec(
                        select(Alert.incident_id, Alert.labels, Alert.annotations).where(
                            col(Alert.incident_id).in_(ids), col(Alert.source) == SOURCE
                        )
                    )
                ).all()
                if ids
                else []
            )
        alerts: dict[int, list[tuple[str, Mapping[str, str], Mapping[str, str]]]] = {}
        for incident_id, labels, notes in rows:
            alerts.setdefault(int(incident_id or 0), []).append((SOURCE, labels, notes))
        return [
            h
            for i, severity, resolved_at in incidents
            if i is not None
            for h in watches_of(i, severity, resolved_at, alerts.get(i, []), self._sensitivity)
        ]


class WatchLine:
    """Follower: the "Watching closely" line on a resolved incident's timeline."""

    def __init__(
        self,
        incidents: IncidentService,
        book: WatchBook,
        rules: Sequence[Rule],
        sensitivity: Sensitivity,
        *,
        models: Subjects,
        services: Subjects,
        heartbeats: Subjects,
        tz: tzinfo = UTC,
    ) -> None:
        self._incidents = incidents
        self._book = book
        self._rules = {rule.name: rule for rule in rules}
        self._sensitivity = sensitivity
        self._subjects = {"models": models, "services": services, "heartbeats": heartbeats}
        self._tz = tz

    @staticmethod
    def wants(change: Change) -> bool:
        return change.kind == "state" and change.incident.state == "resolved"

    async def on_change(self, change: Change) -> None:
        view = change.incident
        period = self._sensitivity.period(view.severity)
        if not self.wants(change) or period is None or view.resolved_at is None:
            return
        self._book.invalidate()
        resolved = iso_z(view.resolved_at)
        if any(e.kind == KIND and e.data.get("resolved_at") == resolved for e in view.timeline):
            return  # a retry after the line was written
        alerts = [(a.source, a.labels, a.annotations) for a in view.alerts]
        lines: list[str] = []
        watches: list[dict[str, object]] = []
        for h in watches_of(view.id, view.severity, view.resolved_at, alerts, self._sensitivity):
            rule = self._rules.get(h.rule)
            if rule is None:
                continue  # the rule is gone since (renamed or removed): nothing watches
            threshold = threshold_for(rule, h.labels, **self._subjects)
            lines.append(watch_words(rule, h, threshold, self._tz))
            watches.append({"rule": h.rule, "labels": dict(h.labels), "normal": h.normal})
        if not lines:
            return
        until = view.resolved_at + period
        await self._incidents.record(
            view.id,
            kind=KIND,
            text=watching_words(period, lines),
            actor="vigil",
            data={
                "resolved_at": resolved,
                "until": iso_z(until),
                "lines": lines,
                "watches": watches,
            },
        )
        log.info("watching %d rule(s) of #%d closely until %s", len(lines), view.id, until)
