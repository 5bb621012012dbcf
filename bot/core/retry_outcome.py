"""The verdict of one delivery attempt, and the remote's ``Retry-After``. Pure.

A notification channel (PagerDuty, e-mail, a webhook) and the Slack outbox both answer an
attempt with one of three verdicts, and what comes next is their caller's decision: the
outbox worker reschedules the row, the notify fallback tries the next channel, the timeline
says why. Both import these from here, a module below both of them, so the notify package
never loads the outbox's database code and the two cannot drift apart.

* ``Delivered``: the far end took it; ``detail`` is what it answered ("PagerDuty accepted
  the trigger …"), for the timeline and the ``pages`` row (the outbox leaves it empty).
* ``Retry``: a temporary failure. ``after`` is how long to wait: the remote's own
  ``Retry-After`` when it sent one, else ``None`` and the caller backs off by its attempt
  count (the outbox's :func:`bot.outbox.retry.backoff`).
* ``GiveUp``: the same message would fail again; ``reason`` says what a person must fix.

``reason`` and ``detail`` are written for people and never hold a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

MAX_RETRY_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Delivered:
    """The far end took the message; ``detail`` says what it answered."""

    detail: str = ""


@dataclass(frozen=True)
class Retry:
    """Temporary failure: try again ``after`` from now (``None``: the caller's backoff)."""

    reason: str
    after: timedelta | None = None


@dataclass(frozen=True)
class GiveUp:
    """The same message will fail again: a person (or a code fix) must act on ``reason``."""

    reason: str


Outcome = Delivered | Retry | GiveUp


def retry_after(raw: str | None) -> timedelta | None:
    """A ``Retry-After`` header in seconds → the wait, at least 1 s and at most
    ``MAX_RETRY_AFTER``; ``None`` when absent or unreadable (the HTTP-date form, garbage,
    NaN, minus infinity), so the caller's own rule applies. Slack and PagerDuty send whole
    seconds; a too-early retry only earns another 429 with a fresh header."""
    if raw is None:
        return None
    try:
        seconds = float(raw.strip())
    except ValueError:
        return None
    if seconds != seconds or seconds == float("-inf"):  # NaN, -inf
        return None
    return timedelta(seconds=min(max(seconds, 1.0), MAX_RETRY_AFTER.total_seconds()))
