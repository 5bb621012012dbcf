"""Send a notification through the ``notify:`` channels and, when none could take it for now,
run the whole chain again later from a durable timer, saying on the timeline what happened.

:func:`bot.notify.fallback.deliver` tries the channels in order with a quick in-line retry
each; when every channel's last word is Retry (PagerDuty throttling us with ``Retry-After:
30``, a 5xx, a reset connection, an SMTP 4xx), its result is Retry and somebody must run
the chain again later. That is this module. The schedule and the wording are pure
(:mod:`bot.notify.retry_plan`); this is the I/O around them. Why this shape:

- **A durable timer per incident, person and kind** (``incident:12:notify:@maya:page``,
  ``bot.store.timers.Timers``), carrying the whole notification: a restart neither loses a
  waiting page nor sends it twice (the timer row's claim), and a newer page to the same
  person replaces the older one's retry rather than queueing a second.
- **The whole chain, preferred channel first**, not just the channel that failed last:
  PagerDuty recovering in the meantime is the better way to wake someone than e-mail.
- **Pages and reminders are dropped once the incident is acknowledged or resolved**
  (nobody needs waking any more, and the timeline says so once); acknowledgements and
  resolutions are retried whatever the state, since PagerDuty keeps calling people until it
  hears one.
- **The timeline never leaves a reader guessing**: each run's fallback lines, then either
  when the next run is, or, once the attempts or the hour are spent, a line saying plainly
  that the notification could not be delivered and who to call.
- **A promised retry survives a crash mid-run.** The timer's row is gone once its run is
  claimed, so the handler first sets a guard timer for the next attempt (no sooner than
  :data:`GUARD`, well past the time a chain can take, since every channel's wait is bounded
  by its timeout) and then replaces or cancels it with what the run decided. The first
  send sets no guard: nothing was promised yet, and its caller (the pager) is at most once
  for that step anyway.

Secrets never reach a log line or the timeline: the channels scrub their outcomes, and only
outcomes' reasons and the notification's own words are written here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from bot.core.clock import Clock
from bot.core.errors import NotFoundError, ValidationError
from bot.core.retry_outcome import Delivered, Retry
from bot.incidents.service import IncidentService
from bot.incidents.states import STOPPING_STATES
from bot.incidents.views import IncidentView
from bot.notify.base import Channel, Kind, Notification, incident_key
from bot.notify.fallback import FallbackPolicy, FallbackResult, Sleep, deliver
from bot.notify.retry_plan import (
    RetryJob,
    RetryPolicy,
    attempt_note,
    dropped_line,
    failed_reasons,
    final_line,
    largest_retry_after,
    next_attempt_at,
    retry_line,
    timer_key,
    wait_before,
)
from bot.store.timers import Timers

log = logging.getLogger(__name__)

TIMER_KIND = "notify-retry"
ENTRY_KIND = "notify"
WAKING_KINDS: frozenset[Kind] = frozenset({"page", "reminder"})
GUARD = timedelta(minutes=5)
"""The earliest a guard timer fires (see the module docstring): longer than a chain's run."""


