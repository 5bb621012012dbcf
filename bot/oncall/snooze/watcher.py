"""Watching a snooze's condition: ``until psi<0.1 for 30m`` ends when the metric held.

Samples reach :meth:`ConditionWatcher.on_samples` from every poll of the rule runner
(Prometheus, the model-quality figures, pushed samples). For a snooze with a condition each
series in scope (the metric, the selector, and the incident's own model or service) is kept
as a :class:`~bot.oncall.snooze.progress.Run` in the row's ``progress``, folded in one
transaction per snooze with new samples, so two replicas polling different sources never
overwrite each other's and a restart does not start a ``for`` count again. The conditions
watched are cached here, refreshed when this process changes a snooze, at start, and at
most every ``REFRESH`` while samples arrive; with none, a poll costs nothing more. What
happens once a condition held (the timer cancelled, the line said) is the service's.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from bot.core.errors import ValidationError
from bot.oncall.snooze.progress import (
    Point,
    advance,
    check_runs,
    in_scope,
    runs_from_json,
    runs_to_json,
)
from bot.oncall.snooze.rules import Snooze, SnoozeCheck, parse_snooze
from bot.oncall.snooze.tables import SnoozeRow
from bot.sources.base import Sample
from bot.store.db import Database
from bot.store.tables import Incident

log = logging.getLogger(__name__)

REFRESH = timedelta(minutes=1)
"""How stale the in-memory list of watched conditions may get while samples arrive."""

Held = Callable[[int, SnoozeCheck], Awaitable[None]]
"""Told (incident id, the verdict) once a snooze's condition held and this watcher ended it."""


@dataclass(frozen=True)
class Watch:
    """One snooze with a condition, as the sample listener needs it."""

    row_id: int
    incident_id: int
    snoozed_at: datetime
    snooze: Snooze
    scope: tuple[tuple[str, str], ...]


class ConditionWatcher:
    """Judges the samples of each poll against the running snoozes' conditions."""

    def __init__(self, db: Database, *, max_gap: timedelta, held: Held) -> None:
        self._db = db
        self._max_gap = max_gap
        self._held = held
        self._watching: dict[int, Watch] = {}
        self._refreshed_at: datetime | None = None

    def forget(self, incident_id: int) -> None:
        """The incident's snooze ended elsewhere: stop watching it."""
        self._watching.pop(incident_id, None)

    async def on_samples(self, samples: Sequence[Sample], now: datetime) -> None:
        """Listener for every poll of the rule runner: end each snooze whose condition held.

        Never raises into the runner: one broken snooze must not stop the rules."""
        try:
            if self._refreshed_at is None or now - self._refreshed_at >= REFRESH:
                await self.refresh(now)
        except Exception:
            log.exception("snoozes with conditions could not be read")
        for watch in list(self._watching.values()):
            cond = watch.snooze.condition
            assert cond is not None  # only snoozes with a condition are watched
            scope = dict(watch.scope)
            points: list[Point] = [
                (s.labels, s.at, s.value)
                for s in samples
                if in_scope(cond, s.metric, s.labels, scope)
            ]
            if not points:
                continue
            try:
                await self._watch(watch, points, now)
            except Exception:
                log.exception("snooze of incident #%d: samples not judged", watch.incident_id)

    async def _watch(self, watch: Watch, points: list[Point], now: datetime) -> None:
        """Fold new samples into the snooze's progress, in one transaction (read, judge,
        write) so two replicas polling different sources never overwrite each other's."""
        cond = watch.snooze.condition
        assert cond is not None
        current = still_running(watch.row_id, watch.snoozed_at)
        async with self._db.session() as s, s.begin():
            row = (await s.exec(select(SnoozeRow).where(*current).with_for_update())).first()
            if row is None:  # ended or replaced elsewhere
                self._watching.pop(watch.incident_id, None)
                self._refreshed_at = None
                return
            runs = runs_from_json(row.progress)
            seen = advance(runs, points, cond, now, max_gap=self._max_gap)
            look = check_runs(
                watch.snooze, watch.snoozed_at, now, seen.values(), max_gap=self._max_gap
            )
            held = look.over and look.why == "condition"
            if seen == runs and not held:
                return
            values: dict[str, Any] = {"progress": runs_to_json(seen)}
            if held:
                values |= {"ended_at": now, "ended_why": "condition"}
            stmt = update(SnoozeRow).where(*current).values(**values).returning(col(SnoozeRow.id))
            changed = (await s.exec(stmt)).scalar_one_or_none() is not None
        if held and changed:
            self._watching.pop(watch.incident_id, None)
            await self._held(watch.incident_id, look)

    async def refresh(self, now: datetime) -> None:
        """Re-read the running snoozes that have a condition (see the module docstring)."""
        stmt = (
            select(SnoozeRow, Incident.model, Incident.service)
            .join(Incident, col(Incident.id) == col(SnoozeRow.incident_id))
            .where(col(SnoozeRow.ended_at).is_(None))
        )
        async with self._db.read() as s, s.begin():
            rows = (await s.exec(stmt)).all()
        watching: dict[int, Watch] = {}
        for row, model, service in rows:
            try:
                parsed = parse_snooze(row.request)
            except ValidationError:
                log.warning("snooze of incident #%d: stored request unreadable", row.incident_id)
                continue
            if parsed.condition is None or row.id is None:
                continue
            scope = tuple(
                (k, v) for k, v in (("model", model), ("service", service)) if v is not None
            )
            watching[row.incident_id] = Watch(
                row.id, row.incident_id, row.snoozed_at, parsed, scope
            )
        self._watching = watching
        self._refreshed_at = now


def still_running(row_id: int, snoozed_at: datetime) -> tuple[Any, ...]:
    """The row still running the snooze set at ``snoozed_at`` (not ended, not replaced)."""
    return (
        col(SnoozeRow.id) == row_id,
        col(SnoozeRow.ended_at).is_(None),
        col(SnoozeRow.snoozed_at) == snoozed_at,
    )
