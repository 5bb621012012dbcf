"""The incident table's read: one page of rows in a fixed number of queries.

Whatever the filters and however many incidents there are, a page is seven queries of plain
columns (the page's rows, the total, then for the page's ids alone: alert counts, the
models' versions, who was paged, the Slack cards, and the muted alerts still firing), never
an ORM object or a full snapshot per row (``bot.incidents.listing`` reads the chat and API
lists the same way). Offset paging, because a person sorts by any column and jumps pages;
a new incident arriving between two pages may shift a row, which a refreshed page shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlalchemy.sql import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat.slack.tables import SlackCard
from bot.incidents.intake.fingerprint import group_key
from bot.incidents.listing import severity_rank
from bot.incidents.states import OPEN_STATES
from bot.store.tables import Alert, Incident, Page
from bot.webui.filters import PER_PAGE, Filters, Window

LIFE_CYCLE = ("triggered", "acknowledged", "contained", "resolved", "postmortem")
CLOSED = ("resolved", "postmortem")


@dataclass(frozen=True)
class Row:
    """One line of the incident table."""

    id: int
    severity: str
    state: str
    service: str | None
    model: str | None
    version: str | None
    title: str
    created_at: datetime
    commander: str | None
    paged: tuple[str, ...]
    muted: int
    alerts: int
    slack_channel: str | None


@dataclass(frozen=True)
class Listing:
    rows: tuple[Row, ...]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))


def version_label() -> ColumnElement[Any]:
    """An alert's ``version`` label, as SQL (SQLite's JSON_EXTRACT, PostgreSQL's ``->>``)."""
    label: ColumnElement[Any] = col(Alert.labels)["version"].as_string()
    return label


def _conditions(filters: Filters, window: Window) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if filters.severities:
        found.append(col(Incident.severity).in_(filters.severities))
    if filters.state == "open":
        found.append(col(Incident.state).in_(OPEN_STATES))
    elif filters.state == "resolved":
        found.append(col(Incident.state).in_(CLOSED))
    elif filters.state != "all":
        found.append(col(Incident.state) == filters.state)
    if filters.service:
        found.append(col(Incident.service) == filters.service)
    if filters.model:
        found.append(col(Incident.model) == filters.model)
    if filters.q:
        found.append(func.lower(col(Incident.title)).contains(filters.q.lower(), autoescape=True))
    if window.since is not None:
        found.append(col(Incident.created_at) >= window.since)
    if window.until is not None:
        found.append(col(Incident.created_at) < window.until)
    return found


def _order(sort: str) -> list[Any]:
    """``severity`` P1 first, ``age`` youngest first, ``state`` along the life-cycle, ``id``
    lowest first; ``-`` reverses; ties newest first."""
    name = sort.removeprefix("-")
    keys: dict[str, Any] = {
        "id": col(Incident.id),
        "severity": severity_rank(),
        "age": col(Incident.created_at).desc(),
        "state": case({s: i for i, s in enumerate(LIFE_CYCLE)}, value=col(Incident.state)),
    }
    key = keys[name]
    if sort.startswith("-"):
        key = col(Incident.created_at).asc() if name == "age" else key.desc()
    return [key] if name == "id" else [key, col(Incident.id).desc()]


async def incident_page(
    session: AsyncSession, filters: Filters, window: Window, *, group_by: Sequence[str]
) -> Listing:
    """The page of incidents these filters ask for, with the total they match."""
    where = _conditions(filters, window)
    fields: tuple[Any, ...] = (
        Incident.id,
        Incident.severity,
        Incident.state,
        Incident.service,
        Incident.model,
        Incident.title,
        Incident.created_at,
        Incident.commander,
        Incident.group_key,
    )
    stmt: Any = sa_select(*fields).where(*where).order_by(*_order(filters.order))
    stmt = stmt.offset((filters.page - 1) * PER_PAGE).limit(PER_PAGE)
    rows = (await session.exec(stmt)).all()
    total = int(
        (await session.exec(select(func.count()).select_from(Incident).where(*where))).one()
    )
    ids = [int(r[0]) for r in rows]
    if not ids:
        return Listing((), total, filters.page)
    in_page = col(Alert.incident_id).in_(ids)
    counts = dict(
        (
            await session.exec(
                select(col(Alert.incident_id), func.count())
                .where(in_page)
                .group_by(col(Alert.incident_id))
            )
        ).all()
    )
    version = version_label()
    vstmt: Any = (
        sa_select(col(Alert.incident_id), func.max(version))
        .where(in_page, version.is_not(None))
        .group_by(col(Alert.incident_id))
    )
    versions = dict((await session.exec(vstmt)).all())
    paged = await paged_people(session, ids)
    cards = dict(
        (
            await session.exec(
                select(col(SlackCard.incident_id), col(SlackCard.channel)).where(
                    col(SlackCard.incident_id).in_(ids)
                )
            )
        ).all()
    )
    muted = await muted_counts(session, [(int(r[0]), r[8], r[2]) for r in rows], group_by)
    return Listing(
        tuple(
            Row(
                id=int(r[0]),
                severity=r[1],
                state=r[2],
                service=r[3],
                model=r[4],
                version=versions.get(r[0]),
                title=r[5],
                created_at=r[6],
                commander=r[7],
                paged=paged.get(int(r[0]), ()),
                muted=muted.get(int(r[0]), 0),
                alerts=int(counts.get(r[0], 0)),
                slack_channel=cards.get(r[0]),
            )
            for r in rows
        ),
        total,
        filters.page,
    )


async def paged_people(session: AsyncSession, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """Who was paged for each incident, first paged first, each once."""
    stmt = (
        select(col(Page.incident_id), col(Page.target))
        .where(col(Page.incident_id).in_(ids))
        .order_by(col(Page.sent_at), col(Page.id))
    )
    found: defaultdict[int, dict[str, None]] = defaultdict(dict)
    for incident_id, target in (await session.exec(stmt)).all():
        found[int(incident_id)][target] = None
    return {i: tuple(people) for i, people in found.items()}


async def muted_counts(
    session: AsyncSession, incidents: Sequence[tuple[int, str, str]], group_by: Sequence[str]
) -> dict[int, int]:
    """How many muted alerts still firing belong with each open incident (id, group key,
    state): those of its grouping key, which it would have taken, and those it inhibits."""
    stmt = select(col(Alert.id), col(Alert.labels), col(Alert.muted_by)).where(
        col(Alert.incident_id).is_(None),
        col(Alert.status) == "firing",
        col(Alert.muted_by).is_not(None),
    )
    by_key: defaultdict[str, set[int]] = defaultdict(set)
    by_incident: defaultdict[int, set[int]] = defaultdict(set)
    for alert_id, labels, reasons in (await session.exec(stmt)).all():
        assert alert_id is not None  # a stored row
        by_key[group_key(labels or {}, group_by)].add(alert_id)
        for reason in reasons or []:
            target = reason.get("incident") if isinstance(reason, dict) else None
            if reason.get("kind") == "inhibited" and isinstance(target, int):
                by_incident[target].add(alert_id)
    counts = {}
    for incident_id, key, state in incidents:
        if state in OPEN_STATES:
            n = len(by_key.get(key, set()) | by_incident.get(incident_id, set()))
            if n:
                counts[incident_id] = n
    return counts
