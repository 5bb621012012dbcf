"""The judge's reasons in words, for someone reading them at 2 a.m.

Each line names the metric, both versions' numbers, how much data it rests on, the
allowance, the always-valid p-value, the verdict and what to do about it:
"accuracy 0.91 vs 0.94 on 812 labelled canary rows: 3.0 points worse, past the 1-point
allowance (always-valid p=0.004) → FAIL: roll back v7".
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.rollout.observations import Verdict

ARROW = "→"


@dataclass(frozen=True)
class Case:
    """What every reason needs: the verdict, the canary's name and the test's level."""

    verdict: Verdict
    canary: str
    p_value: float
    level: float


def p_text(p: float) -> str:
    return "always-valid p<0.001" if p < 0.001 else f"always-valid p={p:.2g}"


def action(case: Case, wait: str) -> str:
    """The verdict and what to do about it."""
    if case.verdict is Verdict.FAIL:
        return f"{ARROW} FAIL: roll back {case.canary}"
    if case.verdict is Verdict.MARGINAL:
        return (
            f"{ARROW} MARGINAL: hold at this step and look again "
            f"(not proven yet: {p_text(case.p_value)}, fails at {case.level:.2g})"
        )
    if case.verdict is Verdict.INCONCLUSIVE:
        return f"{ARROW} INCONCLUSIVE: {wait}; nothing is judged yet"
    return f"{ARROW} PASS"


def points(value: float) -> str:
    """A fraction as percentage points: 0.03 → "3.0 points"."""
    return f"{abs(value) * 100:.1f} point{'' if abs(value) * 100 == 1 else 's'}"


def allowance_words(value: float) -> str:
    return f"{value * 100:g}-point allowance"


def worse(gap: float, allowance: float, case: Case, more: str, less: str) -> str:
    """ "3.0 points worse, past the 1-point allowance (p) " and its kin."""
    direction = more if gap > 0 else less
    size = f"{points(gap)} {direction}" if gap != 0 else "no difference"
    if case.verdict is Verdict.FAIL:
        return f"{size}, past the {allowance_words(allowance)} ({p_text(case.p_value)})"
    if case.verdict is Verdict.MARGINAL:
        return f"{size}, past the {allowance_words(allowance)}"
    return f"{size}, within the {allowance_words(allowance)}"


def ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def slower(canary: float, stable: float) -> str:
    change = canary / stable - 1 if stable > 0 else 0.0
    word = "slower" if change >= 0 else "faster"
    return f"{abs(change) * 100:.0f} % {word}"


def wait_rows(have: float, need: float, what: str, version: str) -> str:
    return f"only {have:,.0f} {what} of {version} so far, {need:,.0f} needed"


def verdict_order(verdicts: list[Verdict]) -> Verdict:
    """The overall verdict: any FAIL, else any INCONCLUSIVE, else any MARGINAL, else PASS."""
    for v in (Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.MARGINAL):
        if v in verdicts:
            return v
    return Verdict.PASS if verdicts else Verdict.INCONCLUSIVE


def summary(verdict: Verdict, score: int | None, stable: str, canary: str, n: int) -> str:
    """One line for the thread: the verdict, the score and what the rollout should do."""
    scored = "no score yet" if score is None else f"score {score}/100"
    todo = {
        Verdict.PASS: "safe to step up",
        Verdict.MARGINAL: "hold at this step",
        Verdict.FAIL: f"roll back {canary}",
        Verdict.INCONCLUSIVE: "not enough data yet: keep this step and wait",
    }[verdict]
    if n == 0:
        todo = "nothing to compare: no metric has data for both versions"
    return f"{canary} vs {stable}: {verdict.value.upper()} ({scored}): {todo}"
