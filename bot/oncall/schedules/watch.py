"""Handoff notices: one post to the team channel each time a schedule changes hands.

The time maths and the wording are pure (``bot.oncall.schedules.handoff``); this module does
the timers and the posting, the way ``bot.oncall.sla.watch`` does for SLAs. Why this shape:

- **One durable timer per schedule** (``schedule:{name}:handoff``, kind ``handoff``, in
  Vigil's database through ``bot.store.timers.Timers``), set for the schedule's next handoff.
  Its row's claim makes each firing run in one process only, so two replicas post one
  notice, and a restart neither loses the timer nor repeats the notice.
- **The payload remembers the last look** (``since``). A firing announces the latest
  handoff in ``(since, now]``, if any, and plans the next look with ``since = now``. So a
  timer that fires late after downtime posts one notice, about the current state, saying
  "since 09:00" (never a flood for several missed handoffs), and a timer whose handoff
  vanished (the schedule changed) posts nothing.
- **A look at least every ``recheck``** (1 h), even with no handoff due: the schedules come
  from a provider that may merge imported overrides, which can add a handoff at any time.
  A handoff found that way is at most ``recheck`` late, and says so when it is.
- **The next look is planned before posting**: a crash while posting loses that notice,
  never the chain of timers (``resume`` at start also replants a missing one). A look that
  fails runs again a minute later with the same ``since`` (``bot.oncall.watch``, the
  skeleton this watch shares with the SLA and snooze timers).
- **Posting is ``notice()`` on every chat backend**: the console prints, Slack queues an
  outbox row (retried and ordered there). One backend failing does not stop the others,
  and a notice is not retried here: Slack's outbox does that durably.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.core.clock import Clock
from bot.incidents.views import IncidentView
from bot.oncall.schedules.handoff import (
    LATE,
    OpenIncident,
    can_hand_off,
    handoff_text,
    last_handoff,
    next_handoff,
)
from bot.oncall.schedules.layers import SEARCH_LIMIT, Schedule
from bot.oncall.watch import WatchTimer, plant_each
from bot.store.timers import Timers

log = logging.getLogger(__name__)

TIMER_KIND = "handoff"
RECHECK = timedelta(hours=1)

Schedules = Callable[[], Awaitable[Mapping[str, Schedule]]]
OpenIncidents = Callable[[], Awaitable[Sequence[IncidentView]]]


class NoticeSender(Protocol):
    """What the watch needs of a chat backend: one message to the team channel."""

    name: str

    async def notice(self, text: str) -> None: ...


def timer_key(schedule: str) -> str:
    """The one handoff timer of a schedule (names hold no whitespace, so no clashes)."""
    return f"schedule:{schedule}:handoff"


def open_incident(view: IncidentView) -> OpenIncident:
    """An incident as a notice names it; ``by`` is whoever moved it into its current state."""
    by = next(
        (
            e.actor
            for e in reversed(view.timeline)
            if e.kind == "state" and e.data.get("to") == view.state
        ),
        None,
    )
    return OpenIncident(view.id, view.severity, view.title, view.state, by)


class HandoffWatch:
    """Keeps each schedule's handoff timer set, and posts the notice when one fires."""

    def __init__(
        self,
        timers: Timers,
        *,
        schedules: Schedules,
        open_incidents: OpenIncidents,
        senders: Callable[[], Iterable[NoticeSender]],
        count_open: Callable[[], Awaitable[int]] | None = None,
        clock: Clock,
        recheck: timedelta = RECHECK,
        late_after: timedelta = LATE,
    ) -> None:
        """Registers the ``handoff`` timer kind: build it before ``Timers.start``."""
        self._schedules = schedules
        self._open = open_incidents
        self._count_open = count_open  # all that are open: the list read is cut at a page
        self._senders = senders
        self._clock = clock
        self._recheck = recheck
        self._late_after = late_after
        self._timer = WatchTimer(
            timers,
            TIMER_KIND,
            self._on_timer,
            key=lambda p: timer_key(str(p["schedule"])),
            what=lambda p: f"handoff look at schedule {p['schedule']}",
            clock=clock,
            log=log,
        )

    async def resume(self) -> int:
        """Plan the next look of every schedule that has no timer; how many. A schedule of
        one person gets its hourly look too: an imported swap (from any process) can give it a
        handoff at any time.

        Run after ``Timers.start``, and again after new schedules appear. A pending timer is
        left alone: its ``since`` is what makes a late notice right after downtime."""
        try:
            schedules = await self._schedules()
            pending = await self._timer.pending_keys()
        except Exception:  # no handoff notices must not keep Vigil from starting
            log.exception("handoff timers not planned: schedules or timers unreadable")
            return 0
        now = self._clock()
        waiting = [(n, s) for n, s in schedules.items() if timer_key(n) not in pending]

        async def plant(item: tuple[str, Schedule]) -> bool:
            await self._plan(*item, since=now)
            return True

        return await plant_each(
            waiting, plant, what=lambda item: f"handoff timer of schedule {item[0]}", log=log
        )

    async def _plan(self, name: str, schedule: Schedule, *, since: datetime) -> None:
        """The next look: the next handoff, or ``recheck`` from now, whichever comes first."""
        coming = next_handoff(schedule, since, limit=self._recheck)
        at = coming.at if coming is not None else since + self._recheck
        await self._timer.schedule(timer_key(name), at, _payload(name, since))

    async def _on_timer(self, payload: dict[str, Any]) -> None:
        # A retry keeps the same ``since``: a handoff in between is still announced.
        await self._run(str(payload["schedule"]), datetime.fromisoformat(str(payload["since"])))

    async def _run(self, name: str, since: datetime) -> None:
        """Announce the latest handoff since the last look (if any), then plan the next."""
        now = self._clock()
        schedule = (await self._schedules()).get(name)
        if schedule is None:
            log.info("schedule %s is gone; its handoff timer is dropped", name)
            return
        if not can_hand_off(schedule):  # one person today; an import may add a swap: look again
            await self._plan(name, schedule, since=now)
            return
        change = None
        if now > since:
            change = last_handoff(schedule, now, limit=min(now - since, SEARCH_LIMIT))
        incidents = [open_incident(v) for v in await self._open()] if change is not None else []
        await self._plan(name, schedule, since=now)
        if change is None:
            return
        total = await self._count_open() if self._count_open is not None else None
        text = handoff_text(
            change, schedule.tz, incidents, now=now, late_after=self._late_after, total=total
        )
        for sender in self._senders():
            try:
                await sender.notice(text)
            except Exception:
                log.exception("handoff notice for %s not posted to %s", name, sender.name)


def _payload(schedule: str, since: datetime) -> dict[str, Any]:
    return {"schedule": schedule, "since": since.isoformat()}
