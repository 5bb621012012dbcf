"""Run a channel behind the outbox: its verdict in the outbox's terms.

Separate from :mod:`bot.notify.base` because importing :mod:`bot.outbox` loads the outbox's
table and worker (database code), which the pure notification modules must not drag in.
"""

from __future__ import annotations

from bot.notify.base import Delivered, GiveUp, Outcome
from bot.outbox import retry as outbox


def to_outbox_outcome(outcome: Outcome, *, attempts: int) -> outbox.Outcome:
    """The outbox's verdict for a channel's. A ``Retry`` without ``after`` backs off by
    ``attempts`` (attempts made so far, this one included), as every outbox message does;
    one with ``after`` keeps the remote's wait."""
    if isinstance(outcome, Delivered):
        return outbox.Delivered()
    if isinstance(outcome, GiveUp):
        return outbox.GiveUp(outcome.reason)
    after = outcome.after if outcome.after is not None else outbox.backoff(attempts)
    return outbox.Retry(after, outcome.reason)
