"""Resolve an incident by itself once every alert has cleared and stayed clear.

A follower of the incident's changes (durable: ``reactions``, run until done) and a durable
timer per incident (table ``timers``, so a restart keeps it): "cleared" sets the timer at
the end of the severity's quiet period (``bot.incidents.quiet``), "refiring" or any state
change cancels it. When it fires, the incident resolves only if it is still open and still
clear since that same moment (a flap in between moved ``cleared_at`` or emptied it), with
the reason on its timeline ("Resolved by vigil: every alert cleared at 02:10 UTC and none
fired again for 5 min"). A person's resolve in between wins: the timer finds it resolved.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.errors import TransitionError
from bot.incidents.quiet import resolved_words
from bot.incidents.reactions.changes import Change
from bot.incidents.service import IncidentService
from bot.incidents.states import OPEN_STATES
from bot.store.timers import Timers

log = logging.getLogger(__name__)

TIMER_KIND = "auto_resolve"
WATCHED = frozenset({"cleared", "refiring", "state"})


def timer_key(incident_id: int) -> str:
    return f"incident:{incident_id}:auto_resolve"


class AutoResolver:
    """See the module docstring."""

    def __init__(
        self,
        incidents: IncidentService,
        timers: Timers,
        *,
        quiet: Mapping[str, timedelta | None],
    ) -> None:
        self._incidents = incidents
        self._timers = timers
        self._quiet = quiet
        timers.register(TIMER_KIND, self._on_timer)

    async def on_change(self, change: Change) -> None:
        """Follower: a clear starts the quiet period; anything else that matters ends it."""
        view = change.incident
        wait = self._quiet.get(view.severity)
        if change.kind == "cleared" and view.cleared_at is not None and wait is not None:
            payload = {"incident": view.id, "cleared_at": view.cleared_at.isoformat()}
            await self._timers.schedule(
                TIMER_KIND, timer_key(view.id), view.cleared_at + wait, payload
            )
        elif change.kind == "refiring" or (
            change.kind == "state" and view.state not in OPEN_STATES
        ):
            await self._timers.cancel(timer_key(view.id))

    async def _on_timer(self, payload: dict[str, Any]) -> None:
        incident_id = int(payload["incident"])
        cleared_at = datetime.fromisoformat(str(payload["cleared_at"]))
        view = await self._incidents.get(incident_id, alerts=False, timeline=False)
        wait = self._quiet.get(view.severity)
        if view.state not in OPEN_STATES or view.cleared_at != cleared_at or wait is None:
            return  # resolved by a person, fired again, or the setting changed: nothing
        try:
            await self._incidents.resolve(
                incident_id, actor="vigil", text=resolved_words(cleared_at, wait, UTC)
            )
        except TransitionError:  # resolved meanwhile (another replica): nothing to do
            log.info("incident #%d was resolved before its quiet period ended", incident_id)
