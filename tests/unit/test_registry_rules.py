"""The registry's promises, checked on the in-memory adapter (same rules as the built-in one).

Rollback must go to the last known good version, refuse without changing anything when
there is none, and keep "one stable; stable + canaries = 100 %" after every change.
"""

from __future__ import annotations

import pytest

from bot.core.errors import NotFoundError, ValidationError
from bot.registry.base import RegistryError
from bot.registry.fake import InMemoryRegistry
from bot.registry.rules import invariant_problems
from tests.support import FakeClock

M = "fraud-scorer"


@pytest.fixture
def reg(clock: FakeClock) -> InMemoryRegistry:
    return InMemoryRegistry(clock)


async def stages(reg: InMemoryRegistry) -> dict[str, tuple[str, int]]:
    versions = await reg.versions(M)
    assert invariant_problems(versions) == []
    return {v.version: (v.stage, v.traffic_percent) for v in versions}


async def promoted(reg: InMemoryRegistry, *versions: str) -> None:
    for v in versions:
        await reg.register(M, v, actor="@ci")
        await reg.promote(M, v, actor="@ci")


async def test_first_promotion_serves_everything_and_shadows_get_nothing(
    reg: InMemoryRegistry,
) -> None:
    await reg.register(M, "v1", actor="@ci")
    assert await reg.stable(M) is None
    await reg.promote(M, "v1", actor="@ci")
    await reg.register(M, "v2", actor="@ci")
    assert await stages(reg) == {"v1": ("stable", 100), "v2": ("shadow", 0)}


async def test_canary_takes_its_share_from_the_stable_and_promotion_takes_the_rest(
    reg: InMemoryRegistry,
) -> None:
    await promoted(reg, "v1")
    await reg.register(M, "v2", stage="canary", traffic=10, actor="@ci")
    await reg.register(M, "v3", actor="@ci")
    await reg.set_canary(M, "v3", 5)
    assert await stages(reg) == {"v1": ("stable", 85), "v2": ("canary", 10), "v3": ("canary", 5)}
    await reg.promote(M, "v2", actor="@ci")
    assert await stages(reg) == {"v1": ("shadow", 0), "v2": ("stable", 95), "v3": ("canary", 5)}
    await reg.set_canary(M, "v3", 0)
    assert await stages(reg) == {"v1": ("shadow", 0), "v2": ("stable", 100), "v3": ("shadow", 0)}


@pytest.mark.parametrize(
    ("version", "percent", "error", "words"),
    [
        ("v1", 10, RegistryError, "is the stable version"),
        ("v2", 100, ValidationError, "1-99 %"),
        ("v2", -1, ValidationError, "1-99 %"),
        ("v3", 95, RegistryError, "must keep at least 1 %"),
    ],
)
async def test_impossible_canaries_are_refused_and_change_nothing(
    reg: InMemoryRegistry, version: str, percent: int, error: type[Exception], words: str
) -> None:
    await promoted(reg, "v1")
    await reg.register(M, "v2", stage="canary", traffic=10, actor="@ci")
    await reg.register(M, "v3", actor="@ci")
    before = await stages(reg)
    with pytest.raises(error, match=words):
        await reg.set_canary(M, version, percent)
    assert await stages(reg) == before


async def test_rollback_goes_to_the_last_known_good_not_the_previous_row(
    reg: InMemoryRegistry,
) -> None:
    await promoted(reg, "v1", "v2", "v3")
    await reg.register(M, "v4", stage="canary", traffic=10, actor="@ci")
    first = await reg.rollback(M, actor="@alice")
    assert (first.from_version, first.to_version, first.paused) == ("v3", "v2", ("v4",))
    assert "v2 replaced v3" in first.explanation
    assert "last known good" in first.explanation
    assert await stages(reg) == {
        "v1": ("shadow", 0),
        "v2": ("stable", 100),
        "v3": ("shadow", 0),
        "v4": ("shadow", 0),
    }
    second = await reg.rollback(M, actor="@alice")
    assert (second.from_version, second.to_version) == ("v2", "v1")
    # v2 and v3 were rolled back from: nothing good is left before v1
    with pytest.raises(RegistryError, match="No earlier stable version of fraud-scorer"):
        await reg.rollback(M, actor="@alice")


async def test_rollback_after_a_repromotion_returns_to_the_version_stable_before_it(
    reg: InMemoryRegistry,
) -> None:
    await promoted(reg, "v1", "v2")
    await reg.promote(M, "v1", actor="@bob")  # v1 again, after v2
    result = await reg.rollback(M, actor="@alice")
    assert (result.from_version, result.to_version) == ("v1", "v2")


async def test_rollback_with_only_one_version_says_so_and_changes_nothing(
    reg: InMemoryRegistry,
) -> None:
    await promoted(reg, "v3")
    before = (await stages(reg), await reg.history(M))
    with pytest.raises(RegistryError) as err:
        await reg.rollback(M, actor="@alice")
    assert (
        str(err.value)
        == "No earlier stable version of fraud-scorer to roll back to; it has only v3."
    )
    assert (await stages(reg), await reg.history(M)) == before


