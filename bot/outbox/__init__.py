"""The persistent outbox: outbound chat messages written with the change they report, sent
by a worker in order per incident, retried on temporary failures (nothing lost, nothing
twice). ``tables`` (the row), ``feed`` (timeline → outbox, same transaction), ``retry``
(pure failure policy), ``worker`` (claim, deliver, mark)."""

from bot.outbox.feed import install_feed
from bot.outbox.retry import classify_slack_error, enforce_max_age
from bot.outbox.tables import OutboxRow
from bot.outbox.worker import Deliverer, OutboxItem, OutboxWorker

__all__ = [
    "Deliverer",
    "OutboxItem",
    "OutboxRow",
    "OutboxWorker",
    "classify_slack_error",
    "enforce_max_age",
    "install_feed",
]
