"""The built-in registry: model versions in Vigil's own database (SQLite or PostgreSQL).

Each change is one transaction that locks every version row of the model first
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers), so
two people rolling back at once move back one step each instead of both undoing the same
version. The decisions themselves live in ``bot.registry.rules``, shared with the fake.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import Clock, utcnow
from bot.registry import rules
from bot.registry.base import RegistryError, RegistryEvent, RollbackResult, Stage, VersionInfo
from bot.registry.tables import ModelEvent, ModelVersion
from bot.store.db import Database

T = TypeVar("T")
Edit = Callable[[AsyncSession, list[ModelVersion], datetime], tuple[T, list[rules.Change]]]


class BuiltinRegistry:
    """``ModelRegistry`` on the application database; see ``bot.registry.base``."""

    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def models(self) -> list[str]:
        async with self._db.read() as s, s.begin():
            return await _models(s)

    async def versions(self, model: str) -> list[VersionInfo]:
        async with self._db.read() as s, s.begin():
            return [rules.info(r) for r in await _rows(s, model)]

    async def stable(self, model: str) -> VersionInfo | None:
        async with self._db.read() as s, s.begin():
            row = rules.stable_of(await _rows(s, model))
            return rules.info(row) if row else None

    async def history(self, model: str) -> list[RegistryEvent]:
        async with self._db.session() as s, s.begin():
            await _rows(s, model)  # NotFoundError for an unknown model
            stmt = select(ModelEvent).where(col(ModelEvent.model) == model)
            events = (await s.exec(stmt.order_by(col(ModelEvent.id)))).all()
            return [
                RegistryEvent(e.at, e.model, e.version, e.kind, e.actor, e.text, dict(e.data))
                for e in events
            ]

    async def register(
        self,
        model: str,
        version: str,
        *,
        stage: Stage = "shadow",
        traffic: int = 0,
        actor: str,
        notes: str = "",
    ) -> VersionInfo:
        rules.check_name("model", model)
        rules.check_name("version", version)

        def edit(
            s: AsyncSession, rows: list[ModelVersion], now: datetime
        ) -> tuple[ModelVersion, list[rules.Change]]:
            rules.check_new(rows, model, version, stage, traffic)
            row = ModelVersion(
                model=model,
                version=version,
                stage="shadow",
                traffic_percent=0,
                created_at=now,
                notes=notes,
            )
            s.add(row)
            rows.append(row)
            return row, rules.registered(rows, row, stage, traffic, now, notes)

        try:
            row = await self._edit(model, edit, actor=actor, new_model_ok=True)
        except IntegrityError as exc:  # a concurrent register of the same version won
            raise RegistryError(f"{model} {version} is already registered.") from exc
        return rules.info(row)

    async def promote(self, model: str, version: str, *, actor: str) -> VersionInfo:
        def edit(
            _s: AsyncSession, rows: list[ModelVersion], now: datetime
        ) -> tuple[ModelVersion, list[rules.Change]]:
            row = rules.find(rows, model, version)
            return row, rules.promote(rows, row, now)

        return rules.info(await self._edit(model, edit, actor=actor))

    async def set_canary(
        self,
        model: str,
        version: str,
        percent: int,
        *,
        actor: str = "vigil",
        incident: int | None = None,
    ) -> VersionInfo:
        def edit(
            _s: AsyncSession, rows: list[ModelVersion], _now: datetime
        ) -> tuple[ModelVersion, list[rules.Change]]:
            row = rules.find(rows, model, version)
            return row, rules.set_canary(rows, row, percent)

        return rules.info(await self._edit(model, edit, actor=actor))

    async def rollback(
        self,
        model: str,
        to_version: str | None = None,
        *,
        actor: str,
        dry_run: bool = False,
        incident: int | None = None,
    ) -> RollbackResult:
        return await self._switch(model, to_version, "rollback", actor=actor, dry_run=dry_run)

    async def pin_traffic(
        self,
        model: str,
        version: str,
        *,
        actor: str,
        dry_run: bool = False,
        incident: int | None = None,
    ) -> RollbackResult:
        return await self._switch(model, version, "pin", actor=actor, dry_run=dry_run)

    async def retire(self, model: str, version: str, *, actor: str = "vigil") -> VersionInfo:
        def edit(
            _s: AsyncSession, rows: list[ModelVersion], _now: datetime
        ) -> tuple[ModelVersion, list[rules.Change]]:
            row = rules.find(rows, model, version)
            return row, rules.retire(rows, row)

        return rules.info(await self._edit(model, edit, actor=actor))

    async def _switch(
        self, model: str, version: str | None, kind: rules.SwitchKind, *, actor: str, dry_run: bool
    ) -> RollbackResult:
        def edit(
            _s: AsyncSession, rows: list[ModelVersion], now: datetime
        ) -> tuple[RollbackResult, list[rules.Change]]:
            plan = rules.plan_switch(rows, model, version, kind=kind, dry_run=dry_run)
            if dry_run:
                return plan, []
            return plan, rules.apply_switch(rows, plan, now, kind=kind)

        if dry_run:  # read-only: no lock, no transaction that writes
            async with self._db.session() as s, s.begin():
                return edit(s, await _rows(s, model), self._clock())[0]
        return await self._edit(model, edit, actor=actor)

    async def _edit(
        self, model: str, edit: Edit[T], *, actor: str, new_model_ok: bool = False
    ) -> T:
        """Lock the model's rows, apply ``edit``, store the history it returns, commit.

        ``edit`` raising rolls the whole transaction back: a refusal changes nothing.
        """
        now = self._clock()
        async with self._db.session() as s, s.begin():
            rows = await _rows(s, model, lock=True, missing_ok=new_model_ok)
            result, changes = edit(s, rows, now)
            for c in changes:
                s.add(
                    ModelEvent(
                        model=model,
                        version=c.version,
                        at=now,
                        kind=c.kind,
                        actor=actor,
                        text=c.text,
                        data=c.data,
                    )
                )
            await s.flush()
        return result


async def _models(s: AsyncSession) -> list[str]:
    stmt = select(ModelVersion.model).distinct().order_by(col(ModelVersion.model))
    return list((await s.exec(stmt)).all())


async def _rows(
    s: AsyncSession, model: str, *, lock: bool = False, missing_ok: bool = False
) -> list[ModelVersion]:
    """The model's versions, oldest first; ``NotFoundError`` naming the known models."""
    stmt = select(ModelVersion).where(col(ModelVersion.model) == model)
    stmt = stmt.order_by(col(ModelVersion.id))
    if lock:
        stmt = stmt.with_for_update()
    rows = list((await s.exec(stmt)).all())
    if not rows and not missing_ok:
        raise rules.unknown_model(model, await _models(s))
    return rows
