"""The rollout's step logic: which share comes next, and what a verdict does. Pure.

A canary rollout walks up a list of traffic shares (``5, 10, 25, 50, 100`` by default);
a trailing ``100`` is not a canary share (a canary never takes the whole traffic) but the
promotion: once the judge PASSes the last share below it, the canary is promoted. The
verdict of each look decides (:func:`decide`):

- FAIL: abort: the canary goes back to 0 %, an incident is opened with the evidence;
- PASS: step up to the next share, or promote after the last one;
- MARGINAL, INCONCLUSIVE: hold at this share and look again next interval.

An A/B test (``mode="ab"``) holds one share for as long as it runs: a PASS says so and
holds (promoting stays a person's call), a FAIL stops it as a canary's would.

The judge is always fed the counts since the rollout began, across steps (its error bounds
hold over every look only then); nothing here resets them at a step.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Literal

from bot.core.errors import ValidationError

DEFAULT_STEPS: tuple[int, ...] = (5, 10, 25, 50, 100)
Mode = Literal["canary", "ab"]
PASS, FAIL = "pass", "fail"  # Verdict.PASS, Verdict.FAIL as text


class Action(StrEnum):
    """What a look does: the driver's whole vocabulary."""

    STEP_UP = "step-up"
    HOLD = "hold"
    ABORT = "abort"
    PROMOTE = "promote"


@dataclass(frozen=True)
class Decision:
    """``percent``: the canary's share after the action (0 after an abort, 100 promoted)."""

    action: Action
    step: int
    percent: int


def parse_steps(
    text: str | list[int] | tuple[int, ...], *, field: str = "steps"
) -> tuple[int, ...]:
    """``"5,10,25,50,100"`` (or a list of ints) → the shares, checked: whole percentages from
    1 to 100, each above the one before, at least one below 100."""
    if isinstance(text, str):
        parts = [p.strip().rstrip("%").strip() for p in text.split(",") if p.strip()]
        if not parts or not all(p.isdigit() for p in parts):
            raise ValidationError(field, f"must be percentages separated by commas, got {text!r}")
        steps = tuple(int(p) for p in parts)
    else:
        steps = tuple(text)
        if not steps or not all(isinstance(p, int) and not isinstance(p, bool) for p in steps):
            raise ValidationError(field, "must be a list of whole percentages")
    if any(not 1 <= p <= 100 for p in steps):
        raise ValidationError(field, "every step must lie in 1-100 (100: promote)")
    if any(b <= a for a, b in pairwise(steps)):
        raise ValidationError(field, f"must rise step by step, got {', '.join(map(str, steps))}")
    if steps[0] == 100:
        raise ValidationError(field, "needs a canary share below 100 before promoting")
    return steps


def canary_shares(steps: tuple[int, ...]) -> tuple[int, ...]:
    """The shares a canary serves at (every step but a trailing 100)."""
    return tuple(p for p in steps if p < 100)


def decide(verdict: str, steps: tuple[int, ...], step: int, *, mode: Mode = "canary") -> Decision:
    """What a look with ``verdict`` (a :class:`bot.rollout.observations.Verdict`, compared as
    its text so this module loads no maths) does at ``steps[step]``; see the module docstring."""
    shares = canary_shares(steps)
    if not 0 <= step < len(shares):
        raise ValidationError("step", f"must lie in 0-{len(shares) - 1}, got {step}")
    here = shares[step]
    if verdict == FAIL:
        return Decision(Action.ABORT, step, 0)
    if verdict != PASS or mode == "ab":
        return Decision(Action.HOLD, step, here)
    if step + 1 < len(shares):
        return Decision(Action.STEP_UP, step + 1, shares[step + 1])
    return Decision(Action.PROMOTE, step, 100)
