"""The incident service: open, acknowledge, set severity, assign, note, contain, resolve.

Every change is one transaction that also writes the timeline entry describing it, so the
timeline can never disagree with the state. After the commit, listeners (the chat backend,
later paging) hear about the change; a failing listener is logged and never undoes it.
Alert ingestion lives in ``bot.incidents.intake.ingest`` and shares ``IncidentSettings``; the
reads (an incident, the lists, the counts) are ``bot.incidents.reads``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import Clock, utcnow
from bot.core.errors import ValidationError, VigilError
from bot.incidents import store
from bot.incidents.reactions.changes import Change, Notifier
from bot.incidents.reads import IncidentReads
from bot.incidents.severity import parse_severity
from bot.incidents.states import check_transition
from bot.incidents.views import IncidentView
from bot.store.db import Database
from bot.store.tables import Incident

log = logging.getLogger(__name__)


Within = Callable[[AsyncSession], Awaitable[bool]]


class _Skipped(Exception):
    """``record_if``'s condition said no: roll the transaction back, write nothing."""


class Unchanged(VigilError):
    """What was asked is already so: nothing was written (the caller alone is told)."""


@dataclass(frozen=True)
class _Edit:
    """What one human operation did: the timeline entry, and the wording for listeners."""

    kind: str
    text: str
    data: dict[str, Any]
    announce: str | None = None


