"""The statements on ``retrain_runs`` (and the one read of ``incidents`` retraining needs).

Reads go through the readers; every write is a short transaction of its own, or runs in
the caller's session (:meth:`RunStore.add`, with the timer that submits the run).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents.states import OPEN_STATES
from bot.retrain.decide import IN_FLIGHT, PastRun
from bot.retrain.tables import RetrainRun
from bot.store.db import Database
from bot.store.tables import Incident

RECENT = 20  # the runs a decision reads: the one in flight, or the last one to end


class RunStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, run_id: int) -> RetrainRun | None:
        async with self._db.read() as s, s.begin():
            return await s.get(RetrainRun, run_id)

    async def runs(self, model: str | None = None, *, limit: int = 50) -> list[RetrainRun]:
        """The newest runs first (of one model, or of all)."""
        stmt = select(RetrainRun).order_by(col(RetrainRun.id).desc()).limit(limit)
        if model is not None:
            stmt = stmt.where(RetrainRun.model == model)
        async with self._db.read() as s, s.begin():
            return list((await s.exec(stmt)).all())

    async def unfinished(self) -> list[RetrainRun]:
        stmt = select(RetrainRun).where(col(RetrainRun.phase).in_(IN_FLIGHT))
        async with self._db.read() as s, s.begin():
            return list((await s.exec(stmt)).all())

    @staticmethod
    async def by_key(s: AsyncSession, key: str) -> RetrainRun | None:
        stmt = select(RetrainRun).where(RetrainRun.dedup_key == key)
        return (await s.exec(stmt)).first()

    @staticmethod
    async def past(s: AsyncSession, model: str) -> list[PastRun]:
        stmt = (
            select(RetrainRun)
            .where(RetrainRun.model == model)
            .order_by(col(RetrainRun.id).desc())
            .limit(RECENT)
        )
        rows: Sequence[RetrainRun] = (await s.exec(stmt)).all()
        return [PastRun(r.dedup_key, r.phase, r.requested_at, r.finished_at) for r in rows]

    @staticmethod
    async def add(s: AsyncSession, row: RetrainRun) -> RetrainRun:
        s.add(row)
        await s.flush()
        return row

    async def set(self, run_id: int, **values: Any) -> None:
        async with self._db.session() as s, s.begin():
            await s.exec(update(RetrainRun).where(col(RetrainRun.id) == run_id).values(**values))

    async def open_incident(self, model: str) -> int | None:
        """The newest open incident about ``model`` (a drift run's thread), if any."""
        stmt = (
            select(Incident.id)
            .where(Incident.model == model, col(Incident.state).in_(OPEN_STATES))
            .order_by(col(Incident.id).desc())
            .limit(1)
        )
        async with self._db.read() as s, s.begin():
            found = (await s.exec(stmt)).first()
        return int(found) if found is not None else None
