"""The ``pages`` table: one row per incident, escalation step and person, and its ack.

The unique (incident, step, person) index is what makes a page exactly-once across
processes: whoever inserts the row sends the page; the loser of a race gets an
IntegrityError and sends nothing. The highest step paged is also how the Pager knows, after
a restart, where an escalation stands.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.oncall.paging.escalation import PageStep
from bot.store.db import Database
from bot.store.tables import Page


class PageBook:
    """Reads and writes ``pages``; every method is one short transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    async def claim_in(
        s: AsyncSession,
        incident_id: int,
        step: PageStep,
        person: str,
        channel: str,
        now: datetime,
    ) -> bool:
        """Insert the page row in the caller's transaction; False if this step was already
        paged to this person. (A concurrent insert by another process fails the caller's
        commit on the unique index instead: it retries, and then sees the row.)"""
        exists = await s.exec(
            select(Page.id).where(
                col(Page.incident_id) == incident_id,
                col(Page.step) == step.index,
                col(Page.target) == person,
            )
        )
        if exists.first() is not None:
            return False
        s.add(
            Page(
                incident_id=incident_id,
                step=step.index,
                level=step.level,
                target=person,
                channel=channel[:32],
                sent_at=now,
            )
        )
        return True

    async def claimed(self, incident_id: int, step: int, person: str) -> bool:
        """Has this step been paged to this person (its row committed)?"""
        async with self._db.read() as s, s.begin():
            found = await s.exec(
                select(Page.id).where(
                    col(Page.incident_id) == incident_id,
                    col(Page.step) == step,
                    col(Page.target) == person,
                )
            )
            return found.first() is not None

    async def steps_sent(self, incident_id: int) -> int:
        """How many escalation steps have been sent (the next step's index)."""
        async with self._db.read() as s, s.begin():
            top = (
                await s.exec(
                    select(func.max(Page.step)).where(col(Page.incident_id) == incident_id)
                )
            ).first()
        return 0 if top is None else int(top) + 1

    async def acknowledge(self, incident_id: int, actor: str, now: datetime) -> int:
        """Mark every unacknowledged page of the incident acknowledged by ``actor``; how many."""
        async with self._db.session() as s, s.begin():
            pages = (
                await s.exec(
                    select(Page).where(
                        col(Page.incident_id) == incident_id, col(Page.acknowledged_at).is_(None)
                    )
                )
            ).all()
            for page in pages:
                page.acknowledged_at, page.acknowledged_by = now, actor
                s.add(page)
        return len(pages)