async def test_rollback_names_the_other_versions_when_none_was_ever_stable(
    reg: InMemoryRegistry,
) -> None:
    await promoted(reg, "v3")
    await reg.register(M, "v4", stage="canary", traffic=10, actor="@ci")
    with pytest.raises(RegistryError, match=r"v3 is the only version ever promoted \(v4 \(canary"):
        await reg.rollback(M, actor="@alice")


async def test_dry_run_rollback_says_what_would_happen_and_changes_nothing(
    reg: InMemoryRegistry,
) -> None:
    await promoted(reg, "v1", "v2", "v3")
    before = (await stages(reg), len(await reg.history(M)))
    plan = await reg.rollback(M, actor="@alice", dry_run=True)
    assert "would replace v3 with v2" in plan.explanation
    assert plan.dry_run
    assert (await stages(reg), len(await reg.history(M))) == before


async def test_rollback_to_an_explicit_version_and_refusals(reg: InMemoryRegistry) -> None:
    await promoted(reg, "v1", "v2", "v3")
    await reg.retire(M, "v1", actor="@ci")
    with pytest.raises(RegistryError, match="v1 is retired"):
        await reg.rollback(M, "v1", actor="@alice")
    with pytest.raises(RegistryError, match="v3 is already the stable version"):
        await reg.rollback(M, "v3", actor="@alice")
    with pytest.raises(NotFoundError, match=r"no version 'v9'. Its versions: v1, v2, v3"):
        await reg.rollback(M, "v9", actor="@alice")
    assert (await reg.rollback(M, "v2", actor="@alice")).to_version == "v2"


async def test_pin_traffic_sends_everything_to_one_version_and_pauses_canaries(
    reg: InMemoryRegistry,
) -> None:
    await promoted(reg, "v1", "v2")
    await reg.register(M, "v3", stage="canary", traffic=20, actor="@ci")
    pinned = await reg.pin_traffic(M, "v2", actor="@alice")  # the stable: canaries stop
    assert (pinned.from_version, pinned.to_version, pinned.paused) == ("v2", "v2", ("v3",))
    assert await stages(reg) == {"v1": ("shadow", 0), "v2": ("stable", 100), "v3": ("shadow", 0)}
    pinned = await reg.pin_traffic(M, "v1", actor="@alice")
    assert (pinned.from_version, pinned.to_version) == ("v2", "v1")
    assert (await stages(reg))["v1"] == ("stable", 100)


async def test_retire_refuses_the_stable_and_gives_a_canarys_traffic_back(
    reg: InMemoryRegistry,
) -> None:
    await promoted(reg, "v1")
    await reg.register(M, "v2", stage="canary", traffic=10, actor="@ci")
    with pytest.raises(RegistryError, match="v1 is the stable version"):
        await reg.retire(M, "v1")
    await reg.retire(M, "v2", actor="@ci")
    assert await stages(reg) == {"v1": ("stable", 100), "v2": ("retired", 0)}
    with pytest.raises(RegistryError, match="retired"):
        await reg.promote(M, "v2", actor="@ci")


async def test_unknown_model_lists_the_known_ones(reg: InMemoryRegistry) -> None:
    await promoted(reg, "v1")
    with pytest.raises(NotFoundError, match=r"no model 'fraud'\. Known models: fraud-scorer\."):
        await reg.versions("fraud")
    with pytest.raises(NotFoundError, match="Known models"):
        await reg.rollback("fraud", actor="@alice")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"version": "v 1"}, ValidationError),
        ({"version": ""}, ValidationError),
        ({"version": "v1"}, RegistryError),  # a duplicate
        ({"version": "v2", "stage": "retired"}, ValidationError),
        ({"version": "v2", "traffic": 10}, ValidationError),  # shadow with traffic
        ({"version": "v2", "stage": "canary", "traffic": 0}, ValidationError),
    ],
)
async def test_bad_registrations_are_refused_and_add_nothing(
    reg: InMemoryRegistry, kwargs: dict[str, object], error: type[Exception]
) -> None:
    await promoted(reg, "v1")
    before = await stages(reg)
    with pytest.raises(error):
        await reg.register(M, actor="@ci", **kwargs)  # type: ignore[arg-type]
    assert await stages(reg) == before


async def test_history_says_who_changed_what(reg: InMemoryRegistry) -> None:
    await promoted(reg, "v1", "v2")
    await reg.rollback(M, actor="@alice")
    events = [(e.version, e.kind, e.actor) for e in await reg.history(M)]
    assert events == [
        ("v1", "registered", "@ci"),
        ("v1", "promoted", "@ci"),
        ("v2", "registered", "@ci"),
        ("v2", "promoted", "@ci"),
        ("v1", "rollback", "@alice"),
    ]
