"""One incident as its page shows it, read in one snapshot.

The incident, its alerts (the first 200: a storm's thousand alerts are counted, not all
drawn), its whole timeline or the kinds asked for (every kind it has is counted, for the
filter), who was paged, its Slack card, its evidence charts, and the incidents related to
it: the one it follows or relapses, those that relapsed it, and the others of its grouping
key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat.slack.tables import SlackCard
from bot.evidence.plan import EVIDENCE
from bot.incidents.quiet import RELAPSE_KIND
from bot.incidents.views import AlertView, EventView, IncidentView
from bot.store.tables import Alert, Incident, TimelineEvent
from bot.webui.queries import paged_people, version_label

MAX_ALERTS = 200
MAX_RELATED = 20


@dataclass(frozen=True)
class Related:
    id: int
    title: str
    severity: str
    state: str
    why: str  # "follows", "relapse of", "relapsed as", "same alerts"


@dataclass(frozen=True)
class Detail:
    incident: IncidentView
    version: str | None
    alerts: tuple[AlertView, ...]
    alert_total: int
    timeline: tuple[EventView, ...]
    kinds: tuple[tuple[str, int], ...]  # every kind on the timeline, with how many
    paged: tuple[str, ...]
    slack_channel: str | None
    related: tuple[Related, ...]
    evidence: tuple[str, ...]  # chart file names, oldest first
    has_postmortem: bool


def evidence_names(events: Sequence[EventView]) -> tuple[str, ...]:
    """The chart files the incident's evidence entries name (base names only)."""
    names: list[str] = []
    for e in events:
        path = e.data.get("path")
        if e.kind == EVIDENCE and isinstance(path, str) and path:
            name = PurePath(path).name
            if name not in names:
                names.append(name)
    return tuple(names)


async def evidence_of(session: AsyncSession, incident_id: int) -> tuple[str, ...]:
    stmt = select(TimelineEvent).where(
        col(TimelineEvent.incident_id) == incident_id, col(TimelineEvent.kind) == EVIDENCE
    )
    return evidence_names([EventView.of(r) for r in (await session.exec(stmt)).all()])


async def read_detail(
    session: AsyncSession, incident_id: int, kinds: Sequence[str]
) -> Detail | None:
    """The incident's page, or None when there is no such incident."""
    row = await session.get(Incident, incident_id)
    if row is None:
        return None
    mine = col(Alert.incident_id) == incident_id
    alerts = (
        await session.exec(
            select(Alert)
            .where(mine)
            .order_by(col(Alert.first_seen), col(Alert.id))
            .limit(MAX_ALERTS)
        )
    ).all()
    alert_total = int((await session.exec(select(func.count()).where(mine))).one())
    version = version_label()
    vstmt: Any = select(func.max(version)).where(mine, version.is_not(None))
    found_version = (await session.exec(vstmt)).one()
    owned = col(TimelineEvent.incident_id) == incident_id
    counted = (
        await session.exec(
            select(col(TimelineEvent.kind), func.count())
            .where(owned)
            .group_by(col(TimelineEvent.kind))
        )
    ).all()
    stmt = select(TimelineEvent).where(owned)
    if kinds:
        stmt = stmt.where(col(TimelineEvent.kind).in_(kinds))
    events = (await session.exec(stmt.order_by(col(TimelineEvent.at), col(TimelineEvent.id)))).all()
    special = (
        await session.exec(
            select(TimelineEvent).where(
                owned, col(TimelineEvent.kind).in_(("opened", RELAPSE_KIND, EVIDENCE, "postmortem"))
            )
        )
    ).all()
    card = await session.get(SlackCard, incident_id)
    paged = await paged_people(session, [incident_id])
    related = await _related(session, row, [EventView.of(e) for e in special])
    return Detail(
        incident=IncidentView.of(row),
        version=str(found_version) if found_version is not None else None,
        alerts=tuple(AlertView.of(a) for a in alerts),
        alert_total=alert_total,
        timeline=tuple(EventView.of(e) for e in events),
        kinds=tuple(sorted((str(k), int(n)) for k, n in counted)),
        paged=paged.get(incident_id, ()),
        slack_channel=card.channel if card is not None else None,
        related=related,
        evidence=evidence_names([EventView.of(e) for e in special]),
        has_postmortem=any(e.kind == "postmortem" for e in special),
    )


async def _related(
    session: AsyncSession, row: Incident, special: Sequence[EventView]
) -> tuple[Related, ...]:
    why: dict[int, str] = {}
    for e in special:
        if e.kind == "opened":
            for key, words in (("relapse_of", "relapse of"), ("follows", "follows")):
                target = e.data.get(key)
                if isinstance(target, int) and target not in why:
                    why[target] = words
        elif e.kind == RELAPSE_KIND and isinstance(e.data.get("incident"), int):
            why.setdefault(int(e.data["incident"]), "relapsed as")
    stmt = (
        select(col(Incident.id))
        .where(col(Incident.group_key) == row.group_key, col(Incident.id) != row.id)
        .order_by(col(Incident.id).desc())
        .limit(MAX_RELATED)
    )
    for other in (await session.exec(stmt)).all():
        if other is not None:
            why.setdefault(other, "same alerts")
    if not why:
        return ()
    fields = select(
        col(Incident.id), col(Incident.title), col(Incident.severity), col(Incident.state)
    ).where(col(Incident.id).in_(list(why)))
    found = {r[0]: r for r in (await session.exec(fields)).all() if r[0] is not None}
    return tuple(
        Related(i, found[i][1], found[i][2], found[i][3], words)
        for i, words in sorted(why.items(), key=lambda kv: -kv[0])
        if i in found
    )
