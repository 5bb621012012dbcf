"""The built-in registry on SQLite and PostgreSQL: last known good, refusals that change
nothing, containment pins, history, and two rollbacks racing each other."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.errors import NotFoundError
from bot.registry.base import RegistryError
from bot.registry.builtin import BuiltinRegistry
from bot.registry.rules import invariant_problems
from bot.store.db import Database
from tests.support import FakeClock

M = "fraud-scorer"


@pytest.fixture
def reg(db: Database, clock: FakeClock) -> BuiltinRegistry:
    return BuiltinRegistry(db, clock)


async def stages(reg: BuiltinRegistry) -> dict[str, tuple[str, int]]:
    versions = await reg.versions(M)
    assert invariant_problems(versions) == []
    return {v.version: (v.stage, v.traffic_percent) for v in versions}


async def promoted(reg: BuiltinRegistry, clock: FakeClock, *versions: str) -> None:
    for v in versions:
        await reg.register(M, v, actor="@ci", notes=f"build {v}")
        clock.advance(minutes=1)
        await reg.promote(M, v, actor="@ci")


async def test_register_promote_canary_and_rollback_to_the_last_known_good(
    reg: BuiltinRegistry, clock: FakeClock
) -> None:
    await promoted(reg, clock, "v1", "v2", "v3")
    await reg.register(M, "v4", actor="@ci")
    await reg.set_canary(M, "v4", 10, actor="@ci")
    assert await stages(reg) == {
        "v1": ("shadow", 0),
        "v2": ("shadow", 0),
        "v3": ("stable", 90),
        "v4": ("canary", 10),
    }
    stable = await reg.stable(M)
    assert stable is not None
    assert (stable.version, stable.notes, stable.promoted_at) == ("v3", "build v3", clock.now)

    first = await reg.rollback(M, actor="@alice")
    assert (first.from_version, first.to_version, first.paused) == ("v3", "v2", ("v4",))
    assert "v2 replaced v3" in first.explanation
    second = await reg.rollback(M, actor="@alice")
    assert (second.from_version, second.to_version) == ("v2", "v1")
    assert await stages(reg) == {
        "v1": ("stable", 100),
        "v2": ("shadow", 0),
        "v3": ("shadow", 0),
        "v4": ("shadow", 0),
    }


async def test_rollback_with_one_version_refuses_and_changes_nothing(
    reg: BuiltinRegistry, clock: FakeClock
) -> None:
    await promoted(reg, clock, "v3")
    before = (await reg.versions(M), await reg.history(M))
    with pytest.raises(RegistryError) as err:
        await reg.rollback(M, actor="@alice")
    assert str(err.value) == (
        "No earlier stable version of fraud-scorer to roll back to; it has only v3."
    )
    assert (await reg.versions(M), await reg.history(M)) == before


async def test_dry_run_plans_without_writing(reg: BuiltinRegistry, clock: FakeClock) -> None:
    await promoted(reg, clock, "v1", "v2")
    before = (await reg.versions(M), await reg.history(M))
    plan = await reg.rollback(M, actor="@alice", dry_run=True)
    assert "would replace v2 with v1" in plan.explanation
    assert (await reg.versions(M), await reg.history(M)) == before


async def test_pin_traffic_and_history_of_who_changed_what(
    reg: BuiltinRegistry, clock: FakeClock
) -> None:
    await promoted(reg, clock, "v1", "v2")
    await reg.register(M, "v3", stage="canary", traffic=25, actor="@ci")
    clock.advance(minutes=5)
    pinned = await reg.pin_traffic(M, "v1", actor="@bob")
    assert (pinned.from_version, pinned.to_version, pinned.paused) == ("v2", "v1", ("v3",))
    assert await stages(reg) == {"v1": ("stable", 100), "v2": ("shadow", 0), "v3": ("shadow", 0)}
    history = await reg.history(M)
    assert [(e.version, e.kind, e.actor) for e in history][-3:] == [
        ("v3", "canary", "@ci"),
        ("v3", "paused", "@bob"),
        ("v1", "pin", "@bob"),
    ]
    assert history[-1].at == clock.now
    assert history[-1].data == {"from": "v2", "to": "v1", "paused": ["v3"]}


async def test_unknown_model_and_duplicate_version(reg: BuiltinRegistry, clock: FakeClock) -> None:
    await promoted(reg, clock, "v1")
    with pytest.raises(NotFoundError, match="Known models: fraud-scorer"):
        await reg.rollback("fraud", actor="@alice")
    with pytest.raises(RegistryError, match="already registered"):
        await reg.register(M, "v1", actor="@ci")
    assert await reg.models() == [M]


async def test_two_rollbacks_at_once_each_move_back_one_step(
    reg: BuiltinRegistry, clock: FakeClock
) -> None:
    await promoted(reg, clock, "v1", "v2", "v3")
    await reg.register(M, "v4", stage="canary", traffic=10, actor="@ci")
    results = await asyncio.gather(reg.rollback(M, actor="@alice"), reg.rollback(M, actor="@bob"))
    moves = sorted((r.from_version, r.to_version) for r in results)
    assert moves == [("v2", "v1"), ("v3", "v2")]
    assert (await stages(reg))["v1"] == ("stable", 100)
    kinds = [e.kind for e in await reg.history(M)]
    assert kinds.count("rollback") == 2


async def test_concurrent_registers_of_one_version_leave_one_row(
    reg: BuiltinRegistry, clock: FakeClock
) -> None:
    await promoted(reg, clock, "v1")
    outcomes = await asyncio.gather(
        *(reg.register(M, "v2", actor=f"@ci{i}") for i in range(3)), return_exceptions=True
    )
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert all(isinstance(o, RegistryError) for o in outcomes if isinstance(o, Exception))
    assert list(await stages(reg)) == ["v1", "v2"]
