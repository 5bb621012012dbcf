"""Timeline events become outbox rows in the same flush, hence the same transaction.

Why a ``before_flush`` hook rather than a call in ``store.add_event`` or the services: every
path that records something on a timeline (commands, alert ingestion, pages, playbook steps,
post-mortems, and whatever comes later) goes through the ORM, so one hook catches them all
and none can forget. The row is added while the flush that inserts the event is being
planned, so both commit together or neither does: a change is never reported without being
made, nor made without being reported.

Opt-in per :class:`bot.store.db.Database` (:func:`install_feed`): the console needs no outbox, and
without the feed nothing is written. The payload carries everything a chat needs to render
the message, so the worker never reads the timeline again (which may have moved on).
``created_at`` (and the first due time) is the event's own ``at``, which comes from the
services' injected clock; the feed itself reads no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import instance_state
from sqlmodel import col, select

from bot.outbox.tables import PAGE, UNFINISHED, OutboxRow
from bot.store.db import Database
from bot.store.tables import TimelineEvent

TIMELINE = "timeline"
DM_APART = "dm_apart"  # in a "page" entry's payload: its DM is a row of its own
_TABLE: Table = OutboxRow.__table__  # type: ignore[attr-defined]
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


MERGED = frozenset({"alert", "alert_resolved"})  # entries that join a waiting message
MERGE_MAX_CHARS = 2_500  # a merged message stays under Slack's 3,000-character section


def _row(incident_id: int, kind: str, payload: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "kind": kind,
        "payload": payload,
        "created_at": at,
        "attempts": 0,
        "next_attempt_at": at,
    }


def _merged(payload: dict[str, Any], event: TimelineEvent) -> dict[str, Any] | None:
    """``payload`` with ``event``'s line added, or None when they don't go together (another
    kind or actor, or the message would grow too long)."""
    if (
        payload.get("kind") != event.kind
        or event.kind not in MERGED
        or payload.get("actor") != event.actor
        or len(str(payload.get("text", ""))) + len(event.text) + 1 > MERGE_MAX_CHARS
    ):
        return None
    data = dict(payload.get("data") or {})
    data["merged"] = int(data.get("merged", 1)) + 1
    return {**payload, "text": f"{payload['text']}\n{event.text}", "data": data}


def _waiting_tails(session: Session, incident_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Each incident's newest undelivered thread message, as ``{"id", "payload"}``, if no
    worker has touched it yet (never claimed, and not locked by a claim in flight: ``SKIP
    LOCKED`` on PostgreSQL, where waiting for the worker here could deadlock with its
    claim). One query for the flush."""
    newest = (
        select(func.max(col(OutboxRow.id)))
        .where(
            col(OutboxRow.incident_id).in_(sorted(incident_ids)),
            col(OutboxRow.kind) == TIMELINE,
            *UNFINISHED,
        )
        .group_by(col(OutboxRow.incident_id))
    )
    stmt = (
        select(col(OutboxRow.id), col(OutboxRow.incident_id), col(OutboxRow.payload))
        .where(col(OutboxRow.id).in_(newest), col(OutboxRow.attempts) == 0)
        .with_for_update(skip_locked=True)
    )
    rows = session.connection().execute(stmt).all()
    return {int(i): {"id": int(row_id), "payload": dict(p)} for row_id, i, p in rows}


def _enqueue_timeline(session: Session, new: Sequence[object]) -> None:
    """The before-flush hook: one outbox row per new timeline event, in the events' order;
    an alert line joins the incident's newest message instead when that one is an alert
    line of the same source still waiting to go out.

    Why join: in a storm, messages are written faster than Slack takes them (about one a
    second per channel). Lines that pile up behind one another go out as one reply, so the
    thread stays readable, the queue shrinks as it lags, and a page written after them is
    not held behind a hundred replies. A message a worker has claimed is never changed.

    The rows are written with one statement (and the joins looked up with one), not one
    per event: ingestion writes a storm's lines from inside its transaction."""
    events = [obj for obj in new if isinstance(obj, TimelineEvent)]
    if not events:
        return
    # session.new is unordered in principle; insert_order is the order of session.add().
    events.sort(key=lambda e: instance_state(e).insert_order or 0)
    wanted = {e.incident_id for e in events if e.kind in MERGED}
    # incident → its newest message: a waiting one already stored (it has an "id"), then
    # each row this flush adds
    last = _waiting_tails(session, wanted) if wanted else {}
    joined: dict[int, dict[str, Any]] = {}  # stored row id → its payload with new lines
    rows: list[dict[str, Any]] = []
    for event in events:
        incident = event.incident_id
        prev = last.get(incident)
        merged = _merged(prev["payload"], event) if prev is not None else None
        if prev is not None and merged is not None:
            prev["payload"] = merged
            if "id" in prev:
                joined[prev["id"]] = merged
            continue
        payload = timeline_payload(event)
        if event.kind == "page":  # the DM first, in its own queue; the thread says "Paged"
            payload[DM_APART] = True
            rows.append(_row(incident, PAGE, timeline_payload(event), event.at))
        row = _row(incident, TIMELINE, payload, event.at)
        rows.append(row)
        last[incident] = row
    connection = session.connection()
    if joined:
        connection.execute(
            _TABLE.update().where(_TABLE.c.id == bindparam("row_id")),
            [{"row_id": row_id, "payload": payload} for row_id, payload in joined.items()],
        )
    if rows:
        connection.execute(insert(OutboxRow), rows)
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
