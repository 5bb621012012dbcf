"""The incident lists' reads: one page of summaries in a fixed number of queries.

A list used to build a full snapshot per row (every alert and timeline entry of each
incident, two queries a row). Here a page is one query for the rows with their firing
alert count, one ``COUNT`` for the total, and, where the list shows alerts (the HTTP API),
one query for the alerts of the whole page. Pages are keyset pages (``bot.core.pagination``):
open incidents by severity then newest, all incidents newest first. New incidents never
disturb a walk through the pages; an open incident whose severity changes between two
pages moves in the order, so it may show twice or not at all, as in any list sorted on a
field that changes (the list of all incidents, by number, has no such case).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy import and_, case, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Mapped
from sqlalchemy.sql import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.errors import ValidationError
from bot.core.pagination import Page, decode_cursor, encode_cursor
from bot.incidents.severity import SEVERITIES
from bot.incidents.states import OPEN_STATES
from bot.incidents.store import MAX_ID
from bot.incidents.views import FIELDS, AlertView, IncidentSummary, IncidentView
from bot.store.tables import Alert, Incident, TimelineEvent

OPEN_LIST, ALL_LIST = "open", "all"
_IN_CHUNK = 500  # ids per IN (...): well under SQLite's and asyncpg's parameter limits
_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
_Row = TypeVar("_Row", Alert, TimelineEvent)


def severity_rank() -> ColumnElement[int]:
    """The severity's place in P1..P4, as SQL: the open list's first sort key."""
    return case(_RANK, value=col(Incident.severity), else_=len(SEVERITIES))


def _cursor(summary: IncidentSummary, include_closed: bool) -> str:
    if include_closed:
        return encode_cursor(ALL_LIST, [summary.id])
    return encode_cursor(OPEN_LIST, [summary.severity, summary.id])


def _after(raw: str, include_closed: bool) -> ColumnElement[bool]:
    """The condition "sorted after the cursor's item", or ``ValidationError("cursor")``."""
    if include_closed:
        (last,) = decode_cursor(ALL_LIST, raw, (int,))
        return col(Incident.id) < _id(last)
    severity, last = decode_cursor(OPEN_LIST, raw, (str, int))
    rank = _RANK.get(str(severity))
    if rank is None:
        raise ValidationError("cursor", "is not a cursor Vigil handed out")
    return or_(severity_rank() > rank, and_(severity_rank() == rank, col(Incident.id) < _id(last)))


def _id(value: object) -> int:
    assert isinstance(value, int)
    if not 1 <= value <= MAX_ID:
        raise ValidationError("cursor", "is not a cursor Vigil handed out")
    return value


async def summaries(
    *,
    session: AsyncSession,
    include_closed: bool,
    limit: int,
    cursor: str | None = None,
    with_alerts: bool = False,
) -> Page[IncidentSummary]:
    """One page of the open (or, with ``include_closed``, every) incident, after ``cursor``."""
    firing = (
        select(func.count())
        .where(col(Alert.incident_id) == col(Incident.id), col(Alert.status) == "firing")
        .correlate(Incident)
        .scalar_subquery()
    )
    # Plain columns, no ORM object per row. Typed Any: sqlmodel's overloads stop at four.
    stmt: Any = sa_select(firing, *(getattr(Incident, name) for name in FIELDS))
    total_stmt = select(func.count()).select_from(Incident)
    if include_closed:
        stmt = stmt.order_by(col(Incident.id).desc())
    else:
        is_open = col(Incident.state).in_(OPEN_STATES)
        stmt = stmt.where(is_open).order_by(severity_rank(), col(Incident.id).desc())
        total_stmt = total_stmt.where(is_open)
    if cursor is not None:
        stmt = stmt.where(_after(cursor, include_closed))
    rows = (await session.exec(stmt.limit(limit + 1))).all()
    total = int((await session.exec(total_stmt)).one())
    items = [IncidentSummary.of_columns(row[1:], firing=int(row[0])) for row in rows[:limit]]
    if with_alerts:
        ids = [i.id for i in items]
        alerts = await _by_incident(session, Alert, ids, col(Alert.first_seen), col(Alert.id))
        items = [replace(i, alerts=tuple(AlertView.of(a) for a in alerts[i.id])) for i in items]
    more = len(rows) > limit
    return Page(tuple(items), _cursor(items[-1], include_closed) if more else None, total)


async def views(*, session: AsyncSession, rows: Sequence[Incident]) -> list[IncidentView]:
    """Full snapshots of many incidents (alerts and timeline, as ``store.view_of`` takes
    them) in two queries per 500 incidents instead of two per incident."""
    ids = [r.id for r in rows if r.id is not None]
    alerts = await _by_incident(session, Alert, ids, col(Alert.first_seen), col(Alert.id))
    events = await _by_incident(
        session, TimelineEvent, ids, col(TimelineEvent.at), col(TimelineEvent.id)
    )
    return [IncidentView.of(r, alerts[r.id], events[r.id]) for r in rows if r.id is not None]


async def _by_incident(
    session: AsyncSession,
    table: type[_Row],
    incident_ids: Sequence[int],
    *order: Mapped[Any],
) -> defaultdict[int, list[_Row]]:
    """The rows of ``table`` that belong to each incident, in ``order``."""
    found: defaultdict[int, list[_Row]] = defaultdict(list)
    owner = col(table.incident_id)
    for start in range(0, len(incident_ids), _IN_CHUNK):
        chunk = list(incident_ids[start : start + _IN_CHUNK])
        stmt = select(table).where(owner.in_(chunk)).order_by(*order)
        for row in (await session.exec(stmt)).all():
            assert row.incident_id is not None  # it matched the IN list
            found[row.incident_id].append(row)
    return found
