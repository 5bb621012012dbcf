"""SLA timers: reminders before a breach, the breach, and reminders for an incident left open.

The clock maths is pure (``bot.oncall.sla.clocks``); this module does the I/O around it, the way
``bot.oncall.paging.pager`` does for escalations. Why this shape:

- **One durable timer per incident** (``incident:{id}:sla``, in Vigil's database through
  ``bot.store.timers.Timers``), set for the next moment anything could fall due: a reminder,
  a due time, the next "still unresolved" reminder. A restart loses nothing (an overdue
  timer fires once at start) and no process keeps SLA state in memory.
- **The timeline is the record of what was said.** Each announcement is a timeline entry
  of kind ``sla`` whose data carries a stable key; every check passes the recorded keys
  back to ``due_events``, so a timer that runs twice, or again after a restart, records
  nothing twice. The entry reaches the channel as every entry does: Slack's outbox in the
  entry's own transaction, the console through the notifier.
- **After downtime, one line per target, not a burst**: ``due_events`` gives only the
  latest missed reminder, or the breach instead of any reminder.
- **Severity changes.** A reminder counts as said only under the severity it was said
  for (a P1 lowered to P3 still gets the P3 reminders), while each breach is said once per
  target whatever the severity: "nobody has acknowledged" is not news twice.
- **"Still unresolved" reminders** key on their due time and are said only when later than
  the last one said, so a new ``remind_every`` (a new severity) neither repeats an old
  reminder nor bursts. One due together with a resolve-SLA line rides on that line, which
  already says the incident is still open.
- **One writer.** A change that makes something due at once (raised to P1 ten minutes
  in; a late ack found after downtime) sets the timer for now instead of recording from the
  listener, so only the timer handler writes ``sla`` entries; handlers in this process run
  one at a time. The listener is quick and never raises into the notifier. Across two
  replicas the timer's claim keeps each firing to one process; what is left is a narrow
  window (a change that makes something due at once, committed on one replica while the
  other's handler is mid-check) in which a line could be said twice or a look come late.
- **A failed check runs again a minute later**; an incident that is gone, or a severity
  without an SLA, drops its timer (``bot.oncall.watch``, the skeleton this watch shares
  with the handoff and snooze timers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.clock import Clock
from bot.incidents.reactions.changes import Change
from bot.incidents.service import IncidentService
from bot.incidents.views import IncidentView
from bot.oncall.calendar import WorkingHours
from bot.oncall.sla.clocks import (
    SlaClock,
    SlaEvent,
    SlaSettings,
    due_events,
    next_check,
    sla_clock,
    sla_text,
    unresolved_reminders,
    unresolved_text,
)
from bot.oncall.watch import WatchTimer, plant_each
from bot.store.timers import Timers

log = logging.getLogger(__name__)

TIMER_KIND = "sla"
ENTRY_KIND = "sla"
WATCHED = frozenset({"opened", "severity", "state"})
_UNRESOLVED = "unresolved:"


def timer_key(incident_id: int) -> str:
    """The one SLA timer of an incident (the trailing colon keeps #1 apart from #12)."""
    return f"incident:{incident_id}:sla"


@dataclass(frozen=True)
class Said:
    """What the timeline says was announced: ``keys`` as ``due_events`` wants them (reminders
    only of the current severity) and the due time of the last "still unresolved" line."""

    keys: frozenset[str]
    unresolved: datetime | None


@dataclass(frozen=True)
class Check:
    """One look at an incident at ``clock.now``: what to say now, and when to look again."""

    clock: SlaClock
    events: tuple[SlaEvent, ...]
    unresolved: datetime | None  # due time of a "still unresolved" reminder to say now
    next_at: datetime | None

    @property
    def due_now(self) -> bool:
        return bool(self.events) or self.unresolved is not None


def said(view: IncidentView, severity: str) -> Said:
    """Read the ``sla`` entries of ``view``'s timeline (see the module docstring)."""
    keys: set[str] = set()
    last: datetime | None = None
    for entry in view.timeline:
        if entry.kind != ENTRY_KIND:
            continue
        covered = _time(entry.data.get("unresolved_due"))
        if covered is not None and (last is None or covered > last):
            last = covered
        key = entry.data.get("key")
        if not isinstance(key, str) or key.startswith(_UNRESOLVED):
            continue
        if ":reminder:" in key and entry.data.get("severity") != severity:
            continue
        keys.add(key)
    return Said(frozenset(keys), last)


def check(view: IncidentView, now: datetime, settings: SlaSettings) -> Check:
    """What is due at ``now`` and not yet said, and the next time worth a look.

    ValueError for a severity without an SLA (classification only makes P1-P4)."""
    clock = sla_clock(
        view.severity,
        view.created_at,
        view.acknowledged_at,
        view.resolved_at,
        now,
        contained_at=view.contained_at,
        settings=settings,
    )
    before = said(view, clock.severity)
    every = settings.targets[clock.severity].remind_every
    reminders = unresolved_reminders(
        clock.acknowledge.done_at, clock.resolve.done_at, clock.now, every
    )
    unresolved = None
    if reminders.count and reminders.next_at is not None:
        assert every is not None  # a count means reminders are on
        latest = reminders.next_at - every
        if before.unresolved is None or latest > before.unresolved:
            unresolved = latest
    times = [t for t in (next_check(clock), reminders.next_at) if t is not None]
    return Check(clock, due_events(clock, before.keys), unresolved, min(times, default=None))


class SlaWatch:
    """Keeps each open incident's SLA timer set, and says what falls due when it fires."""

    def __init__(
        self,
        incidents: IncidentService,
        timers: Timers,
        *,
        sla: SlaSettings,
        working_hours: WorkingHours | None,
        clock: Clock,
    ) -> None:
        """``sla.calendar`` counts business days (as in the report, so the channel and the
        report never disagree about a breach); ``working_hours`` (else that calendar) only
        gives the time zone the lines show times in."""
        self._incidents = incidents
        self._sla = sla
        self._tz = (working_hours or sla.calendar).tz
        self._clock = clock
        self._timer = WatchTimer(
            timers,
            TIMER_KIND,
            self._on_timer,
            key=lambda p: timer_key(int(p["incident"])),
            what=lambda p: f"SLA check of incident #{p['incident']}",
            clock=clock,
            log=log,
            drop=(ValueError,),  # no SLA for its severity, or a calendar without working days
        )

    async def on_change(self, change: Change) -> None:
        """Listener: (re)set the incident's timer when it opens, changes severity or state.

        Other moves (a playbook containing it) are seen when the timer next fires."""
        if change.kind not in WATCHED:
            return
        await self._plan(change.incident.id)  # raising: the reactor runs it again

    async def resume(self, *, limit: int = 10_000) -> int:
        """Set the timer of every open incident; how many. For incidents opened before the
        watch existed (an upgrade) or whose timer was lost: run once after ``Timers.start``.
        Idempotent (one timer per incident, replaced), so running it at every start is fine."""
        return await plant_each(
            await self._incidents.list(limit=limit),
            self._schedule,  # just loaded: no need to read it again
            what=lambda view: f"SLA timer of incident #{view.id}",
            log=log,
        )

    async def _plan(self, incident_id: int) -> None:
        # Reloaded rather than the change's snapshot: a later change may have committed.
        # Its clock reads the incident's times and its timeline (what was said), no alerts.
        await self._schedule(await self._incidents.get(incident_id, alerts=False))

    async def _schedule(self, view: IncidentView) -> bool:
        """Set (or cancel, nothing left to look at) the timer of ``view``; True."""
        look = check(view, self._clock(), self._sla)
        at = look.clock.now if look.due_now else look.next_at
        if at is None:
            await self._timer.cancel(timer_key(view.id))
        else:
            await self._timer.schedule(timer_key(view.id), at, _payload(view.id))
        return True

    async def _on_timer(self, payload: dict[str, Any]) -> None:
        await self._run(int(payload["incident"]))

    async def _run(self, incident_id: int) -> None:
        """Say what is due, then set the timer for the next look (none: nothing left)."""
        view = await self._incidents.get(incident_id)
        look = check(view, self._clock(), self._sla)
        riding = look.unresolved
        for event in look.events:
            data = self._data(event, look.clock)
            if riding is not None and event.which == "resolve":
                data["unresolved_due"], riding = riding.isoformat(), None
            await self._incidents.record(
                incident_id,
                kind=ENTRY_KIND,
                text=sla_text(
                    event, look.clock, incident_id=view.id, title=view.title, tz=self._tz
                ),
                actor="vigil",
                data=data,
            )
        if riding is not None:
            await self._incidents.record(
                incident_id,
                kind=ENTRY_KIND,
                text=unresolved_text(
                    look.clock, incident_id=view.id, title=view.title, tz=self._tz
                ),
                actor="vigil",
                data={
                    "key": f"{_UNRESOLVED}{riding.isoformat()}",
                    "severity": look.clock.severity,
                    "event": "unresolved",
                    "unresolved_due": riding.isoformat(),
                },
            )
        # Not cancelled when nothing is left: this timer's row is gone already, and a change
        # committed meanwhile may have set a new one that must stay.
        if look.next_at is not None:
            await self._timer.schedule(timer_key(incident_id), look.next_at, _payload(incident_id))

    @staticmethod
    def _data(event: SlaEvent, clock: SlaClock) -> dict[str, Any]:
        target = clock.acknowledge if event.which == "acknowledge" else clock.resolve
        return {
            "key": event.key,
            "severity": clock.severity,
            "event": event.kind,
            "which": event.which,
            "due": target.due.isoformat(),
        }


def _payload(incident_id: int) -> dict[str, Any]:
    return {"incident": incident_id}


def _time(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None
