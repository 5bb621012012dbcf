"""The rollout's step logic and its words (pure): step up on PASS only, hold on MARGINAL or
INCONCLUSIVE, abort on FAIL, promote after the last share; A/B never steps; a look that
holds with the verdict of the look before says nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.errors import ValidationError
from bot.rollout.steps import Action, Decision, decide, parse_steps
from bot.rollout.story import RolloutState, headline, look_line, worth_saying

STEPS = (5, 10, 25, 50, 100)


def test_pass_steps_up_to_the_next_share_and_promotes_after_the_last() -> None:
    assert decide("pass", STEPS, 0) == Decision(Action.STEP_UP, 1, 10)
    assert decide("pass", STEPS, 2) == Decision(Action.STEP_UP, 3, 50)
    assert decide("pass", STEPS, 3) == Decision(Action.PROMOTE, 3, 100)
    # Without a trailing 100 the last share still ends in a promotion.
    assert decide("pass", (5, 20), 1) == Decision(Action.PROMOTE, 1, 100)


@pytest.mark.parametrize("verdict", ["marginal", "inconclusive"])
def test_marginal_and_inconclusive_hold_where_the_rollout_is(verdict: str) -> None:
    assert decide(verdict, STEPS, 1) == Decision(Action.HOLD, 1, 10)


def test_fail_aborts_at_any_step() -> None:
    for step in range(4):
        assert decide("fail", STEPS, step) == Decision(Action.ABORT, step, 0)


def test_ab_holds_its_share_on_pass_and_stops_on_fail() -> None:
    assert decide("pass", (50,), 0, mode="ab") == Decision(Action.HOLD, 0, 50)
    assert decide("fail", (50,), 0, mode="ab").action is Action.ABORT


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("10,5", "must rise"),
        ("0,10", "1-100"),
        ("100", "below 100"),
        ("5,x", "percentages separated by commas"),
        ("5,150", "1-100"),
    ],
)
def test_bad_steps_are_refused_naming_the_field(text: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why) as caught:
        parse_steps(text)
    assert caught.value.field == "steps"


def test_steps_read_as_typed() -> None:
    assert parse_steps("5, 10,25 ,50,100") == STEPS
    assert parse_steps("5%,50%") == (5, 50)


def test_a_hold_is_news_only_when_the_verdict_changed() -> None:
    hold = Decision(Action.HOLD, 1, 10)
    assert not worth_saying("inconclusive", hold, "inconclusive")
    assert worth_saying("inconclusive", hold, "marginal")
    assert worth_saying(None, hold, "inconclusive")
    assert worth_saying("pass", Decision(Action.STEP_UP, 2, 25), "pass")


def state(**kw: object) -> RolloutState:
    base: dict[str, object] = {
        "id": 3,
        "model": "fraud-scorer",
        "version": "v8",
        "baseline": "v7",
        "mode": "canary",
        "steps": STEPS,
        "step": 1,
        "percent": 10,
        "state": "running",
        "every": timedelta(minutes=10),
        "started_at": datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
        "actor": "@maya",
    }
    base.update(kw)
    return RolloutState(**base)  # type: ignore[arg-type]


def test_the_lines_a_tired_person_reads() -> None:
    at = datetime(2026, 12, 1, 14, 20, tzinfo=UTC)
    up = look_line(state(), Decision(Action.STEP_UP, 2, 25), "pass", 100, [], next_look=at)
    assert (
        up
        == "fraud-scorer v8 canary at 10 %: PASS (score 100) — stepped up to 25 %; next look 14:20Z"
    )
    failed = look_line(
        state(),
        Decision(Action.ABORT, 1, 0),
        "fail",
        0,
        ["accuracy 0.91 vs 0.94 on 812 labelled canary rows: … → FAIL: roll back v8"],
        next_look=None,
        incident_id=12,
    )
    assert failed == (
        "fraud-scorer v8 canary FAILED at 10 %: accuracy 0.91 vs 0.94 on 812 labelled canary "
        "rows: … → FAIL: roll back v8 → rolled back to v7, incident #12 opened"
    )
    assert headline(state(verdict="pass", score=100, next_look_at=at)) == (
        "🚦 fraud-scorer v8 canary at 10 % (step 2 of 4): last look PASS (score 100); "
        "next look 14:20Z"
    )
    assert headline(state(state="failed", incident_id=12)) == (
        "❌ fraud-scorer v8 canary FAILED at 10 % → rolled back to v7, incident #12"
    )
