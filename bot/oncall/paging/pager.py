"""Paging with escalation: page level 1 when an incident needs a person, escalate until acked.

Which policy pages, and whether now, at the next working-hours start or never, is decided by
``bot.oncall.paging.routing.decide`` from the severity and the ``service``/``model`` labels. The
plan a page started with (policy name, severity, start time, first step number) travels in
the durable timer's payload and in the timeline entry that starts the paging, so a timer that
fires after a restart (or on the other replica) pages by the same plan. A re-page after a
snooze starts a new plan whose step numbers continue after the last one sent, so the unique
``pages`` row of each step still guards against a double page.

The policy maths is pure (``bot.oncall.paging.escalation``); this module does the I/O around it:
who was paged is stored in the ``pages`` table (one row per incident, step and person, unique,
so a step is never paged twice), the next look is a durable timer in Vigil's own database
(``bot.store.timers.Timers``, so a restart neither loses nor repeats an escalation), every page
goes on the incident timeline, and the page itself is a direct message through each attached
chat backend and the ``notify:`` channels (``bot.oncall.paging.delivery``). Acknowledging
(or containing, or resolving) stops the escalation.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from bot.core.clock import Clock
from bot.core.durations import format_duration
from bot.core.errors import TransitionError, ValidationError
from bot.incidents.reactions.changes import Change
from bot.incidents.reactions.reactor import Reactor
from bot.incidents.service import IncidentService
from bot.incidents.states import OPEN_STATES, STOPPING_STATES
from bot.incidents.views import IncidentView
from bot.notify.retry import NotifyRetrier
from bot.oncall.paging.delivery import PageDelivery, PageSender
from bot.oncall.paging.escalation import (
    describe,
    due,
    plan,
)
from bot.oncall.paging.pages import PageBook
from bot.oncall.paging.plans import (
    TIMER_KIND,
    Plan,
    current_plan,
    labels,
    owned_by,
    timer_key,
)
from bot.oncall.paging.routing import (
    DEFAULT_POLICY,
    Routing,
    decide,
    policy_for,
    route_for,
)
from bot.oncall.schedules.layers import Schedule
from bot.oncall.settings import OncallSettings
from bot.store.db import Database
from bot.store.timers import Timers

log = logging.getLogger(__name__)

NOTIFY = "page-notify"  # the follow-up that sends one page through the notify: channels


def _replan(started: Plan | None, severity: str) -> bool:
    """Whether an incident now at ``severity`` needs a new plan: one was started at another
    severity (none started: the first start below decides, as for a new incident)."""
    return started is not None and started.severity.upper() != severity.upper()


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
        retrier: NotifyRetrier | None = None,
        schedules: Callable[[], Awaitable[Mapping[str, Schedule]]] | None = None,
        snoozed: Callable[[int], Awaitable[bool]] | None = None,
        reactor: Reactor | None = None,
    ) -> None:
        self._db = db
        self._incidents = incidents
        self._timers = timers
        self._settings = settings
        self._clock = clock
        self.pages = PageBook(db)  # also read by the PagerDuty mirror: "was this paged?"
        self._snoozed = snoozed  # a snoozed incident starts paging when its snooze ends
        # Sends each page, through notify: durably with the reactor (``delivery.py``).
        self._delivery = PageDelivery(
            incidents,
            settings,
            self.pages,
            senders=senders,
            clock=clock,
            kind=NOTIFY,
            retrier=retrier,
            schedules=schedules,
            reactor=reactor,
        )
        timers.register(TIMER_KIND, self._on_timer)
        if reactor is not None:
            reactor.register(NOTIFY, self._delivery.notify_row)

    @property
    def _routing(self) -> Routing:
        return self._settings.routing

    async def on_change(self, change: Change) -> None:
        """Listener: start paging for a new (or newly severe) incident; stop on ack, and
        while every alert has cleared (resuming if one fires again before it resolves)."""
        view = change.incident
        if view.state in STOPPING_STATES and change.kind == "state":
            await self._stop(view, change.actor)
        elif change.kind == "cleared" and view.state == "triggered":
            if await self.hold(view.id):
                await self._record(
                    view.id,
                    "Escalation stopped: every alert cleared (it resumes if one fires again).",
                    {"outcome": "cleared"},
                )
        elif change.kind == "refiring" and view.state == "triggered" and view.cleared_at is None:
            if self._routing.policies and not await self._is_snoozed(view.id):
                await self.repage(view.id, reason="An alert fires again, and nobody has acked:")
        elif (
            self._routing.policies
            and change.kind in ("opened", "severity")
            and view.state == "triggered"
        ):
            snoozed = await self._is_snoozed(view.id)
            sent = await self.pages.steps_sent(view.id)
            started = current_plan(view)
            if change.kind == "severity" and not snoozed and _replan(started, view.severity):
                # A new severity pages by its own policy (its route, its caps), not by the
                # plan the old one started: the pending step is dropped, the new plan's
                # steps are numbered after the pages already sent.
                await self.hold(view.id)
                await self._start(view, base=sent, why=f"Severity now {view.severity}:")
            elif sent > 0:
                # Run again after a kill between a page and the next step's timer: go on
                # with the plan on the timeline (steps not yet sent, then the timer).
                if started is not None and not snoozed:
                    await self._advance(started)
            elif snoozed:
                await self._record(
                    view.id,
                    f"{view.severity}, but snoozed: nobody is paged until the snooze ends "
                    f"(/incident snooze {view.id} off ends it now).",
                    {"outcome": "snoozed"},
                )
            else:
                await self._start(view, base=0, why="")

    async def _is_snoozed(self, incident_id: int) -> bool:
        return self._snoozed is not None and await self._snoozed(incident_id)

    async def _start(self, view: IncidentView, *, base: int, why: str) -> bool:
        """Decide for ``view`` now and page, schedule a page for working hours, or say that
        nobody is paged. True when someone is paged, now or at the working-hours start."""
        now = self._clock()
        decision = decide(self._routing, view.severity, labels(view), now)
        lead = f"{why} " if why else ""
        if decision.outcome == "post" or decision.policy is None:
            # A P4 posting only is the product's rule, already plain from its severity: a
            # line for each would be noise in the channel. A route saying so, or a re-page
            # that pages nobody, is news: say it.
            if decision.route or why:
                await self._record(view.id, f"{lead}{decision.reason}", {"outcome": "post"})
            return False
        if decision.outcome == "page_later" and decision.page_at is not None:
            await self._record(view.id, f"{lead}{decision.reason}", {"outcome": "page_later"})
            payload = {"incident": view.id, "later": True, "base": base}
            await self._timers.schedule(TIMER_KIND, timer_key(view.id), decision.page_at, payload)
            return True
        plan_ = Plan(view.id, decision.policy.name, decision.severity, now, base)
        started = current_plan(view)
        if started is not None and started.base == base and started.policy == plan_.policy:
            plan_ = started  # a retry of this start (it failed after recording): go on
        else:
            await self._record(
                view.id,
                f"{lead}{decision.reason} {describe(decision.policy)}",
                {"outcome": "page", **plan_.payload()},
            )
        await self._advance(plan_)
        return True

    async def _record(self, incident_id: int, text: str, data: dict[str, Any]) -> None:
        await self._incidents.record(
            incident_id, kind="escalation", text=text, actor="vigil", data=data, snapshot=False
        )

    async def hold(self, incident_id: int) -> bool:
        """Stop the pending escalation (a snooze): nobody more is paged until :meth:`repage`.
        True when a timer was pending."""
        return await self._timers.cancel(timer_key(incident_id))

    async def repage(self, incident_id: int, *, reason: str) -> bool:
        """Page again from level 1 now (a snooze ran out), numbering steps after the last one
        sent, when the incident's state calls for it: a triggered incident escalates as on
        its first page. An acknowledged or contained one pages nobody: someone owns it, and
        a page asking to acknowledge what is acknowledged would wake people for nothing; the
        timeline says who has it. False when nobody is paged (the timeline says why, after
        ``reason``)."""
        view = await self._incidents.get(incident_id)
        if view.state not in OPEN_STATES:
            return False
        if view.state != "triggered":
            owner = owned_by(view)
            by = f" by {owner}" if owner else ""
            await self._record(
                incident_id,
                f"{reason} #{incident_id} is {view.state}{by}, so nobody is paged.",
                {"outcome": "owned"},
            )
            return False
        base = await self.pages.steps_sent(incident_id)
        return await self._start(view, base=base, why=reason)

    async def escalate(self, incident_id: int, *, actor: str) -> IncidentView:
        """Page the next level now (the Escalate button): someone wants more hands.

        Works on an acknowledged incident, and on one whose severity posts only (someone
        wants a person after all); refused once it is resolved or when every level has been
        paged. The automatic escalation carries on from the step after.
        """
        view = await self._incidents.get(incident_id)
        if view.state not in OPEN_STATES:
            raise TransitionError(
                f"Cannot escalate incident #{incident_id}: it is {view.state}.", current=view.state
            )
        started = current_plan(view)
        plan_ = started
        if plan_ is None:
            name, _, why = route_for(self._routing, view.severity, labels(view))
            if name is None:
                raise ValidationError("escalation", f"{why}, so there is nobody to page")
            plan_ = Plan(incident_id, name, view.severity, self._clock())
        policy = policy_for(self._routing, plan_.policy, plan_.severity)
        if policy is None:
            raise ValidationError(
                "escalation", f"policy {plan_.policy} is no longer configured; page by hand"
            )
        paged = await self.pages.steps_sent(incident_id)
        steps = plan(policy, plan_.started)
        if paged - plan_.base >= len(steps):
            raise ValidationError(
                "escalation", f"every level of the policy has been paged for #{incident_id}"
            )
        step = replace(steps[max(paged - plan_.base, 0)], index=max(paged, plan_.base))
        await self._incidents.record(
            incident_id,
            kind="escalation",
            text=f"Escalated by {actor}: paging level {step.level} now",
            actor=actor,
            data=plan_.payload() if started is None else {},  # a plan Escalate started
        )
        await self._delivery.send(view, policy, step, None)
        return await self._incidents.get(incident_id)

    async def _on_timer(self, payload: dict[str, Any]) -> None:
        incident_id = int(payload["incident"])
        if payload.get("later"):  # working hours began: decide again, as at the start
            view = await self._incidents.get(incident_id)
            base = int(payload.get("base", 0))
            if view.state == "triggered" and await self.pages.steps_sent(incident_id) <= base:
                await self._start(view, base=base, why="Working hours began.")
            return
        # A timer written before routing carries no policy: the default one, uncapped.
        plan_ = Plan.of({"policy": DEFAULT_POLICY, "severity": "", **payload})
        assert plan_ is not None
        await self._advance(plan_)

    async def _advance(self, plan_: Plan) -> None:
        """Send every step that is due and not yet sent, then set the timer for the next."""
        incident_id = plan_.incident
        policy = policy_for(self._routing, plan_.policy, plan_.severity)
        if policy is None:
            await self._record(
                incident_id,
                f"Escalation stopped: policy {plan_.policy} is no longer configured. Page "
                f"someone by hand: /incident escalate {incident_id}",
                {},
            )
            return
        # The state and the fields a page names: neither the alerts nor the timeline.
        view = await self._incidents.get(incident_id, timeline=False, alerts=False)
        now = self._clock()
        state = due(
            policy,
            plan_.started,
            now,
            acknowledged=view.state != "triggered",
            paged=max(await self.pages.steps_sent(incident_id) - plan_.base, 0),
        )
        for step in state.due:
            await self._delivery.send(
                view, policy, replace(step, index=step.index + plan_.base), state.next_at
            )
        if state.next_at is not None:
            # After paging: until then this timer's row (or the follow-up that started the
            # escalation) stays claimed, not gone, so a process killed while it pages leaves
            # it to run again when its lease ends, paging what was not yet sent (a page is
            # one unique row: nobody twice). Set before, the next step's timer replaced the
            # claimed one, and a kill there left the step unpaged until the next step's time.
            await self._timers.schedule(
                TIMER_KIND, timer_key(incident_id), state.next_at, plan_.payload()
            )
        if state.next_at is None and state.exhausted and not state.acknowledged:
            total = format_duration(now - plan_.started)
            await self._record(
                incident_id,
                f"Nobody acknowledged #{incident_id} after {state.levels} level(s) and "
                f"{total}: escalation exhausted. Whoever sees this: /incident ack "
                f"{incident_id}",
                {},
            )

    async def _stop(self, view: IncidentView, actor: str) -> None:
        cancelled = await self._timers.cancel(timer_key(view.id))
        pages = await self.pages.acknowledge(view.id, actor, self._clock())
        if cancelled or pages:
            await self._incidents.record(
                view.id,
                kind="escalation",
                text=f"Escalation stopped: {view.state} by {actor}",
                actor="vigil",
            )
