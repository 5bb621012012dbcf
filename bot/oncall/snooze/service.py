"""Snoozing an incident: hold its pages for a while, or until a metric shows it recovered.

    /incident snooze 12 30m                              no pages for 30 min, then page again
    /incident snooze 12 until psi<0.1 for 30m            until psi held under 0.1 for 30 min
    /incident snooze 12 2h until error_rate<=0.01 for 10m   whichever comes first
    /incident snooze 12 off                              end it now and page again

The rules (parsing, the 24 h cap, what "held for 30m" means) are pure, in
``bot.oncall.snooze.rules``; this module does the I/O around them. What it does, and why:

- **Open incidents only.** Triggered, acknowledged or contained; a resolved one is refused
  privately and nothing changes (there is nothing left to page about).
- **One snooze per incident**, a row of ``snoozes`` (upserted: a new snooze replaces the
  last, whatever its state), holding the request as typed (re-read by the same pure parser
  when it matters, so the rules live in one place) and, in ``progress``, what the condition
  watcher has seen, so a restart does not start a ``for`` count again.
- **Snoozing holds the escalation** (``Pager.hold``: the pending escalation timer is
  cancelled) and says so in the channel: a ``snooze`` timeline entry, public, because the
  team must know nobody will be paged.
- **The time running out pages again.** One durable timer per incident (``snooze``, keyed
  ``incident:N:snooze``) at the latest end: the time given, or the 24 h cap. When it fires
  the timeline says why ("Snooze of #12 (30 min) is over: paging again.") and
  ``Pager.repage`` starts the escalation policy again from level 1. ``snooze N off`` does
  the same at once (``unsnooze`` was the alternative; one verb is one thing to remember).
- **The condition holding pages nobody.** Samples reach :meth:`SnoozeService.on_samples`
  from every poll of the rule runner (Prometheus, the model-quality figures, pushed
  samples). For a snooze with a condition each series in scope (the metric, the selector,
  and the incident's own model or service: another model's PSI says nothing about this
  one) is kept as a :class:`~bot.oncall.snooze.rules.Run` in ``progress``. The hold counts from
  the snooze on, a sample older than ``MAX_GAP`` is not evidence, and every series seen
  must hold. When it has, the timeline says so ("psi<0.1 for 30 min held: the snooze of #12
  is over. Check it; /incident resolve 12 if fixed."), the timer is cancelled, and nobody is
  woken: the metric recovered, which is good news to read in the channel, not a page.
- **Cheap when idle.** The conditions being watched are cached in memory
  (``bot.oncall.snooze.watcher``, which judges the samples), refreshed from the table when
  this process changes a snooze, at start, and at most every ``watcher.REFRESH`` while samples
  arrive (a snooze set on another replica); with none, a poll costs nothing more. With
  some, one short transaction per snooze that has new samples.
- **Resolving ends a snooze quietly**: the timer is cancelled and nothing is paged or said
  (the resolve is the news). A timer that fires for an incident resolved meanwhile (the
  listener runs only in the process that resolved it) does the same.
- **Once, across replicas.** Every end goes through one conditional ``UPDATE … WHERE
  ended_at IS NULL AND snoozed_at = …`` and acts only if it changed the row: the timer, the
  watcher, ``off`` and a resolve can race, on one process or two, and only one of them says
  or pages anything. ``snoozed_at`` in the condition keeps an old timer or watcher from
  ending the snooze that replaced its own. The timer row's claim keeps each firing to one
  process.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol

from sqlalchemy import Table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from bot.core.clock import Clock
from bot.core.errors import NotFoundError, TransitionError, ValidationError
from bot.incidents import store
from bot.incidents.reactions.changes import Change
from bot.incidents.service import IncidentService
from bot.incidents.states import OPEN_STATES
from bot.incidents.views import IncidentView
from bot.oncall.paging.plans import owned_by
from bot.oncall.snooze.book import SnoozeBook
from bot.oncall.snooze.metrics import named_in_full
from bot.oncall.snooze.progress import (
    check_runs,
    runs_from_json,
)
from bot.oncall.snooze.rules import (
    MAX_GAP,
    PAGING_AGAIN,
    SnoozeCheck,
    ended_text,
    parse_snooze,
    snooze_text,
    snooze_until,
)
from bot.oncall.snooze.tables import SnoozeRow
from bot.oncall.snooze.watcher import ConditionWatcher, still_running
from bot.oncall.watch import WatchTimer, plant_each
from bot.sources.base import Sample
from bot.store.db import Database
from bot.store.tables import Incident
from bot.store.timers import Timers

log = logging.getLogger(__name__)

TIMER_KIND = "snooze"
ENTRY_KIND = "snooze"
_TABLE: Table = SnoozeRow.__table__  # type: ignore[attr-defined]


class Repager(Protocol):
    """What snoozing needs of the Pager (``bot.oncall.paging.pager.Pager``)."""

    async def hold(self, incident_id: int) -> bool: ...

    async def repage(self, incident_id: int, *, reason: str) -> bool: ...


REPAGE_REASON = "Snooze over."
"""How the Pager's line about the re-page starts (the snooze's own line, just above it on the
timeline, already says why it is over); when the incident's severity or routes page nobody,
the Pager says so after it, so "paging again" never stands unanswered."""


def timer_key(incident_id: int) -> str:
    """The one snooze timer of an incident (the trailing colon keeps #1 apart from #12)."""
    return f"incident:{incident_id}:snooze"


@dataclass(frozen=True)
class Snoozed:
    """What a command did: the incident as it is now, and the line the channel got."""

    incident: IncidentView
    text: str


class SnoozeService:
    """Snoozes: set, end early, end by time or by condition (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        incidents: IncidentService,
        timers: Timers,
        pager: Repager,
        *,
        clock: Clock,
        tz: tzinfo = UTC,
        max_gap: timedelta = MAX_GAP,
        metrics: Collection[str] = (),
    ) -> None:
        """``tz``: the zone the confirmation shows the end in (the on-call working hours').
        ``metrics``: the names a condition may wait for (``metrics.py``); none: any."""
        self._db = db
        self._incidents = incidents
        self._pager = pager
        self._book = SnoozeBook(db)
        self._clock = clock
        self._tz = tz
        self._max_gap = max_gap
        self._metrics = frozenset(metrics)
        self._watcher = ConditionWatcher(db, max_gap=max_gap, held=self._held)
        self._timer = WatchTimer(
            timers,
            TIMER_KIND,
            self._on_timer,
            key=lambda p: timer_key(int(p["incident"])),
            what=lambda p: f"snooze check of incident #{p['incident']}",
            clock=clock,
            log=log,
        )

    # -- commands ----------------------------------------------------------------------------

    async def snooze(self, incident_id: int, request: str, *, actor: str) -> Snoozed:
        """Snooze ``incident_id`` as ``request`` says (``"12 30m"``: what ``parse_snooze``
        reads). ValidationError for a request that does not parse; NotFoundError for no such
        incident; TransitionError for a resolved one, with nothing changed."""
        request = named_in_full(request, self._metrics)  # "psi" → "input_drift_psi"
        parsed = parse_snooze(request)
        if parsed.incident_id != incident_id:
            raise ValidationError("snooze.incident", f"the request is for #{parsed.incident_id}")
        now = self._clock()
        until = snooze_until(parsed, now)
        values = {
            "incident_id": incident_id,
            "request": request,
            "snoozed_by": actor,
            "snoozed_at": now,
            "until": until,
            "progress": {},
            "ended_at": None,
            "ended_why": None,
        }
        insert = (postgresql if not self._db.is_sqlite else sqlite).insert(_TABLE).values(values)
        upsert = insert.on_conflict_do_update(
            index_elements=[_TABLE.c.incident_id],
            set_={k: insert.excluded[k] for k in values if k != "incident_id"},
        )
        async with self._db.session() as s, s.begin():
            # Locked, so a resolve cannot commit between the check and the snooze.
            row = await store.get_incident(session=s, incident_id=incident_id, for_update=True)
            if row.state not in OPEN_STATES:
                raise TransitionError(
                    f"Cannot snooze incident #{incident_id}: it is {row.state}, so nothing "
                    "pages for it. Nothing changed.",
                    current=row.state,
                )
            await s.exec(upsert)
        await self._timer.schedule(timer_key(incident_id), until, _payload(incident_id, now))
        await self._pager.hold(incident_id)
        text = snooze_text(parsed, now, tz=self._tz)
        view = await self._incidents.record(
            incident_id,
            kind=ENTRY_KIND,
            text=text,
            actor=actor,
            data={"event": "snoozed", "request": request, "until": until.isoformat()},
        )
        await self._watcher.refresh(now)
        return Snoozed(view, text)

    async def unsnooze(self, incident_id: int, *, actor: str) -> Snoozed:
        """``snooze N off``: end the snooze now and page again, as if its time ran out.
        NotFoundError when the incident has no snooze running."""
        row = await self.active(incident_id)
        now = self._clock()
        if row is None or not await self._end(row, now, "off"):
            await self._incidents.get(incident_id)  # no such incident: say that instead
            raise NotFoundError(f"#{incident_id} is not snoozed; nothing to end.")
        await self._timer.cancel(timer_key(incident_id))
        view = await self._incidents.get(incident_id)
        text = f"Snooze of #{incident_id} ended early by {actor}{PAGING_AGAIN}"
        text = ended_text(text, incident_id, view.state, owned_by(view))
        await self._incidents.record(
            incident_id, kind=ENTRY_KIND, text=text, actor=actor, data=_ended("off")
        )
        await self._resume(view)
        await self._watcher.refresh(now)
        return Snoozed(await self._incidents.get(incident_id), text)

    async def _resume(self, view: IncidentView) -> None:
        """What the incident's state calls for once a snooze ends: a triggered incident's
        escalation starts again; someone owns an acknowledged or contained one, and its line
        already says nobody is paged (``Pager.repage`` still checks the state it reads)."""
        if view.state == "triggered":
            await self._pager.repage(view.id, reason=REPAGE_REASON)

    # -- listeners ---------------------------------------------------------------------------

    async def on_change(self, change: Change) -> None:
        """Listener: a snooze ends quietly when its incident is resolved (nothing to page)."""
        if change.incident.state in OPEN_STATES:
            return
        await self._end_quietly(change.incident.id)  # raising: the reactor runs it again

    async def on_samples(self, samples: Sequence[Sample], now: datetime) -> None:
        """Listener for every poll of the rule runner: end each snooze whose condition held
        (``watcher.py``). Never raises into the runner."""
        await self._watcher.on_samples(samples, now)

    async def resume(self) -> int:
        """Set the timer of every running snooze, end those of incidents resolved meanwhile,
        and read the conditions to watch; how many snoozes run. Run after ``Timers.start``:
        idempotent (one timer per incident, replaced), so at every start."""
        async with self._db.session() as s, s.begin():
            stmt = (
                select(SnoozeRow, Incident.state)
                .join(Incident, col(Incident.id) == col(SnoozeRow.incident_id))
                .where(col(SnoozeRow.ended_at).is_(None))
            )
            rows = (await s.exec(stmt)).all()

        async def plant(found: tuple[SnoozeRow, str]) -> bool:
            row, state = found
            if state not in OPEN_STATES:
                await self._end_quietly(row.incident_id)
                return False
            payload = _payload(row.incident_id, row.snoozed_at)
            await self._timer.schedule(timer_key(row.incident_id), row.until, payload)
            return True

        running = await plant_each(
            rows,
            plant,
            what=lambda found: f"snooze timer of incident #{found[0].incident_id}",
            log=log,
        )
        await self._watcher.refresh(self._clock())
        return running

    # -- the timer ---------------------------------------------------------------------------

    async def _on_timer(self, payload: dict[str, Any]) -> None:
        """One firing (``bot.oncall.watch``: one at a time, retried a minute later when it
        fails before anything was said, dropped when the incident is gone)."""
        snoozed_at = datetime.fromisoformat(str(payload["snoozed_at"]))
        await self._fire(int(payload["incident"]), snoozed_at)

    async def _fire(self, incident_id: int, snoozed_at: datetime) -> None:
        """The deadline: page again (time or cap), unless the snooze is gone, was replaced,
        or its incident was resolved meanwhile."""
        row = await self.active(incident_id)
        if row is None or row.snoozed_at != snoozed_at:
            return  # ended already, or replaced by a snooze whose own timer will come
        view = await self._incidents.get(incident_id)
        if view.state not in OPEN_STATES:
            await self._end_quietly(incident_id)
            return
        now = self._clock()
        look = check_runs(
            parse_snooze(row.request),
            row.snoozed_at,
            now,
            runs_from_json(row.progress).values(),
            max_gap=self._max_gap,
        )
        if not look.over or look.why is None:
            if look.next_at is not None:  # fired early (a clock step): look again then
                payload = _payload(incident_id, row.snoozed_at)
                await self._timer.schedule(timer_key(incident_id), look.next_at, payload)
            return
        if not await self._end(row, now, look.why):
            return
        # Ended (claimed): from here a failure must not retry, or the page would come twice.
        try:
            await self._over(incident_id, look)
        except Exception:
            log.exception("snooze of incident #%d ended, but not said or re-paged", incident_id)

    async def _over(self, incident_id: int, look: SnoozeCheck) -> None:
        """Say why the snooze is over; page again unless the condition held. Nothing for an
        incident resolved meanwhile on another replica (whose listener ends the snooze)."""
        view = await self._incidents.get(incident_id)
        if view.state not in OPEN_STATES:
            return
        text = ended_text(look.text, incident_id, view.state, owned_by(view))
        await self._incidents.record(
            incident_id, kind=ENTRY_KIND, text=text, actor="vigil", data=_ended(look.why)
        )
        if look.why != "condition":
            await self._resume(view)
        await self._watcher.refresh(self._clock())

    async def _held(self, incident_id: int, look: SnoozeCheck) -> None:
        """The condition held and the watcher ended the snooze: no timer, say so, page nobody."""
        await self._timer.cancel(timer_key(incident_id))
        await self._over(incident_id, look)

    async def is_snoozed(self, incident_id: int) -> bool:
        """Is a snooze running? (``SnoozeBook``, which the Pager asks directly.)"""
        return await self._book.is_snoozed(incident_id)

    async def active(self, incident_id: int) -> SnoozeRow | None:
        """The incident's snooze while it runs; None when there is none or it is over."""
        return await self._book.active(incident_id)

    async def _end(self, row: SnoozeRow, now: datetime, why: str) -> bool:
        """Mark the snooze over, if nobody has (the claim every end goes through)."""
        assert row.id is not None
        stmt = (
            update(SnoozeRow)
            .where(*still_running(row.id, row.snoozed_at))
            .values(ended_at=now, ended_why=why)
            .returning(col(SnoozeRow.id))
        )
        async with self._db.session() as s, s.begin():
            return (await s.exec(stmt)).scalar_one_or_none() is not None

    async def _end_quietly(self, incident_id: int) -> None:
        """The incident was resolved: end its snooze and cancel the timer, saying nothing."""
        row = await self.active(incident_id)
        if row is None:
            return
        await self._timer.cancel(timer_key(incident_id))
        if await self._end(row, self._clock(), "resolved"):
            self._watcher.forget(incident_id)


def _payload(incident_id: int, snoozed_at: datetime) -> dict[str, Any]:
    return {"incident": incident_id, "snoozed_at": snoozed_at.astimezone(UTC).isoformat()}


def _ended(why: str | None) -> dict[str, Any]:
    return {"event": "ended", "why": why or ""}
