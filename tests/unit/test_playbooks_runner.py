"""The runner: steps in order, every start and outcome recorded, failures stop or continue,
timeouts and exceptions become failed steps, and a dry run changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from bot.core.errors import ValidationError
from bot.core.resources import bundled
from bot.core.secret import Secret
from bot.playbooks.actions import ACTIONS, ActionSpec, RunContext, StepOutcome
from bot.playbooks.loader import load_playbooks, parse_playbook
from bot.playbooks.runner import PlaybookRunner, StepRecord
from bot.playbooks.schema import Playbook
from bot.registry.fake import InMemoryRegistry
from tests.support import FakeClock

M = "fraud-scorer"
NEVER = asyncio.Event()  # never set: a step awaiting it can only end by its own timeout


async def ok(ctx: RunContext, params: Mapping[str, Any]) -> StepOutcome:
    return StepOutcome(True, f"did {params['label']}", {"label": params["label"]})


async def fail(ctx: RunContext, params: Mapping[str, Any]) -> StepOutcome:
    return StepOutcome(False, f"could not {params['label']}")


async def boom(ctx: RunContext, params: Mapping[str, Any]) -> StepOutcome:
    raise KeyError(params["label"])


async def hang(ctx: RunContext, params: Mapping[str, Any]) -> StepOutcome:
    await NEVER.wait()
    return StepOutcome(True, "unreachable")


TEST_ACTIONS = {
    **ACTIONS,
    **{
        name: ActionSpec(name, fn, frozenset({"label"}))
        for name, fn in (("t.ok", ok), ("t.fail", fail), ("t.boom", boom), ("t.hang", hang))
    },
}


def playbook(*steps: tuple[str, str] | dict[str, Any]) -> Playbook:
    raw = [
        s if isinstance(s, dict) else {"name": s[1], "action": s[0], "params": {"label": s[1]}}
        for s in steps
    ]
    return parse_playbook({"steps": raw}, where="t.yaml", default_name="test", actions=TEST_ACTIONS)


class Harness:
    def __init__(self, clock: FakeClock) -> None:
        self.registry = InMemoryRegistry(clock)
        self.records: list[StepRecord] = []
        self.runner = PlaybookRunner(
            self.registry, clock=clock, record=self._record, actions=TEST_ACTIONS
        )

    async def _record(self, record: StepRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[tuple[int, str, bool | None]]:
        return [(r.position, r.phase, r.ok) for r in self.records]


@pytest.fixture
def h(clock: FakeClock) -> Harness:
    return Harness(clock)


async def test_steps_run_in_order_and_each_start_and_outcome_is_recorded(h: Harness) -> None:
    result = await h.runner.run(
        playbook(("t.ok", "a"), ("t.ok", "b")), {"incident": 7}, actor="@alice"
    )
    assert result.ok
    assert [s.message for s in result.steps] == ["did a", "did b"]
    assert h.lines() == [
        (1, "started", None),
        (1, "finished", True),
        (2, "started", None),
        (2, "finished", True),
    ]
    assert {(r.incident, r.actor, r.run_id) for r in h.records} == {(7, "@alice", result.run_id)}
    assert result.summary == "Playbook test: all 2 steps ok."


async def test_a_failed_step_stops_the_run_and_says_which_steps_did_not_run(h: Harness) -> None:
    book = playbook(("t.ok", "a"), ("t.fail", "pin traffic"), ("t.ok", "c"), ("t.ok", "d"))
    result = await h.runner.run(book, {}, actor="@alice")
    assert not result.ok
    assert result.stopped_at == 2
    assert [s.status for s in result.steps] == ["ok", "failed", "not run", "not run"]
    assert result.summary == (
        "Playbook test: step 2 'pin traffic' failed: could not pin traffic; steps 3–4 not run."  # noqa: RUF001
    )
    assert h.lines()[-1] == (2, "finished", False)


async def test_on_failure_continue_runs_the_rest_but_the_run_is_not_ok(h: Harness) -> None:
    book = playbook(
        {"name": "x", "action": "t.fail", "params": {"label": "x"}, "on_failure": "continue"},
        ("t.ok", "b"),
    )
    result = await h.runner.run(book, {}, actor="@alice")
    assert [s.status for s in result.steps] == ["failed", "ok"]
    assert not result.ok
    assert result.stopped_at is None
    assert "1 failed of 2 steps" in result.summary


async def test_a_step_past_its_timeout_fails_with_the_timeout_named(h: Harness) -> None:
    book = playbook(
        {"name": "wait", "action": "t.hang", "params": {"label": "w"}, "timeout": 0.05},
        ("t.ok", "after"),
    )
    result = await h.runner.run(book, {}, actor="@alice")
    assert result.steps[0].message == "timed out after 0.05 s"
    assert [s.status for s in result.steps] == ["failed", "not run"]
    assert result.summary.endswith("timed out after 0.05 s; step 2 not run.")


async def test_an_exception_in_an_action_is_a_failed_step_not_a_crash(h: Harness) -> None:
    result = await h.runner.run(playbook(("t.boom", "kaboom")), {}, actor="@alice")
    assert result.steps[0].status == "failed"
    assert result.steps[0].message == "t.boom failed unexpectedly (KeyError)"


async def test_a_missing_input_is_refused_before_any_step_runs(h: Harness) -> None:
    book = load_playbooks(bundled("playbooks"))["rollback"]
    with pytest.raises(ValidationError, match="needs incident, version") as err:
        await h.runner.run(book, {"model": M}, actor="@alice")
    assert "no step was run" in str(err.value)
    assert h.records == []


async def test_secrets_in_inputs_never_reach_a_message(h: Harness) -> None:
    book = playbook({"action": "incident.note", "params": {"text": "token {{ api_token }}"}})
    result = await h.runner.run(book, {"api_token": Secret("s3cr3t")}, actor="@alice")
    assert result.steps[0].message == "token ********"
    assert all("s3cr3t" not in r.message for r in h.records)


async def registry_with(h: Harness, *versions: str) -> None:
    for v in versions:
        await h.registry.register(M, v, actor="@ci")
        await h.registry.promote(M, v, actor="@ci")


async def test_rollback_playbook_rolls_back_and_notes_which_version_replaced_which(
    h: Harness,
) -> None:
    await registry_with(h, "v1", "v2", "v3")
    book = load_playbooks(bundled("playbooks"))["rollback"]
    result = await h.runner.run(book, {"model": M, "version": None, "incident": 7}, actor="@alice")
    assert result.ok, result.summary
    assert result.steps[0].message == "Rolling back fraud-scorer (incident #7)"
    assert "v2 replaced v3" in result.steps[2].message
    assert (await h.registry.stable(M)).version == "v2"  # type: ignore[union-attr]


async def test_rollback_playbook_with_one_version_fails_and_changes_nothing(h: Harness) -> None:
    await registry_with(h, "v3")
    book = load_playbooks(bundled("playbooks"))["rollback"]
    result = await h.runner.run(book, {"model": M, "version": None, "incident": 7}, actor="@a")
    assert result.summary == (
        "Playbook rollback: step 2 'rollback' failed: No earlier stable version of "
        "fraud-scorer to roll back to; it has only v3; step 3 not run."
    )
    assert (await h.registry.stable(M)).version == "v3"  # type: ignore[union-attr]


async def test_dry_run_reports_what_would_happen_and_changes_nothing(h: Harness) -> None:
    await registry_with(h, "v1", "v2", "v3")
    await h.registry.register(M, "v4", stage="canary", traffic=10, actor="@ci")
    calls = list(h.registry.calls)
    books = load_playbooks(bundled("playbooks"))
    inputs = {"model": M, "version": None, "incident": 7, "retrain_url": "http://127.0.0.1:9/x"}
    for name in ("rollback", "containment", "retrain"):
        result = await h.runner.run(books[name], inputs, actor="@alice", dry_run=True)
        assert result.ok, result.summary
        assert "nothing was changed" in result.summary
    rollback = await h.runner.run(books["rollback"], inputs, actor="@alice", dry_run=True)
    assert "would replace v3 with v2" in rollback.steps[1].message
    assert h.registry.calls == calls
    assert {v.version: v.stage for v in await h.registry.versions(M)}["v3"] == "stable"


async def test_containment_pins_traffic_to_the_previous_stable(h: Harness) -> None:
    await registry_with(h, "v1", "v2")
    await h.registry.register(M, "v3", stage="canary", traffic=10, actor="@ci")
    book = load_playbooks(bundled("playbooks"))["containment"]
    result = await h.runner.run(book, {"model": M, "incident": 7}, actor="@alice")
    assert result.ok, result.summary
    assert result.steps[1].message.startswith("Contained fraud-scorer for incident #7: ")
    assert result.steps[2].message.startswith("Confirm: ")
    stages = {v.version: (v.stage, v.traffic_percent) for v in await h.registry.versions(M)}
    assert stages == {"v1": ("stable", 100), "v2": ("shadow", 0), "v3": ("shadow", 0)}
