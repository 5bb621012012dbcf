"""``RecordedRegistry``: the registry contract on an outside serving target, with Vigil's own
append-only record of every move (table ``registry_moves``).

Each change rebuilds the model from the record (:mod:`bot.registry.replay`), applies the
same ``bot.registry.rules`` as the built-in registry to a copy, and, when what serves
changes, hands the target the move (:class:`bot.registry.serving.Move`). Only when the
target has carried it out are the entries appended, in one transaction; a refusal (the
target's, or the rules') changes nothing in the record. So "last known good" is read from
the record: the previous stable version Vigil itself put there, not whatever the outside
registry happens to hold.

No lock is held across the target's HTTP calls. Two processes racing on one model are
caught twice: by the target (MLflow's compare-and-set) and by the record's unique
``(target, model, seq)``, which refuses the second writer's entries.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.core.clock import Clock, utcnow
from bot.registry import rules
from bot.registry.base import RegistryError, RegistryEvent, RollbackResult, Stage, VersionInfo
from bot.registry.replay import State, VersionRow, picture, replay
from bot.registry.serving import Move, ServingTarget, move_key
from bot.registry.tables import RegistryMove
from bot.store.db import Database

T = TypeVar("T")
Edit = Callable[[list[VersionRow], datetime], tuple[T, list[rules.Change]]]
MOVE_KINDS = {
    "promoted": "promote",
    "canary": "canary",
    "rollback": "rollback",
    "pin": "pin",
    "retired": "retire",
    "paused": "pause",
    "registered": "register",
}


class RecordedRegistry:
    """``ModelRegistry`` whose moves reach ``target``; see the module docstring."""

    def __init__(self, db: Database, target: ServingTarget, clock: Clock = utcnow) -> None:
        self._db = db
        self.target = target
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}

    async def models(self) -> list[str]:
        async with self._db.read() as s, s.begin():
            stmt = select(RegistryMove.model).where(col(RegistryMove.target) == self.target.name)
            recorded = set((await s.exec(stmt.distinct())).all())
        return sorted(recorded | set(await self.target.models()))

    async def versions(self, model: str) -> list[VersionInfo]:
        return [rules.info(r) for r in (await self._state(model))[1].rows]

    async def stable(self, model: str) -> VersionInfo | None:
        row = rules.stable_of((await self._state(model))[1].rows)
        return rules.info(row) if row else None

    async def history(self, model: str) -> list[RegistryEvent]:
        entries = (await self._state(model))[0]
        return [
            RegistryEvent(e.at, e.model, e.version, e.kind, e.actor, e.text, dict(e.data))
            for e in entries
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
        owns = self.target.owns_versions
        owned = await self.target.versions(model) if owns else []

        def edit(rows: list[VersionRow], now: datetime) -> tuple[VersionRow, list[rules.Change]]:
            if not owns:  # Vigil's record is the only list of versions
                rules.check_new(rows, model, version, stage, traffic)
                row = VersionRow(model, version, "shadow", 0, now, notes=notes)
                rows.append(row)
                return row, rules.registered(rows, row, stage, traffic, now, notes)
            if all(f.version != version for f in owned):
                raise RegistryError(
                    f"{self.target.label} has no version {version} of {model}; MLflow numbers "
                    f"versions itself: register it there, then run "
                    f"vigil model register {model} VERSION with the number it gave."
                )
            row = rules.find(rows, model, version)
            rules.check_new([r for r in rows if r is not row], model, version, stage, traffic)
            row.notes = notes
            return row, rules.registered(rows, row, stage, traffic, now, notes)

        return rules.info(await self._edit(model, edit, actor=actor, new_ok=True))

    async def promote(self, model: str, version: str, *, actor: str) -> VersionInfo:
        def edit(rows: list[VersionRow], now: datetime) -> tuple[VersionRow, list[rules.Change]]:
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
        def edit(rows: list[VersionRow], _now: datetime) -> tuple[VersionRow, list[rules.Change]]:
            row = rules.find(rows, model, version)
            return row, rules.set_canary(rows, row, percent)

        return rules.info(await self._edit(model, edit, actor=actor, incident=incident))

    async def rollback(
        self,
        model: str,
        to_version: str | None = None,
        *,
        actor: str,
        dry_run: bool = False,
        incident: int | None = None,
    ) -> RollbackResult:
        return await self._switch(model, to_version, "rollback", actor, dry_run, incident)

    async def pin_traffic(
        self,
        model: str,
        version: str,
        *,
        actor: str,
        dry_run: bool = False,
        incident: int | None = None,
    ) -> RollbackResult:
        return await self._switch(model, version, "pin", actor, dry_run, incident)

    async def retire(self, model: str, version: str, *, actor: str = "vigil") -> VersionInfo:
        def edit(rows: list[VersionRow], _now: datetime) -> tuple[VersionRow, list[rules.Change]]:
            row = rules.find(rows, model, version)
            return row, rules.retire(rows, row)

        return rules.info(await self._edit(model, edit, actor=actor))

    async def aclose(self) -> None:
        await self.target.aclose()

    async def _switch(
        self,
        model: str,
        version: str | None,
        kind: rules.SwitchKind,
        actor: str,
        dry_run: bool,
        incident: int | None,
    ) -> RollbackResult:
        if dry_run:
            rows = (await self._state(model))[1].rows
            return rules.plan_switch(rows, model, version, kind=kind, dry_run=True)

        def edit(
            rows: list[VersionRow], now: datetime
        ) -> tuple[RollbackResult, list[rules.Change]]:
            plan = rules.plan_switch(rows, model, version, kind=kind, dry_run=False)
            return plan, rules.apply_switch(rows, plan, now, kind=kind)

        return await self._edit(model, edit, actor=actor, incident=incident)

    async def _state(self, model: str, *, new_ok: bool = False) -> tuple[list[RegistryMove], State]:
        """The model's record entries and its versions rebuilt from them and the target;
        ``NotFoundError`` naming the known models when neither knows it."""
        async with self._db.read() as s, s.begin():
            stmt = select(RegistryMove).where(
                col(RegistryMove.target) == self.target.name, col(RegistryMove.model) == model
            )
            entries = list((await s.exec(stmt.order_by(col(RegistryMove.seq)))).all())
        found = await self.target.versions(model)
        if not entries and not found and not new_ok:
            raise rules.unknown_model(model, await self.models())
        ever_set = any(e.kind in ("promoted", "rollback", "pin") for e in entries)
        serving = await self.target.stable(model) if found and not ever_set else None
        return entries, replay(model, entries, found, serving)

    async def _edit(
        self,
        model: str,
        edit: Edit[T],
        *,
        actor: str,
        incident: int | None = None,
        new_ok: bool = False,
    ) -> T:
        """Rebuild, apply ``edit`` to a copy, move the target if what serves changed, then
        append the entries. Any refusal before the append leaves the record as it was."""
        async with self._locks.setdefault(model, asyncio.Lock()):
            entries, state = await self._state(model, new_ok=new_ok)
            rows = copy.deepcopy(state.rows)
            before = picture(rows)
            now = self._clock()
            result, changes = edit(rows, now)
            if state.adopted is not None:  # the record starts from what the target served
                text = f"{state.adopted} found serving as stable on {self.target.label}"
                first = rules.Change(
                    state.adopted, "promoted", text, {"from": None, "adopted": True}
                )
                changes = [first, *changes]
            seq = entries[-1].seq if entries else 0
            after = picture(rows)
            if after != before:
                move = Move(
                    model=model,
                    kind=_kind(changes),
                    stable_before=before[0],
                    stable_after=after[0],
                    traffic_before=before[1],
                    traffic_after=after[1],
                    actor=actor,
                    incident=incident,
                    key=move_key(self.target.name, model, seq + 1, after[1]),
                    at=now,
                    text=changes[-1].text if changes else "",
                )
                await self.target.apply(move)
            await self._append(model, seq, changes, actor=actor, incident=incident, at=now)
            return result

    async def _append(
        self,
        model: str,
        seq: int,
        changes: list[rules.Change],
        *,
        actor: str,
        incident: int | None,
        at: datetime,
    ) -> None:
        try:
            async with self._db.session() as s, s.begin():
                for i, c in enumerate(changes, start=seq + 1):
                    s.add(
                        RegistryMove(
                            target=self.target.name,
                            model=model,
                            seq=i,
                            version=c.version,
                            kind=c.kind,
                            actor=actor,
                            incident=incident,
                            at=at,
                            text=c.text,
                            data=c.data,
                        )
                    )
        except IntegrityError:
            raise RegistryError(
                f"Another Vigil process recorded a change to {model} at the same moment; "
                f"{self.target.label} may already show this one. Vigil's record kept the other "
                f"change: look at `vigil model history {model}` before moving it again."
            ) from None


def _kind(changes: list[rules.Change]) -> str:
    """The move's name: what the last entry that moved traffic did."""
    for c in reversed(changes):
        if c.kind not in ("registered", "paused"):
            return MOVE_KINDS.get(c.kind, c.kind)
    return MOVE_KINDS.get(changes[-1].kind, "move") if changes else "move"
