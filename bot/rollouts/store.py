"""The statements on ``rollouts`` and ``rollout_looks``: reads through the readers, writes in
the caller's transaction (with the timer of the next look) or a short one of their own."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.rollout.story import RUNNING, RolloutState
from bot.rollouts.tables import Rollout, RolloutLook
from bot.store.db import Database


def state_of(row: Rollout) -> RolloutState:
    """The row as the pure wording and the answers read it."""
    assert row.id is not None
    return RolloutState(
        id=row.id,
        model=row.model,
        version=row.version,
        baseline=row.baseline,
        mode=row.mode,
        steps=tuple(row.steps),
        step=row.step,
        percent=row.percent,
        state=row.state,
        every=timedelta(seconds=row.every_s),
        started_at=row.started_at,
        actor=row.actor,
        verdict=row.verdict,
        score=row.score,
        looks=row.looks,
        incident_id=row.incident_id,
        next_look_at=row.next_look_at,
        ended_at=row.ended_at,
    )


class RolloutStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, rollout_id: int) -> Rollout | None:
        async with self._db.read() as s, s.begin():
            return await s.get(Rollout, rollout_id)

    async def active(self, model: str) -> Rollout | None:
        """The model's running rollout, if any (at most one: ``active_model`` is unique)."""
        stmt = select(Rollout).where(Rollout.active_model == model)
        async with self._db.read() as s, s.begin():
            return (await s.exec(stmt)).first()

    async def latest(self, model: str) -> Rollout | None:
        stmt = (
            select(Rollout).where(Rollout.model == model).order_by(col(Rollout.id).desc()).limit(1)
        )
        async with self._db.read() as s, s.begin():
            return (await s.exec(stmt)).first()

    async def running(self) -> list[Rollout]:
        stmt = select(Rollout).where(Rollout.state == RUNNING).order_by(col(Rollout.id))
        async with self._db.read() as s, s.begin():
            return list((await s.exec(stmt)).all())

    async def looks(self, rollout_id: int, *, limit: int = 50) -> list[RolloutLook]:
        """The rollout's looks, oldest first (the last ``limit``)."""
        stmt = (
            select(RolloutLook)
            .where(RolloutLook.rollout_id == rollout_id)
            .order_by(col(RolloutLook.id).desc())
            .limit(limit)
        )
        async with self._db.read() as s, s.begin():
            return list(reversed((await s.exec(stmt)).all()))

    @staticmethod
    async def locked(s: AsyncSession, rollout_id: int) -> Rollout | None:
        """The row inside a write transaction (locked on PostgreSQL)."""
        stmt = select(Rollout).where(Rollout.id == rollout_id).with_for_update()
        return (await s.exec(stmt)).first()
