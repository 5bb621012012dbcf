"""The timeline lines one ingest transaction writes: one per incident, kind and source.

A storm's hundred alerts on one incident read as "Firing: 10 alerts: … (instance: a, b, c
and 7 more)", not as a hundred lines (the wording is ``bot.incidents.intake.alert_lines``, pure).
The "cleared" lines also decide whether the incident is all clear (``cleared_at``), which
starts its quiet period (``bot.incidents.quiet``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents import store
from bot.incidents.intake.alert_lines import AlertFacts, cleared_line, firing_line, line_data
from bot.incidents.quiet import cleared_words
from bot.incidents.states import OPEN_STATES
from bot.ingest.model import AlertIn
from bot.store.tables import Incident

_LINE_KINDS = {"joined": "fired", "opened": "fired", "refired": "again", "resolved": "cleared"}


class Lines:
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
