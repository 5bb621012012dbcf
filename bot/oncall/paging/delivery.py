"""Sending one escalation step's page to each person it names, once, through every channel.

A step names targets (people, groups, rotations, schedules); they are resolved to the people
on call now. For each person the claim of the step (a unique ``pages`` row), the "Paged"
timeline entry (whose outbox row is the Slack DM) and the page through the ``notify:``
channels (a durable follow-up) commit in one transaction, so a step is never claimed and
never sent, nor paged twice, even across replicas. Then the attached chat backends show it
and the follow-up runs at once. What is due when is the Pager's (``pager.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import Clock
from bot.incidents.reactions.reactor import Reactor
from bot.incidents.reactions.tables import Reaction
from bot.incidents.service import IncidentService
from bot.incidents.views import IncidentView
from bot.notify.retry import NotifyRetrier
from bot.oncall.paging.escalation import EscalationPolicy, PageStep
from bot.oncall.paging.pages import PageBook
from bot.oncall.paging.plans import page_entry, page_text
from bot.oncall.paging.routing import expand_groups
from bot.oncall.schedules.layers import Schedule
from bot.oncall.schedules.roster import resolve_targets
from bot.oncall.settings import OncallSettings

log = logging.getLogger(__name__)


class PageSender(Protocol):
    """What the pager needs of a chat backend: one direct page to one person."""

    name: str

    async def page(self, target: str, incident: IncidentView, text: str) -> None: ...


class PageDelivery:
    """Pages the people of one step: claimed, recorded, shown, and sent through notify:."""

    def __init__(
        self,
        incidents: IncidentService,
        settings: OncallSettings,
        pages: PageBook,
        *,
        senders: Callable[[], Sequence[PageSender]],
        clock: Clock,
        kind: str,
        retrier: NotifyRetrier | None = None,
        schedules: Callable[[], Awaitable[Mapping[str, Schedule]]] | None = None,
        reactor: Reactor | None = None,
    ) -> None:
        """``kind``: the follow-up that sends a page through ``notify:`` (the reactor runs
        :meth:`notify_row` for it)."""
        self._incidents = incidents
        self._settings = settings
        self._pages = pages
        self._senders = senders
        self._clock = clock
        self._kind = kind
        self._retrier = retrier
        self._schedules = schedules
        self._reactor = reactor

    async def send(
        self, view: IncidentView, policy: EscalationPolicy, step: PageStep, next_at: datetime | None
    ) -> None:
        now = self._clock()
        schedules = self._settings.schedules if self._schedules is None else await self._schedules()
        people = resolve_targets(
            expand_groups(step.targets, self._settings.routing.groups),
            self._settings.rotations,
            now,
            schedules,
        )
        levels = policy.levels
        after = ", ".join(levels[step.level].targets) if step.level < len(levels) else ""
        text = page_text(view, step, next_at, after)
        senders = list(self._senders())
        channel = ",".join(s.name for s in senders) or "none"
        chats = [s.name for s in senders]
        notify_labels = [c.label for c in self._retrier.channels] if self._retrier else []
        for person in people:
            notify: list[Reaction] = []

            async def claim(
                s: AsyncSession, person: str = person, notify: list[Reaction] = notify
            ) -> bool:
                # The claim, the "Paged" entry (its outbox row is the Slack DM) and the page
                # through notify: commit together: no step claimed and never sent.
                if not await PageBook.claim_in(s, view.id, step, person, channel, now):
                    return False
                if self._reactor is not None and self._retrier is not None:
                    data = {"incident": view.id, "person": person, "text": text}
                    notify.append(self._reactor.add(s, self._kind, view.id, data, leased=True))
                return True

            try:
                paged = await self._incidents.record_if(
                    view.id,
                    claim,
                    kind="page",
                    text=page_entry(person, step, chats, notify_labels),
                    actor="vigil",
                    data={"step": step.index, "level": step.level, "target": person, "text": text},
                    snapshot=False,
                )
            except IntegrityError:
                if await self._pages.claimed(view.id, step.index, person):
                    continue  # another process claimed this step at the same moment
                # Not the page's own row: never a silent "already paged". Fail, so the step
                # is tried again (the timer's retry, the follow-up's), and the log says why.
                log.exception("page of #%d to %s (step %d) failed", view.id, person, step.index)
                raise
            if paged is None:
                continue  # another process (or an earlier run) already paged this step
            if not senders and not notify_labels:
                log.warning(
                    "#%d: %s was NOT paged: no chat backend, no notify: channel", view.id, person
                )
            for sender in senders:  # the console shows it; Slack's DM is the outbox row
                try:
                    await sender.page(person, view, text)
                except Exception:  # one broken channel must not stop the others
                    log.exception("page to %s via %s failed", person, sender.name)
            if self._reactor is not None:  # the page goes out now, not at the worker's look
                await self._reactor.run_leased(notify)
            else:
                await self.notify(view, person, text)

    async def notify_row(self, data: dict[str, Any]) -> None:
        """The reactor runs this for each page committed with a notify: follow-up."""
        # Its title, severity and service are all a notification carries.
        view = await self._incidents.get(int(data["incident"]), timeline=False, alerts=False)
        await self.notify(view, str(data["person"]), str(data["text"]))

    async def notify(self, view: IncidentView, person: str, text: str) -> None:
        """The page through the ``notify:`` channels too, first that takes it; each failure
        and fallback goes on the timeline in words ("PagerDuty refused the page (…); paged
        @maya by e-mail instead"), and a chain that only got "try later" is retried by a
        durable timer, so nobody assumes a page that never arrived."""
        if self._retrier is not None:
            await self._retrier.send(self._retrier.notification(view, person, text))
