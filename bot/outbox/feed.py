"""Timeline events become outbox rows in the same flush, hence the same transaction.

Why a ``before_flush`` hook rather than a call in ``store.add_event`` or the services: every
path that records something on a timeline (commands, alert ingestion, pages, playbook steps,
post-mortems, and whatever comes later) goes through the ORM, so one hook catches them all
and none can forget. The row is added while the flush that inserts the event is being
planned, so both commit together or neither does: a change is never reported without being
made, nor made without being reported.

Opt-in per :class:`bot.db.Database` (:func:`install_feed`): the console needs no outbox, and
without the feed nothing is written. The payload carries everything a chat needs to render
the message, so the worker never reads the timeline again (which may have moved on).
``created_at`` (and the first due time) is the event's own ``at``, which comes from the
services' injected clock; the feed itself reads no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.base import instance_state

from bot.db import Database
from bot.models import TimelineEvent
from bot.outbox.tables import OutboxRow

TIMELINE = "timeline"
_ENQUEUED = "vigil.outbox_enqueued"


def timeline_payload(event: TimelineEvent) -> dict[str, Any]:
    """What a chat needs to post one timeline entry (JSON-able)."""
    return {
        "incident_id": event.incident_id,
        "kind": event.kind,
        "actor": event.actor,
        "text": event.text,
        "data": dict(event.data),
        "at": event.at.isoformat(),
    }


def _enqueue_timeline(session: Session, new: Sequence[object]) -> None:
    """The before-flush hook: one outbox row per new timeline event, in the events' order."""
    events = [obj for obj in new if isinstance(obj, TimelineEvent)]
    # session.new is unordered in principle; insert_order is the order of session.add().
    events.sort(key=lambda e: instance_state(e).insert_order or 0)
    for event in events:
        session.add(
            OutboxRow(
                incident_id=event.incident_id,
                kind=TIMELINE,
                payload=timeline_payload(event),
                created_at=event.at,
                next_attempt_at=event.at,
            )
        )
    if events:
        session.info[_ENQUEUED] = True


def install_feed(db: Database, *, on_commit: Callable[[], None] | None = None) -> None:
    """Write an outbox row for every timeline event committed through ``db`` from now on.

    ``on_commit`` (typically :meth:`bot.outbox.worker.OutboxWorker.wake`) is called after a
    commit that enqueued something, so the worker sends at once instead of at its next poll.
    Installing twice is harmless: the hook runs once per flush.
    """
    db.on_before_flush(_enqueue_timeline)
    if on_commit is not None:
        callback = on_commit

        def _after_commit(session: Session) -> None:
            if session.info.pop(_ENQUEUED, False):
                callback()

        db.on_after_commit(_after_commit)
