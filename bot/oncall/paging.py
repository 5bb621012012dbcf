"""Paging with escalation: page level 1 when an incident needs a person, escalate until acked.

The policy maths is pure (``bot.oncall.escalation``); this module does the I/O around it:
who was paged is stored in the ``pages`` table (one row per incident, step and person, unique,
so a step is never paged twice), the next look is a durable timer in Vigil's own database
(``bot.scheduler.Timers``, so a restart neither loses nor repeats an escalation), every page
goes on the incident timeline, and the page itself is a direct message through each attached
chat backend. Acknowledging (or containing, or resolving) stops the escalation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.chat.commands import render
from bot.db import Database
from bot.errors import TransitionError, ValidationError
from bot.incidents.service import Change, IncidentService
from bot.incidents.store import Clock
from bot.incidents.views import IncidentView
from bot.models import Page
from bot.notify.base import Channel, Delivered, Kind, Notification, incident_key
from bot.notify.fallback import deliver
from bot.oncall.escalation import (
    EscalationPolicy,
    PageStep,
    describe,
    due,
    format_duration,
    plan,
)
from bot.oncall.roster import resolve_targets
from bot.oncall.status import OncallSettings
from bot.scheduler import Timers

log = logging.getLogger(__name__)

TIMER_KIND = "escalate"
STOPPING_STATES = frozenset({"acknowledged", "contained", "resolved", "postmortem"})


class PageSender(Protocol):
    """What the pager needs of a chat backend: one direct page to one person."""

    name: str

    async def page(self, target: str, incident: IncidentView, text: str) -> None: ...


def timer_key(incident_id: int) -> str:
    """The one escalation timer of an incident (the trailing colon keeps #1 apart from #12)."""
    return f"incident:{incident_id}:escalate"


def page_text(view: IncidentView, step: PageStep, next_at: datetime | None, after: str) -> str:
    """The page, first line first: what, how bad, what to do, and what happens if nobody does."""
    head = (
        f"{render.mark(view.severity)} {view.severity} #{view.id} {view.title} — you are paged "
        f"(level {step.level}). Acknowledge: /incident ack {view.id}"
    )
    if next_at is not None and after:
        head += f"; otherwise {after} is paged at {next_at.strftime('%H:%M')}Z"
    return f"{head}\nWhy: {view.severity_reason}"


class Pager:
    def __init__(
        self,
        db: Database,
        incidents: IncidentService,
        timers: Timers,
        settings: OncallSettings,
        *,
        senders: Callable[[], Sequence[PageSender]],
        clock: Clock,
        channels: Sequence[Channel] = (),
        key_prefix: str = "vigil",
    ) -> None:
        self._db = db
        self._incidents = incidents
        self._timers = timers
        self._settings = settings
        self._senders = senders
        self._clock = clock
        self._channels = tuple(channels)
        self._key_prefix = key_prefix
        timers.register(TIMER_KIND, self._on_timer)

    async def on_change(self, change: Change) -> None:
        """Listener: start paging for a new (or newly severe) incident; stop on ack."""
        view = change.incident
        policy = self._settings.policy
        if view.state in STOPPING_STATES and change.kind == "state":
            await self._stop(view, change.actor)
            await self._mirror(view, change.actor)
        elif (
            policy is not None
            and change.kind in ("opened", "severity")
            and view.state == "triggered"
            and view.severity in self._settings.page_severities
            and await self._paged_steps(view.id) == 0
        ):
            await self._incidents.record(
                view.id,
                kind="escalation",
                text=f"Paging started for {view.severity}. {describe(policy)}",
                actor="vigil",
                data={"started_at": self._clock().isoformat()},
            )
            await self._advance(view.id, self._clock())

    async def escalate(self, incident_id: int, *, actor: str) -> IncidentView:
        """Page the next level now (the Escalate button): someone wants more hands.

        Works on an acknowledged incident too; refused once it is resolved or when every
        level has been paged. The automatic escalation carries on from the step after.
        """
        policy = self._settings.policy
        if policy is None:
            raise ValidationError(
                "escalation", "no escalation policy is configured, so there is nobody to page"
            )
        view = await self._incidents.get(incident_id)
        if view.state in ("resolved", "postmortem"):
            raise TransitionError(
                f"Cannot escalate incident #{incident_id}: it is {view.state}.", current=view.state
            )
        paged = await self._paged_steps(incident_id)
        steps = plan(policy, self._clock())
        if paged >= len(steps):
            raise ValidationError(
                "escalation", f"every level of the policy has been paged for #{incident_id}"
            )
        step = steps[paged]
        await self._incidents.record(
            incident_id,
            kind="escalation",
            text=f"Escalated by {actor}: paging level {step.level} now",
            actor=actor,
        )
        await self._send(view, policy, step, None)
        return await self._incidents.get(incident_id)

    async def _on_timer(self, payload: dict[str, Any]) -> None:
        await self._advance(int(payload["incident"]), datetime.fromisoformat(payload["started"]))

    async def _advance(self, incident_id: int, started_at: datetime) -> None:
        """Send every step that is due and not yet sent, then set the timer for the next."""
        policy = self._settings.policy
        if policy is None:
            return
        view = await self._incidents.get(incident_id)
        now = self._clock()
        state = due(
            policy,
            started_at,
            now,
            acknowledged=view.state != "triggered",
            paged=await self._paged_steps(incident_id),
        )
        if state.next_at is not None:
            # Before paging: a process killed while it pages (after this timer's row was
            # claimed) must not take the rest of the escalation with it. The plan's times
            # are fixed from the start, so the next one is known before anyone is paged.
            payload = {"incident": incident_id, "started": started_at.isoformat()}
            await self._timers.schedule(TIMER_KIND, timer_key(incident_id), state.next_at, payload)
        for step in state.due:
            await self._send(view, policy, step, state.next_at)
        if state.next_at is None and state.exhausted and not state.acknowledged:
            total = format_duration(now - started_at)
            await self._incidents.record(
                incident_id,
                kind="escalation",
                text=(
                    f"Nobody acknowledged #{incident_id} after {state.levels} level(s) and "
                    f"{total}: escalation exhausted. Whoever sees this: /incident ack "
                    f"{incident_id}"
                ),
                actor="vigil",
            )

    async def _send(
        self, view: IncidentView, policy: EscalationPolicy, step: PageStep, next_at: datetime | None
    ) -> None:
        now = self._clock()
        people = resolve_targets(
            step.targets, self._settings.rotations, now, self._settings.schedules
        )
        levels = policy.levels
        after = ", ".join(levels[step.level].targets) if step.level < len(levels) else ""
        text = page_text(view, step, next_at, after)
        senders = list(self._senders())
        channel = ",".join(s.name for s in senders) or "none"
        for person in people:
            if not await self._claim(view.id, step, person, channel, now):
                continue  # another process (or an earlier run) already paged this step
            failures = []
            for sender in senders:
                try:
                    await sender.page(person, view, text)
                except Exception as exc:  # one broken channel must not stop the others
                    log.exception("page to %s via %s failed", person, sender.name)
                    failures.append(f"{sender.name}: {type(exc).__name__}")
            how = f"via {channel}" if senders else "no chat backend connected: logged only"
            if failures:
                how += f"; failed on {', '.join(failures)}"
            if not senders:
                log.warning("page for #%d to %s not delivered: %s", view.id, person, how)
            await self._incidents.record(
                view.id,
                kind="page",
                text=f"Paged {person} (level {step.level}, round {step.round}) {how}",
                actor="vigil",
                data={"step": step.index, "level": step.level, "target": person},
            )
            await self._notify(view, person, text)

    def _notification(self, view: IncidentView, person: str, text: str, kind: Kind) -> Notification:
        return Notification(
            incident_id=view.id,
            key=incident_key(view.id, self._key_prefix),
            severity=view.severity,  # type: ignore[arg-type]  # P1-P4, checked by Notification
            title=view.title,
            text=text,
            target=person,
            kind=kind,
            service=view.service or view.model,
        )

    async def _notify(self, view: IncidentView, person: str, text: str) -> None:
        """The page through the ``notify:`` channels too, first that takes it; each failure
        and fallback goes on the timeline in words ("PagerDuty refused the page (…); paged
        @maya by e-mail instead"), so nobody assumes a page that never arrived."""
        if not self._channels:
            return
        result = await deliver(self._notification(view, person, text, "page"), self._channels)
        for line in result.lines:
            await self._incidents.record(
                view.id,
                kind="notify",
                text=line,
                actor="vigil",
                data={"target": person, "channel": result.channel or ""},
            )

    async def _mirror(self, view: IncidentView, actor: str) -> None:
        """Acknowledge or resolve the PagerDuty incident our page opened, so PagerDuty stops
        calling people about something already handled here. Not sent back to PagerDuty
        when PagerDuty itself told us (its webhook's actor), and only after a page."""
        kinds: dict[str, Kind] = {
            "acknowledged": "acknowledge",
            "contained": "acknowledge",
            "resolved": "resolve",
        }
        kind = kinds.get(view.state)
        pagerduty = [c for c in self._channels if c.name == "pagerduty"]
        if kind is None or not pagerduty or actor.endswith("(PagerDuty)"):
            return
        if await self._paged_steps(view.id) == 0:
            return
        text = f"{view.state.capitalize()} in Vigil by {actor}"
        for channel in pagerduty:
            outcome = await channel.send(self._notification(view, actor, text, kind))
            if not isinstance(outcome, Delivered):
                await self._incidents.record(
                    view.id,
                    kind="notify",
                    text=f"Could not {kind} the PagerDuty incident ({outcome.reason}); "
                    f"{kind} it in PagerDuty by hand",
                    actor="vigil",
                )

    async def _claim(
        self, incident_id: int, step: PageStep, person: str, channel: str, now: datetime
    ) -> bool:
        """Insert the page row; False if this step was already paged to this person.

        The unique (incident, step, person) index settles a race between two processes: the
        loser's insert fails and it sends nothing.
        """
        try:
            return await self._insert_page(incident_id, step, person, channel, now)
        except IntegrityError:
            return False

    async def _insert_page(
        self, incident_id: int, step: PageStep, person: str, channel: str, now: datetime
    ) -> bool:
        async with self._db.session() as s, s.begin():
            exists = await s.exec(
                select(Page.id).where(
                    col(Page.incident_id) == incident_id,
                    col(Page.step) == step.index,
                    col(Page.target) == person,
                )
            )
            if exists.first() is not None:
                return False
            s.add(
                Page(
                    incident_id=incident_id,
                    step=step.index,
                    level=step.level,
                    target=person,
                    channel=channel[:32],
                    sent_at=now,
                )
            )
        return True

    async def _paged_steps(self, incident_id: int) -> int:
        """How many escalation steps have been sent (the next step's index)."""
        async with self._db.session() as s, s.begin():
            top = (
                await s.exec(
                    select(func.max(Page.step)).where(col(Page.incident_id) == incident_id)
                )
            ).first()
        return 0 if top is None else int(top) + 1

    async def _stop(self, view: IncidentView, actor: str) -> None:
        cancelled = await self._timers.cancel(timer_key(view.id))
        now = self._clock()
        async with self._db.session() as s, s.begin():
            pages = (
                await s.exec(
                    select(Page).where(
                        col(Page.incident_id) == view.id, col(Page.acknowledged_at).is_(None)
                    )
                )
            ).all()
            for page in pages:
                page.acknowledged_at, page.acknowledged_by = now, actor
                s.add(page)
        if cancelled or pages:
            await self._incidents.record(
                view.id,
                kind="escalation",
                text=f"Escalation stopped: {view.state} by {actor}",
                actor="vigil",
            )
