"""``InMemoryRegistry``: the registry Protocol in memory, for tests and ``vigil demo``.

It applies the same ``bot.registry.rules`` as the built-in registry, so a test that passes
against the fake describes the real behaviour. A refused change leaves the state exactly as
it was (each change works on a copy that replaces the original only on success).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from bot.core.clock import Clock, utcnow
from bot.registry import rules
from bot.registry.base import RegistryEvent, RollbackResult, Stage, VersionInfo

T = TypeVar("T")


@dataclass
class _Row:
    model: str
    version: str
    stage: str
    traffic_percent: int
    created_at: datetime
    promoted_at: datetime | None = None
    promotion_seq: int | None = None
    rolled_back_at: datetime | None = None
    notes: str = ""


class InMemoryRegistry:
    """``ModelRegistry`` kept in a dict; ``calls`` lists the changing calls, for assertions."""

    def __init__(self, clock: Clock = utcnow) -> None:
        self._clock = clock
        self._rows: dict[str, list[_Row]] = {}
        self._events: list[RegistryEvent] = []
        self.calls: list[tuple[str, str, str | None]] = []

    async def models(self) -> list[str]:
        return sorted(self._rows)

    async def versions(self, model: str) -> list[VersionInfo]:
        return [rules.info(r) for r in self._model(model)]

    async def stable(self, model: str) -> VersionInfo | None:
        row = rules.stable_of(self._model(model))
        return rules.info(row) if row else None

    async def history(self, model: str) -> list[RegistryEvent]:
        self._model(model)
        return [e for e in self._events if e.model == model]

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

        def edit(rows: list[_Row], now: datetime) -> tuple[_Row, list[rules.Change]]:
            rules.check_new(rows, model, version, stage, traffic)
            row = _Row(model, version, "shadow", 0, now, notes=notes)
            rows.append(row)
            return row, rules.registered(rows, row, stage, traffic, now, notes)

        return rules.info(self._edit("register", model, version, edit, actor, new_ok=True))

    async def promote(self, model: str, version: str, *, actor: str) -> VersionInfo:
        def edit(rows: list[_Row], now: datetime) -> tuple[_Row, list[rules.Change]]:
            row = rules.find(rows, model, version)
            return row, rules.promote(rows, row, now)

        return rules.info(self._edit("promote", model, version, edit, actor))

    async def set_canary(
        self,
        model: str,
        version: str,
        percent: int,
        *,
        actor: str = "vigil",
        incident: int | None = None,
    ) -> VersionInfo:
        def edit(rows: list[_Row], _now: datetime) -> tuple[_Row, list[rules.Change]]:
            row = rules.find(rows, model, version)
            return row, rules.set_canary(rows, row, percent)

        return rules.info(self._edit("set_canary", model, version, edit, actor))

    async def rollback(
        self,
        model: str,
        to_version: str | None = None,
        *,
        actor: str,
        dry_run: bool = False,
        incident: int | None = None,
    ) -> RollbackResult:
        return self._switch(model, to_version, "rollback", actor=actor, dry_run=dry_run)

    async def pin_traffic(
        self,
        model: str,
        version: str,
        *,
        actor: str,
        dry_run: bool = False,
        incident: int | None = None,
    ) -> RollbackResult:
        return self._switch(model, version, "pin", actor=actor, dry_run=dry_run)

    async def retire(self, model: str, version: str, *, actor: str = "vigil") -> VersionInfo:
        def edit(rows: list[_Row], _now: datetime) -> tuple[_Row, list[rules.Change]]:
            row = rules.find(rows, model, version)
            return row, rules.retire(rows, row)

        return rules.info(self._edit("retire", model, version, edit, actor))

    def _switch(
        self, model: str, version: str | None, kind: rules.SwitchKind, *, actor: str, dry_run: bool
    ) -> RollbackResult:
        if dry_run:
            return rules.plan_switch(self._model(model), model, version, kind=kind, dry_run=True)

        def edit(rows: list[_Row], now: datetime) -> tuple[RollbackResult, list[rules.Change]]:
            plan = rules.plan_switch(rows, model, version, kind=kind, dry_run=False)
            return plan, rules.apply_switch(rows, plan, now, kind=kind)

        return self._edit(kind, model, version, edit, actor)

    def _model(self, model: str) -> list[_Row]:
        if model not in self._rows:
            raise rules.unknown_model(model, sorted(self._rows))
        return self._rows[model]

    def _edit(
        self,
        call: str,
        model: str,
        version: str | None,
        edit: Callable[[list[_Row], datetime], tuple[T, list[rules.Change]]],
        actor: str,
        *,
        new_ok: bool = False,
    ) -> T:
        """Apply ``edit`` to a copy of the model's rows; keep the copy only if it succeeds."""
        rows = copy.deepcopy(self._rows.get(model, []) if new_ok else self._model(model))
        now = self._clock()
        result, changes = edit(rows, now)
        self._rows[model] = rows
        self._events += [
            RegistryEvent(now, model, c.version, c.kind, actor, c.text, c.data) for c in changes
        ]
        self.calls.append((call, model, version))
        return result