class IncidentService(IncidentReads):
    """Human-driven operations on incidents (the ``/incident`` commands and the API); the
    reads are :class:`IncidentReads`'s."""

    def __init__(
        self,
        db: Database,
        *,
        notifier: Notifier | None = None,
        clock: Clock = utcnow,
    ) -> None:
        super().__init__(db)
        self.notifier = notifier or Notifier()
        self._clock = clock

    async def open(
        self,
        *,
        title: str,
        actor: str,
        severity: str | None = None,
        service: str | None = None,
        model: str | None = None,
    ) -> IncidentView:
        """Open an incident by hand. Alerts never join it: it has no grouping key."""
        title = title.strip()
        if not title:
            raise ValidationError("title", "an incident needs a title")
        if len(title) > 300:
            raise ValidationError("title", "must be at most 300 characters")
        now = self._clock()
        if severity is not None:
            sev, source = parse_severity(severity), "human"
            reason = f"{sev}: set by {actor} when opening the incident"
        else:
            sev, source = "P4", "policy"
            reason = "P4: opened by hand without a severity; set one with /incident sev N P1..P4"
        subject = f"service={service}" if service else f"model={model}" if model else ""
        async with self._db.session() as s, s.begin():
            row = await store.create_incident(
                session=s,
                title=title,
                severity=sev,
                reason=reason,
                source=source,
                group_key=f"manual:{subject}",
                open_key=None,
                service=service,
                model=model,
                actor=actor,
                at=now,
                opened_text=f"Opened by {actor}: {title}",
            )
            store.add_event(
                session=s,
                incident=row,
                at=now,
                kind="severity",
                actor=actor,
                text=reason,
                data={"severity": sev, "source": source},
            )
            view = await store.view_of(session=s, incident=row)
            changes = [Change("opened", view, actor, f"Opened by {actor}")]
            staged = self.notifier.stage(s, changes, now)
        await self.notifier.publish(changes, staged)
        return view

    async def acknowledge(self, incident_id: int, *, actor: str) -> IncidentView:
        return await self._transition(incident_id, "acknowledged", actor=actor)

    async def contain(self, incident_id: int, *, actor: str) -> IncidentView:
        return await self._transition(incident_id, "contained", actor=actor)

    async def resolve(
        self, incident_id: int, *, actor: str, text: str | None = None
    ) -> IncidentView:
        return await self._transition(incident_id, "resolved", actor=actor, text=text)

    async def _transition(
        self, incident_id: int, target: str, *, actor: str, text: str | None = None
    ) -> IncidentView:
        def apply(row: Incident, now: datetime) -> _Edit:
            check_transition(incident_id, row.state, target)
            before = row.state
            store.enter_state(row, target, now)
            line = f"{target.capitalize()} by {actor}" + (f": {text}" if text else "")
            return _Edit("state", line, {"from": before, "to": target})

        return await self._edit(incident_id, apply, actor=actor)

    async def set_severity(self, incident_id: int, severity: str, *, actor: str) -> IncidentView:
        """A human's severity wins over the policy from now on, and the change is recorded.

        :class:`Unchanged` when the incident already has that severity: a "P1 → P1" line
        would tell the channel something happened when nothing did."""
        sev = parse_severity(severity)

        def apply(row: Incident, now: datetime) -> _Edit:
            before = row.severity
            if before == sev:
                raise Unchanged(f"#{row.id} is already {sev}; nothing changed.")
            reason = f"{sev}: set by {actor} (was {before}: {row.severity_reason})"
            row.severity, row.severity_reason, row.severity_source = sev, reason, "human"
            return _Edit(
                "severity",
                f"Severity {before} → {sev} set by {actor}",
                {"from": before, "to": sev, "source": "human"},
                announce=f"{before} → {sev}",
            )

        return await self._edit(incident_id, apply, actor=actor)

    async def assign(self, incident_id: int, commander: str, *, actor: str) -> IncidentView:
        commander = commander.strip()
        if not commander:
            raise ValidationError("commander", "name the person, e.g. @alice")

        def apply(row: Incident, now: datetime) -> _Edit:
            before, row.commander = row.commander, commander
            line = f"{commander} is now the incident commander (assigned by {actor})"
            if before:
                line += f", taking over from {before}"
            return _Edit("commander", line, {"from": before, "to": commander})

        return await self._edit(incident_id, apply, actor=actor)

    async def note(self, incident_id: int, text: str, *, actor: str) -> IncidentView:
        text = text.strip()
        if not text:
            raise ValidationError("text", "a note needs some text")

        def apply(row: Incident, now: datetime) -> _Edit:
            return _Edit("note", text, {}, announce=f"note from {actor}: {text}")

        return await self._edit(incident_id, apply, actor=actor)

    async def record(
        self,
        incident_id: int,
        *,
        kind: str,
        text: str,
        actor: str,
        data: Mapping[str, Any] | None = None,
        state: str | None = None,
        snapshot: bool = True,
    ) -> IncidentView:
        """Put what another part of Vigil did (a page, a playbook step, a post-mortem draft)
        on the timeline, optionally moving the incident to ``state`` in the same transaction.

        ``snapshot`` False: the caller and the listeners of ``kind`` never read the alerts
        or the timeline (the pager's own bookkeeping), so unless a follower wants the entry
        the view returned and told is the incident's own fields, and nothing more is read."""

        def apply(row: Incident, now: datetime) -> _Edit:
            if state is not None and state != row.state:
                check_transition(incident_id, row.state, state)
                store.enter_state(row, state, now)
            return _Edit(kind, text, dict(data or {}))

        return await self._edit(incident_id, apply, actor=actor, snapshot=snapshot)

    async def record_if(
        self,
        incident_id: int,
        within: Within,
        *,
        kind: str,
        text: str,
        actor: str,
        data: Mapping[str, Any] | None = None,
        snapshot: bool = True,
    ) -> IncidentView | None:
        """:meth:`record`, with ``within(session)`` run in the same transaction first: when it
        says False, nothing is written and None is returned. The pager claims a page's row
        this way, so the claim and the "Paged @maya" entry (whose outbox row DMs the page on
        Slack) commit together: a process killed in between cannot leave a step claimed and
        never sent."""

        def apply(row: Incident, now: datetime) -> _Edit:
            return _Edit(kind, text, dict(data or {}))

        try:
            return await self._edit(
                incident_id, apply, actor=actor, within=within, snapshot=snapshot
            )
        except _Skipped:
            return None

    async def _edit(
        self,
        incident_id: int,
        apply: Callable[[Incident, datetime], _Edit],
        *,
        actor: str,
        within: Within | None = None,
        snapshot: bool = True,
    ) -> IncidentView:
        """Lock the incident, let ``apply`` change it, record the timeline entry it returns,
        commit, then tell listeners. ``apply`` raising leaves everything unchanged.

        The whole snapshot (alerts and timeline) is read after the commit, on a read
        session: inside the transaction it held SQLite's one writer (and the incident's row
        lock) while reading hundreds of rows, and every page writes several entries, so in a
        storm the pages' bookkeeping crowded out the alerts. The followers are chosen
        inside the transaction on the incident's own columns (all that ``wants`` reads);
        listeners get the snapshot read just after the commit (a change committed in
        between shows too, as it would on a retry)."""
        now = self._clock()
        async with self._db.session() as s, s.begin():
            row = await store.get_incident(session=s, incident_id=incident_id, for_update=True)
            if within is not None and not await within(s):
                raise _Skipped
            edit = apply(row, now)
            store.add_event(
                session=s,
                incident=row,
                at=now,
                kind=edit.kind,
                actor=actor,
                text=edit.text,
                data=edit.data,
            )
            text = edit.announce or edit.text
            bare = IncidentView.of(row, [], [])
            staged = self.notifier.stage(s, [Change(edit.kind, bare, actor, text)], now)
        view = await self.get(incident_id) if snapshot or staged.rows else bare
        change = Change(edit.kind, view, actor, text)
        staged.rows = [(reaction, change) for reaction, _ in staged.rows]
        await self.notifier.publish([change], staged)
        return view
