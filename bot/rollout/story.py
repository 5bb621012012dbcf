"""What a rollout says in chat, for a tired person. Pure.

One message per rollout, edited in place (:func:`headline`: where it stands now), and a line
in its thread for each thing that happened (:func:`started_line`, :func:`look_line`,
:func:`aborted_line`): "fraud-scorer v8 canary at 10 %: PASS (score 100) — stepped up to
25 %; next look 14:20Z"; "fraud-scorer v8 canary FAILED at 10 %: accuracy 0.91 vs 0.94 …
→ rolled back to v7, incident #12 opened". A look that holds with the same verdict as the
one before says nothing (:func:`worth_saying`): no message at every interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.durations import interval_words
from bot.rollout.steps import Action, Decision, canary_shares

RUNNING, PROMOTED, ABORTED, FAILED = "running", "promoted", "aborted", "failed"


@dataclass(frozen=True)
class RolloutState:
    """A rollout as chat and the answers show it (a snapshot of its row). ``percent``: the
    canary's share now, or where it was when the rollout ended (failed at 10 %)."""

    id: int
    model: str
    version: str
    baseline: str
    mode: str
    steps: tuple[int, ...]
    step: int
    percent: int
    state: str
    every: timedelta
    started_at: datetime
    actor: str
    verdict: str | None = None
    score: int | None = None
    looks: int = 0
    incident_id: int | None = None
    next_look_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def key(self) -> str:
        """The stable key of its chat message (one per rollout)."""
        return f"rollout:{self.id}"

    @property
    def what(self) -> str:
        """ "fraud-scorer v8 canary" or "fraud-scorer A/B v7 vs v8"."""
        if self.mode == "ab":
            return f"{self.model} A/B {self.baseline} vs {self.version}"
        return f"{self.model} {self.version} canary"


def clock_z(at: datetime) -> str:
    """``14:20Z``: a time of today, as people on call read it."""
    return at.strftime("%H:%MZ")


def plan_words(steps: tuple[int, ...], mode: str) -> str:
    """``5 → 10 → 25 → 50 % → promote`` (a canary) or ``50 % held`` (A/B)."""
    shares = canary_shares(steps)
    if mode == "ab":
        return f"{shares[0]} % held, no stepping up"
    return " → ".join(str(p) for p in shares) + " % → promote"


def _verdict(verdict: str | None, score: int | None) -> str:
    if verdict is None:
        return "no look yet"
    return f"{verdict.upper()} (score {score if score is not None else 'none yet'})"


def headline(r: RolloutState) -> str:
    """The rollout's one message: where it stands now."""
    if r.state == PROMOTED:
        when = clock_z(r.ended_at) if r.ended_at else ""
        return f"✅ {r.model} {r.version} promoted to stable {when}; {r.baseline} stays deployable"
    if r.state == FAILED:
        incident = f", incident #{r.incident_id}" if r.incident_id else ""
        return f"❌ {r.what} FAILED at {r.percent} % → rolled back to {r.baseline}{incident}"
    if r.state == ABORTED:
        return f"⏹️ {r.what} stopped at {r.percent} %; {r.baseline} serves 100 %"
    shares = canary_shares(r.steps)
    where = (
        f"at {r.percent} %"
        if r.mode == "ab"
        else f"at {r.percent} % (step {r.step + 1} of {len(shares)})"
    )
    nxt = f"; next look {clock_z(r.next_look_at)}" if r.next_look_at else ""
    return f"🚦 {r.what} {where}: last look {_verdict(r.verdict, r.score)}{nxt}"


def started_line(r: RolloutState) -> str:
    nxt = f"; first look {clock_z(r.next_look_at)}" if r.next_look_at else ""
    return (
        f"{r.what} started by {r.actor} at {r.percent} % against {r.baseline} "
        f"({plan_words(r.steps, r.mode)}; a look every {interval_words(r.every)}){nxt}"
    )


def worth_saying(previous: str | None, decision: Decision, verdict: str) -> bool:
    """A hold with the verdict of the look before is not news; everything else is."""
    return decision.action is not Action.HOLD or verdict != previous


def look_line(
    r: RolloutState,
    decision: Decision,
    verdict: str,
    score: int | None,
    reasons: list[str],
    *,
    next_look: datetime | None,
    incident_id: int | None = None,
) -> str:
    """The thread line of one look; ``r`` is the rollout before the look."""
    said = _verdict(verdict, score)
    nxt = f"; next look {clock_z(next_look)}" if next_look else ""
    if decision.action is Action.ABORT:
        opened = f", incident #{incident_id} opened" if incident_id else ""
        why = "; ".join(reasons) or "the judge failed it"
        return f"{r.what} FAILED at {r.percent} %: {why} → rolled back to {r.baseline}{opened}"
    if decision.action is Action.STEP_UP:
        return f"{r.what} at {r.percent} %: {said} — stepped up to {decision.percent} %{nxt}"
    if decision.action is Action.PROMOTE:
        return (
            f"{r.what} at {r.percent} %: {said} — promoted {r.version} to stable; "
            f"{r.baseline} stays deployable as a shadow"
        )
    if r.mode == "ab" and verdict == "pass":
        return (
            f"{r.what} at {r.percent} %: {said} — {r.version} is proven within every "
            f"allowance; holding (promote it: vigil model promote {r.model} {r.version}){nxt}"
        )
    why = f": {reasons[0]}" if reasons else ""
    return f"{r.what} at {r.percent} %: {said} — holding{why}{nxt}"


def aborted_line(r: RolloutState, actor: str) -> str:
    return f"{r.what} stopped at {r.percent} % by {actor}; {r.baseline} serves 100 % again"
