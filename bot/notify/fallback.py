"""Try a person's channels in order until one takes the notification; say so on the timeline.

The decision is pure (:func:`next_step`, :func:`timeline_lines`); :func:`deliver` is the
small async loop around it. Policy, and why:

* ``Delivered``: done; later channels are not used (one page per person per step).
* ``GiveUp``: the next channel at once. The same request would fail again here.
* ``Retry``: once more on the same channel, in line, only if the wait is short (the
  remote's ``Retry-After``, else 1 s, 2 s … and at most ``max_inline_wait``, 2 s) and this
  channel has had fewer than ``attempts_per_channel`` (2) attempts; otherwise the next
  channel at once. A page is for waking a person now: a blip (a reset connection, one 502)
  is worth one quick retry, but a rate limit that asks for 30 s, or a second failure, is
  not worth waiting for while e-mail could reach them. The cost is that a page whose answer
  was lost (a timeout after PagerDuty took it) may reach the person twice; twice beats never.
* Every channel failed: the result is ``Retry`` if any channel's last word was ``Retry``
  (the caller, the escalation timer or the outbox, runs the whole chain again later,
  preferred channel first), else ``GiveUp``. The timeline says nobody was reached.

Timeline lines, one per channel that failed (merged with what happened next), or one for a
first-try success::

    PagerDuty refused the page (Event object is invalid: …); paged @maya by e-mail instead
    Paged @maya via PagerDuty

For acknowledgements and resolutions the caller usually wants every channel that carried
the page (PagerDuty must resolve its own incident), not the first that works; this module
is for reaching a person.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.core.clock import Clock, utcnow
from bot.core.retry_outcome import Delivered, GiveUp, Outcome, Retry
from bot.notify.base import (
    Channel,
    Notification,
)

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Step = Literal["done", "again", "next"]

NOUN = {
    "page": "page",
    "reminder": "reminder",
    "acknowledge": "acknowledgement",
    "resolve": "resolution",
}


@dataclass(frozen=True)
class FallbackPolicy:
    attempts_per_channel: int = 2
    max_inline_wait: timedelta = timedelta(seconds=2)
    first_wait: timedelta = timedelta(seconds=1)


@dataclass(frozen=True)
class Attempt:
    """One call of one channel: which, the how-many-th on it, what came of it, when."""

    channel: str
    label: str
    number: int
    outcome: Outcome
    at: datetime


@dataclass(frozen=True)
class ChannelRun:
    """All attempts on one channel; ``via`` is how the timeline names a success."""

    label: str
    via: str
    attempts: tuple[Attempt, ...]

    @property
    def outcome(self) -> Outcome:
        return self.attempts[-1].outcome


@dataclass(frozen=True)
class FallbackResult:
    """What :func:`deliver` did: every attempt (for the caller to record), the timeline
    lines, the overall outcome and the channel that delivered, if any."""

    notification: Notification
    runs: tuple[ChannelRun, ...]
    lines: tuple[str, ...]
    outcome: Outcome
    channel: str | None = None

    @property
    def attempts(self) -> tuple[Attempt, ...]:
        return tuple(a for r in self.runs for a in r.attempts)

    @property
    def delivered(self) -> bool:
        return isinstance(self.outcome, Delivered)


def next_step(outcome: Outcome, attempt: int, policy: FallbackPolicy) -> tuple[Step, timedelta]:
    """After the ``attempt``-th try on a channel: stop, try it again after the wait, or move on."""
    if isinstance(outcome, Delivered):
        return "done", timedelta(0)
    if isinstance(outcome, GiveUp):
        return "next", timedelta(0)
    wait = outcome.after if outcome.after is not None else policy.first_wait * 2 ** (attempt - 1)
    if attempt < policy.attempts_per_channel and wait <= policy.max_inline_wait:
        return "again", wait
    return "next", timedelta(0)


def _did(n: Notification) -> str:
    """What success means, in the past tense: ``paged @maya``."""
    return {
        "page": f"paged {n.target}",
        "reminder": f"reminded {n.target}",
        "acknowledge": f"passed on that #{n.incident_id} is acknowledged",
        "resolve": f"passed on that #{n.incident_id} is resolved",
    }[n.kind]


def _not_done(n: Notification) -> str:
    return {
        "page": f"{n.target} was not paged",
        "reminder": f"{n.target} was not reminded",
        "acknowledge": f"the acknowledgement of #{n.incident_id} was not passed on",
        "resolve": f"the resolution of #{n.incident_id} was not passed on",
    }[n.kind]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def failure_line(n: Notification, run: ChannelRun) -> str:
    """``PagerDuty refused the page (reason)``, without what happened next."""
    outcome = run.outcome
    assert not isinstance(outcome, Delivered)
    verb = "refused" if isinstance(outcome, GiveUp) else "could not take"
    tries = len(run.attempts)
    extra = f", {tries} attempts" if tries > 1 else ""
    return f"{_cap(run.label)} {verb} the {NOUN[n.kind]} ({outcome.reason}{extra})"


def timeline_lines(n: Notification, runs: Sequence[ChannelRun]) -> list[str]:
    """The timeline's account of a delivery (see the module docstring)."""
    if not runs:
        return [f"No notification channel is configured: {_not_done(n)}"]
    lines: list[str] = []
    for i, run in enumerate(runs):
        if isinstance(run.outcome, Delivered):
            if i == 0:
                lines.append(_cap(f"{_did(n)} {run.via}"))
            break
        line = failure_line(n, run)
        following = runs[i + 1] if i + 1 < len(runs) else None
        if following is None:
            line += f"; no channel left: {_not_done(n)}"
        elif isinstance(following.outcome, Delivered):
            line += f"; {_did(n)} {following.via} instead"
        else:
            line += f"; trying {following.label}"
        lines.append(line)
    return lines


