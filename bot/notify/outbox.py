"""Run a channel behind the outbox: its verdict with the outbox's backoff filled in.

Separate from :mod:`bot.notify.base` because importing :mod:`bot.outbox` loads the outbox's
table and worker (database code), which the pure notification modules must not drag in.
"""

from __future__ import annotations

from bot.core.retry_outcome import Delivered, GiveUp, Outcome, Retry
from bot.outbox.retry import backoff


def to_outbox_outcome(outcome: Outcome, *, attempts: int) -> Outcome:
    """The outbox's verdict for a channel's. A ``Retry`` without ``after`` backs off by
    ``attempts`` (attempts made so far, this one included), as every outbox message does;
    one with ``after`` keeps the remote's wait. The outbox keeps no ``detail``."""
    if isinstance(outcome, Delivered):
        return Delivered()
    if isinstance(outcome, GiveUp):
        return outcome
    return Retry(outcome.reason, backoff(attempts) if outcome.after is None else outcome.after)
