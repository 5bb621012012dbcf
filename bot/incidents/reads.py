"""The incident reads: one incident whole or as its card shows it, the lists, the counts.

``IncidentService`` (the human operations, ``service.py``) is an ``IncidentReads``: every
caller keeps one object to ask and to act. Kept apart because reading has concerns of its
own: what each reader needs and no more (a card reads a digest of the alerts, not all of
them), and equal list reads in flight shared (``page``), while writing has transactions,
locks and the listeners.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func
from sqlmodel import col, select

from bot.core.pagination import DEFAULT_LIMIT, Page
from bot.incidents import listing, store
from bot.incidents.states import OPEN_STATES
from bot.incidents.views import FiringDigest, IncidentSummary, IncidentView
from bot.store.db import Database
from bot.store.tables import Incident


class IncidentReads:
    """Reads of the incident store, for chat, the CLI, the API and the other services."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # page() reads in flight: (commits when it began, its result), shared by equal asks
        self._reading: dict[
            tuple[bool, int, str | None, bool], tuple[int, asyncio.Future[Page[IncidentSummary]]]
        ] = {}

    async def get(
        self, incident_id: int, *, timeline: bool = True, alerts: bool = True
    ) -> IncidentView:
        """The incident with its alerts and its timeline; ``alerts`` or ``timeline`` False
        for a caller that never reads them (a page through ``notify:`` needs neither)."""
        async with self._db.read() as s, s.begin():
            row = await store.get_incident(session=s, incident_id=incident_id)
            return await store.view_of(session=s, incident=row, timeline=timeline, alerts=alerts)

    async def card(self, incident_id: int, *, shown: int) -> tuple[IncidentView, FiringDigest]:
        """What the incident's chat card shows, in one read: the incident's own fields (its
        snapshot holds neither alerts nor timeline: read ``digest`` for the alerts) and the
        digest of its alerts, ``shown`` firing ones at most."""
        async with self._db.read() as s, s.begin():
            row = await store.get_incident(session=s, incident_id=incident_id)
            digest = await store.firing_digest(session=s, incident_id=incident_id, limit=shown)
            return IncidentView.of(row), digest

    async def list(self, *, include_closed: bool = False, limit: int = 50) -> list[IncidentView]:
        """Full snapshots (alerts and timeline) of the open incidents, most severe first then
        newest, or with ``include_closed`` of all, newest first: for code that needs each
        one whole (the SLA watch's resume). What people read goes through ``page``."""
        stmt = select(Incident)
        if include_closed:
            stmt = stmt.order_by(col(Incident.id).desc())
        else:
            stmt = stmt.where(col(Incident.state).in_(OPEN_STATES)).order_by(
                listing.severity_rank(), col(Incident.id).desc()
            )
        async with self._db.read() as s, s.begin():
            rows = (await s.exec(stmt.limit(limit))).all()
            return await listing.views(session=s, rows=rows)

    async def page(
        self,
        *,
        include_closed: bool = False,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
        with_alerts: bool = False,
    ) -> Page[IncidentSummary]:
        """One page of the incident list people read (chat, the CLI, the API): summaries in
        a fixed number of queries, the total, and the cursor of the next page (None when
        this is the last). ``ValidationError("cursor")`` for a cursor not of this list.

        The same page asked for while it is being read, with nothing written by this
        process since that read began, shares it: a room of responders typing
        ``/incident list`` at once costs one query, and nobody sees less than what was
        committed before they asked."""
        key = (include_closed, limit, cursor, with_alerts)
        shared = self._reading.get(key)
        if shared is not None and shared[0] == self._db.commits:
            try:
                return await asyncio.shield(shared[1])
            except asyncio.CancelledError:
                if not shared[1].cancelled():
                    raise  # this caller was cancelled
                # the read it joined was cancelled with its caller: read for ourselves
        result: asyncio.Future[Page[IncidentSummary]] = asyncio.get_running_loop().create_future()
        self._reading[key] = (self._db.commits, result)
        try:
            async with self._db.read() as s, s.begin():
                page = await listing.summaries(
                    session=s,
                    include_closed=include_closed,
                    limit=limit,
                    cursor=cursor,
                    with_alerts=with_alerts,
                )
            result.set_result(page)
            return page
        except asyncio.CancelledError:
            result.cancel()
            raise
        except Exception as exc:
            result.set_exception(exc)
            result.exception()  # retrieved here: nobody else may be waiting for it
            raise
        finally:
            if self._reading.get(key, (0, None))[1] is result:
                del self._reading[key]

    async def count_open(self) -> int:
        """How many incidents are open (lists show a page; notices say how many more)."""
        return (await self.page(limit=1)).total

    async def counts(self) -> dict[tuple[str, str], int]:
        """How many incidents there are per (severity, state), for ``/metrics``."""
        stmt = select(col(Incident.severity), col(Incident.state), func.count()).group_by(
            col(Incident.severity), col(Incident.state)
        )
        async with self._db.read() as s, s.begin():
            rows = (await s.exec(stmt)).all()
        return {(sev, state): int(n) for sev, state, n in rows}