def overall(runs: Sequence[ChannelRun]) -> Outcome:
    """The delivering run's outcome; else Retry if any channel may work later, else GiveUp."""
    for run in runs:
        if isinstance(run.outcome, Delivered):
            return run.outcome
    if not runs:
        return GiveUp("no notification channel is configured")
    failed = [r.outcome for r in runs if not isinstance(r.outcome, Delivered)]
    reasons = "; ".join(f"{r.label}: {o.reason}" for r, o in zip(runs, failed, strict=True))
    retries = [o for o in failed if isinstance(o, Retry)]
    if not retries:
        return GiveUp(f"every channel refused: {reasons}")
    afters = [r.after for r in retries]
    after = None if any(a is None for a in afters) else min(a for a in afters if a is not None)
    return Retry(f"no channel took it: {reasons}", after)


async def deliver(
    n: Notification,
    channels: Sequence[Channel],
    *,
    policy: FallbackPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = utcnow,
) -> FallbackResult:
    """Send ``n`` through ``channels`` in order until one delivers (see the module docstring).

    ``sleep`` waits between in-line retries (tests pass one that only records). A channel
    that raises instead of returning a verdict is a bug; it counts as a GiveUp naming the
    exception type, is logged with its traceback, and the next channel is tried.
    """
    policy = policy or FallbackPolicy()
    runs: list[ChannelRun] = []
    delivered_by: str | None = None
    for channel in channels:
        attempts: list[Attempt] = []
        while True:
            number = len(attempts) + 1
            try:
                outcome = await channel.send(n)
            except Exception as exc:  # a bug in one channel must not stop the page
                log.exception("channel %s raised instead of answering", channel.name)
                outcome = GiveUp(f"internal error in the channel ({type(exc).__name__})")
            attempts.append(Attempt(channel.name, channel.label, number, outcome, clock()))
            step, wait = next_step(outcome, number, policy)
            if step != "again":
                break
            await sleep(wait.total_seconds())
        runs.append(ChannelRun(channel.label, channel.via, tuple(attempts)))
        if step == "done":
            delivered_by = channel.name
            break
    lines = timeline_lines(n, runs)
    result = FallbackResult(n, tuple(runs), tuple(lines), overall(runs), delivered_by)
    if channels:  # with none, the pager's own line already says who was reached
        for line in lines:
            log.info("#%d: %s", n.incident_id, line)
    return result
