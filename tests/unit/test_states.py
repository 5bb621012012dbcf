"""The incident life cycle table: every allowed and every forbidden move, and what a refusal says.

A refusal is read by a tired person who typed the wrong subcommand, so it must name the state
the incident is in now (and, when there is one, where it can go from there).
"""

from __future__ import annotations

import itertools

import pytest

from bot.core.errors import TransitionError, VigilError
from bot.incidents.states import OPEN_STATES, STATES, check_transition, is_open

# Written out by hand from the product brief, not derived from the module under test.
ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        ("triggered", "acknowledged"),
        ("triggered", "contained"),
        ("triggered", "resolved"),
        ("acknowledged", "contained"),
        ("acknowledged", "resolved"),
        ("contained", "resolved"),
        ("resolved", "postmortem"),
    }
)
ALL_PAIRS = list(itertools.product(STATES, STATES))
FORBIDDEN = [pair for pair in ALL_PAIRS if pair not in ALLOWED]


def test_states_are_the_documented_life_cycle() -> None:
    assert STATES == ("triggered", "acknowledged", "contained", "resolved", "postmortem")
    assert OPEN_STATES == ("triggered", "acknowledged", "contained")


def test_the_tables_cover_every_pair() -> None:
    assert len(ALL_PAIRS) == 25
    assert len(ALLOWED) + len(FORBIDDEN) == 25


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_transition_passes(current: str, target: str) -> None:
    check_transition(7, current, target)  # raises if refused


@pytest.mark.parametrize(("current", "target"), FORBIDDEN)
def test_forbidden_transition_is_refused_naming_the_current_state(
    current: str, target: str
) -> None:
    with pytest.raises(TransitionError) as caught:
        check_transition(7, current, target)
    err = caught.value
    assert isinstance(err, VigilError)
    assert err.current == current
    assert not err.retryable
    assert "#7" in err.message
    if current == target:
        assert err.message == f"Incident #7 is already {current}."
    else:
        assert f"it is {current}." in err.message
        assert err.message.startswith("Cannot ")


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        (
            "resolved",
            "contained",
            "Cannot contain incident #3: it is resolved. From resolved it can go to: postmortem.",
        ),
        (
            "contained",
            "acknowledged",
            "Cannot acknowledge incident #3: it is contained. From contained it can go to: "
            "resolved.",
        ),
        (
            "acknowledged",
            "triggered",
            "Cannot move to triggered incident #3: it is acknowledged. From acknowledged it can "
            "go to: contained, resolved.",
        ),
        (
            "triggered",
            "postmortem",
            "Cannot start the post-mortem of incident #3: it is triggered. From triggered it can "
            "go to: acknowledged, contained, resolved.",
        ),
        # The end of the line: nowhere to go, so no hint.
        ("postmortem", "resolved", "Cannot resolve incident #3: it is postmortem."),
        ("resolved", "resolved", "Incident #3 is already resolved."),
        ("acknowledged", "acknowledged", "Incident #3 is already acknowledged."),
    ],
)
def test_refusal_wording_says_what_to_do_instead(current: str, target: str, message: str) -> None:
    with pytest.raises(TransitionError) as caught:
        check_transition(3, current, target)
    assert caught.value.message == message
    assert str(caught.value) == message


@pytest.mark.parametrize("target", STATES)
def test_an_unknown_current_state_allows_nothing(target: str) -> None:
    with pytest.raises(TransitionError) as caught:
        check_transition(1, "exploded", target)
    assert caught.value.current == "exploded"
    assert "it is exploded." in caught.value.message
    assert "can go to" not in caught.value.message


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("triggered", True),
        ("acknowledged", True),
        ("contained", True),
        ("resolved", False),
        ("postmortem", False),
        ("unknown", False),
    ],
)
def test_is_open(state: str, expected: bool) -> None:
    assert is_open(state) is expected
