"""``RunLog``: keeps playbook runs and their steps in the database as they happen.

Pass ``run_log.record`` (alone or beside the timeline writer) as the runner's ``record``
callback, and ``finish`` the ``RunResult``: a run interrupted halfway still shows which
step was running. Each record is its own small transaction.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import Clock, utcnow
from bot.playbooks.runner import RunResult, StepRecord
from bot.registry.tables import PlaybookRun, PlaybookStepRow
from bot.store.db import Database


class RunLog:
    """Writes ``playbook_runs`` and ``playbook_steps``."""

    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def record(self, rec: StepRecord) -> None:
        async with self._db.session() as s, s.begin():
            run = await _run(s, rec.run_id)
            if run is None:
                run = PlaybookRun(
                    run_id=rec.run_id,
                    playbook=rec.playbook,
                    incident_id=rec.incident,
                    actor=rec.actor,
                    dry_run=rec.dry_run,
                    status="running",
                    started_at=rec.at,
                )
                s.add(run)
                await s.flush()
            assert run.id is not None
            stmt = select(PlaybookStepRow).where(
                col(PlaybookStepRow.run_id) == run.id,
                col(PlaybookStepRow.position) == rec.position,
            )
            step = (await s.exec(stmt)).first()
            if step is None:
                step = PlaybookStepRow(
                    run_id=run.id,
                    position=rec.position,
                    name=rec.name,
                    action=rec.action,
                    status="running",
                    started_at=rec.at,
                )
                s.add(step)
            if rec.phase == "finished":
                step.status = "ok" if rec.ok else "failed"
                step.message, step.data, step.finished_at = rec.message, dict(rec.data), rec.at

    async def finish(self, result: RunResult) -> None:
        """Store the outcome and summary; a run that never recorded a step is ignored."""
        async with self._db.session() as s, s.begin():
            run = await _run(s, result.run_id, lock=True)
            if run is not None:
                run.status = "ok" if result.ok else "failed"
                run.summary, run.finished_at = result.summary, self._clock()

    async def steps(self, run_id: str) -> list[PlaybookStepRow]:
        async with self._db.session() as s, s.begin():
            run = await _run(s, run_id)
            if run is None:
                return []
            stmt = select(PlaybookStepRow).where(col(PlaybookStepRow.run_id) == run.id)
            return list((await s.exec(stmt.order_by(col(PlaybookStepRow.position)))).all())

    async def run(self, run_id: str) -> PlaybookRun | None:
        async with self._db.session() as s, s.begin():
            return await _run(s, run_id)


async def _run(s: AsyncSession, run_id: str, *, lock: bool = False) -> PlaybookRun | None:
    stmt = select(PlaybookRun).where(col(PlaybookRun.run_id) == run_id)
    return (await s.exec(stmt.with_for_update() if lock else stmt)).first()
