"""The judge's reasons in words, for someone reading them at 2 a.m.

Each line names the metric, both versions' numbers, how much data it rests on, the
allowance, the always-valid p-value, the verdict and what to do about it:
"accuracy 0.91 vs 0.94 on 812 labelled canary rows: 3.0 points worse, past the 1-point
allowance (always-valid p=0.004) → FAIL: roll back v7"; "accuracy 0.94 vs 0.94 on 2,400
labelled canary rows: 0.1 points worse, proven within the 1-point allowance (always-valid
p=0.01) → PASS"; "… within the 1-point allowance → INCONCLUSIVE: not yet proven within the
allowance (…): hold at 5 % and keep looking".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.rollout.observations import Verdict

ARROW = "→"


@dataclass(frozen=True)
class Case:
    """What every reason needs: the verdict, the canary's name, each test's p-value and level
    (fail, then pass), and where the rollout holds ("at 5 %", or "at this step")."""

    verdict: Verdict
    canary: str
    p_value: float
    level: float
    pass_p: float = float("nan")
    pass_level: float = 0.0
    where: str = "at this step"


def p_text(p: float) -> str:
    return "always-valid p<0.001" if p < 0.001 else f"always-valid p={p:.2g}"


def action(case: Case, wait: str) -> str:
    """The verdict and what to do about it."""
    if case.verdict is Verdict.FAIL:
        return f"{ARROW} FAIL: roll back {case.canary}"
    if case.verdict is Verdict.MARGINAL:
        return (
            f"{ARROW} MARGINAL: hold {case.where} and look again "
            f"(not proven yet: {p_text(case.p_value)}, fails at {case.level:.2g})"
        )
    if case.verdict is Verdict.INCONCLUSIVE and wait:
        return f"{ARROW} INCONCLUSIVE: {wait}; hold {case.where}, nothing is judged yet"
    if case.verdict is Verdict.INCONCLUSIVE:
        proof = "" if math.isnan(case.pass_p) else f"{p_text(case.pass_p)}, "
        return (
            f"{ARROW} INCONCLUSIVE: not yet proven within the allowance "
            f"({proof}passes at {case.pass_level:.2g}): hold {case.where} and keep looking"
        )
    return f"{ARROW} PASS"


def within(case: Case) -> str:
    """How a metric inside its allowance stands: "proven within" (PASS) or not yet."""
    if case.verdict is Verdict.PASS:
        return f"proven within it ({p_text(case.pass_p)})"
    return "within it"


def proof(case: Case) -> str:
    """The p-value that settled a metric, for the lines that do not say it otherwise."""
    if case.verdict is Verdict.FAIL:
        return f" ({p_text(case.p_value)})"
    if case.verdict is Verdict.PASS and not math.isnan(case.pass_p):
        return f", proven within the allowance ({p_text(case.pass_p)})"
    return ""


def where(share: float | None) -> str:
    """Where the rollout holds: "at 5 %" when the caller said, else "at this step"."""
    return "at this step" if share is None else f"at {share * 100:g} %"


def points(value: float) -> str:
    """A fraction as percentage points: 0.03 → "3.0 points"."""
    return f"{abs(value) * 100:.1f} point{'' if abs(value) * 100 == 1 else 's'}"


def allowance_words(value: float) -> str:
    return f"{value * 100:g}-point allowance"


def worse(gap: float, allowance: float, case: Case, more: str, less: str) -> str:
    """ "3.0 points worse, past the 1-point allowance (p) " and its kin."""
    direction = more if gap > 0 else less
    size = f"{points(gap)} {direction}" if round(abs(gap) * 100, 1) else "no difference"
    if case.verdict is Verdict.FAIL:
        return f"{size}, past the {allowance_words(allowance)} ({p_text(case.p_value)})"
    if case.verdict is Verdict.MARGINAL:
        return f"{size}, past the {allowance_words(allowance)}"
    if case.verdict is Verdict.PASS:
        return f"{size}, proven within the {allowance_words(allowance)} ({p_text(case.pass_p)})"
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
    """The overall verdict: any FAIL, else any MARGINAL (something looks worse than allowed),
    else any INCONCLUSIVE (something not proven yet), else PASS (every metric proven)."""
    for v in (Verdict.FAIL, Verdict.MARGINAL, Verdict.INCONCLUSIVE):
        if v in verdicts:
            return v
    return Verdict.PASS if verdicts else Verdict.INCONCLUSIVE


def summary(
    verdict: Verdict,
    score: int | None,
    names: tuple[str, str],
    n: int,
    where: str,
    waiting: bool,
    settled: int,
) -> str:
    """One line for the thread: the verdict, the score and what the rollout should do.
    ``names``: (stable, canary); ``waiting``: no metric has its minimum sample yet;
    ``settled``: the metrics the score is over (proven either way, or MARGINAL)."""
    stable, canary = names
    scored = "no score yet" if score is None else f"score {score}/100"
    if score is not None and settled < n:
        scored += f" on the {settled} of {n} metrics settled"
    todo = {
        Verdict.PASS: "safe to step up: proven within every allowance",
        Verdict.MARGINAL: f"hold {where}: looks worse than allowed, not proven",
        Verdict.FAIL: f"roll back {canary}",
        Verdict.INCONCLUSIVE: f"not proven within every allowance yet: hold {where}",
    }[verdict]
    if verdict is Verdict.INCONCLUSIVE and waiting:
        todo = "not enough data yet: keep this step and wait"
    if n == 0:
        todo = "nothing to compare: no metric has data for both versions"
    return f"{canary} vs {stable}: {verdict.value.upper()} ({scored}): {todo}"