class NotifyRetrier:
    """The ``notify:`` channels with durable retries; register before ``Timers.start``."""

    def __init__(
        self,
        incidents: IncidentService,
        timers: Timers,
        channels: Sequence[Channel],
        *,
        clock: Clock,
        key_prefix: str = "vigil",
        policy: RetryPolicy | None = None,
        fallback: FallbackPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """``key_prefix`` makes :meth:`notification`'s incident keys (PagerDuty's dedup key);
        ``fallback`` and ``sleep`` are passed to :func:`deliver` for its in-line retries
        (tests pass a ``sleep`` that only records); ``policy`` is the later retries'."""
        self._incidents = incidents
        self._timers = timers
        self._channels = tuple(channels)
        self._clock = clock
        self._key_prefix = key_prefix
        self.policy = policy or RetryPolicy()
        self._fallback = fallback
        self._sleep = sleep
        timers.register(TIMER_KIND, self._on_timer)

    @property
    def channels(self) -> tuple[Channel, ...]:
        return self._channels

    def notification(
        self, view: IncidentView, target: str, text: str, kind: Kind = "page"
    ) -> Notification:
        """The notification about ``view`` for ``target``, keyed as PagerDuty dedups it."""
        return Notification(
            incident_id=view.id,
            key=incident_key(view.id, self._key_prefix),
            severity=view.severity,  # type: ignore[arg-type]  # P1-P4, checked by Notification
            title=view.title,
            text=text,
            target=target,
            kind=kind,
            service=view.service or view.model,
        )

    async def send(
        self, notification: Notification, *, channels: Sequence[Channel] | None = None
    ) -> FallbackResult:
        """Deliver through the channels (first that takes it), put each line on the
        timeline, and when every channel said Retry set the durable retry of the whole chain.

        ``channels`` limits this notification, and its retries, to some of the retrier's own
        channels (by name, in the order given), e.g. PagerDuty alone for an acknowledgement.
        With no channel at all nothing is recorded: "none configured" is not news on every
        page. A delivery cancels a retry still waiting for the same person and kind: the
        person has just been reached.
        """
        chain = self._channels if channels is None else self._subset(channels)
        started = self._clock()
        result = await self._deliver(notification, chain)
        if not chain:
            return result
        await self._record(notification, result.lines, result.channel)
        names = None if channels is None else tuple(c.name for c in chain)
        await self._settle(result, RetryJob(notification, 1, started, names), chain)
        return result

    # -- the timer ---------------------------------------------------------------------------

    async def _on_timer(self, payload: dict[str, Any]) -> None:
        try:
            job = RetryJob.from_payload(payload)
        except ValidationError as exc:
            log.error("notify retry with an unreadable payload (%s); dropped", exc.field)
            return
        n = job.notification
        await self._guard(job)
        try:
            view = await self._incidents.get(n.incident_id)
        except NotFoundError:
            log.warning("notify retry for incident #%d, which no longer exists", n.incident_id)
            await self._timers.cancel(timer_key(n))
            return
        if n.kind in WAKING_KINDS and view.state in STOPPING_STATES:
            await self._timers.cancel(timer_key(n))
            await self._record(n, [dropped_line(n, view.state)], None)
            log.info("#%d: %s to %s dropped: %s", n.incident_id, n.kind, n.target, view.state)
            return
        chain = self._channels if job.channels is None else self._named(job.channels)
        result = await self._deliver(n, chain)
        lines = [attempt_note(line, job.attempt, self.policy) for line in result.lines]
        await self._record(n, lines, result.channel, attempt=job.attempt)
        await self._settle(result, job, chain)

    async def _guard(self, job: RetryJob) -> None:
        """The next attempt, set before this one runs (see the module docstring)."""
        if job.attempt >= self.policy.max_attempts:
            return
        wait = max(wait_before(job.attempt, None, self.policy), GUARD)
        following = dataclasses.replace(job, attempt=job.attempt + 1)
        await self._timers.schedule(
            TIMER_KIND, timer_key(job.notification), self._clock() + wait, following.to_payload()
        )

    # -- shared ------------------------------------------------------------------------------

    async def _settle(
        self, result: FallbackResult, job: RetryJob, chain: Sequence[Channel]
    ) -> None:
        """After a run: cancel what is moot, set the next retry, or say it is over."""
        n = job.notification
        key = timer_key(n)
        if isinstance(result.outcome, Delivered):
            await self._timers.cancel(key)
            return
        if isinstance(result.outcome, Retry):
            now = self._clock()
            retry_after = largest_retry_after(result.attempts)
            at = next_attempt_at(job.attempt, job.started, now, retry_after, self.policy)
            if at is not None:
                following = dataclasses.replace(job, attempt=job.attempt + 1)
                await self._timers.schedule(TIMER_KIND, key, at, following.to_payload())
                first = chain[0].label if chain else None
                line = retry_line(n, at, following.attempt, self.policy, first)
                log.info("#%d: %s", n.incident_id, line)
                await self._record(
                    n, [line], None, attempt=following.attempt, retry_at=at.isoformat()
                )
                return
        elif job.attempt == 1:
            # Every channel refused at the first try: the fallback's lines already say nobody
            # was reached and why, and no retry was promised.
            return
        if job.attempt > 1:
            await self._timers.cancel(key)  # this run's guard (a first send sets none)
        reasons = failed_reasons(_reasons(result))
        where = [r.label for r in result.runs]
        elapsed = self._clock() - job.started
        line = final_line(n, job.attempt, elapsed, reasons, where)
        log.warning("#%d: %s", n.incident_id, line)
        await self._record(n, [line], None, attempt=job.attempt, final=True)

    async def _deliver(self, n: Notification, chain: Sequence[Channel]) -> FallbackResult:
        return await deliver(n, chain, policy=self._fallback, sleep=self._sleep, clock=self._clock)

    async def _record(
        self, n: Notification, lines: Sequence[str], channel: str | None, **extra: Any
    ) -> None:
        """Each line as a ``notify`` entry; ``target`` and ``channel`` as the pager always
        wrote them, ``extra`` (attempt, retry time) only on retries' lines."""
        data: Mapping[str, Any] = {"target": n.target, "channel": channel or "", **extra}
        for line in lines:
            await self._incidents.record(
                n.incident_id, kind=ENTRY_KIND, text=line, actor="vigil", data=data, snapshot=False
            )

    def _subset(self, channels: Sequence[Channel]) -> tuple[Channel, ...]:
        known = {c.name for c in self._channels}
        unknown = [c.name for c in channels if c.name not in known]
        if unknown:
            # A retry finds its channels by name among ours; another's would be lost then.
            raise ValueError(f"not channels of this retrier: {', '.join(unknown)}")
        return tuple(channels)

    def _named(self, names: Sequence[str]) -> tuple[Channel, ...]:
        """The channels a waiting retry was limited to, as configured now (in its order)."""
        by_name = {c.name: c for c in self._channels}
        return tuple(by_name[name] for name in names if name in by_name)


def _reasons(result: FallbackResult) -> list[tuple[str, str]]:
    """(label, reason) of each channel that failed in ``result``."""
    found: list[tuple[str, str]] = []
    for run in result.runs:
        outcome = run.outcome
        if not isinstance(outcome, Delivered):
            found.append((run.label, outcome.reason))
    return found
