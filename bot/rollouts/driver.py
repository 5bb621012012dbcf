"""One look at a running rollout, every interval: judge, act, record, say.

Each look reads both versions' evidence **since the rollout began** (never since the last
step: the judge's bounds hold over every look only on cumulative counts), asks the judge,
and lets :func:`bot.rollout.steps.decide` say what to do: PASS steps the canary up (or
promotes it after the last share), MARGINAL and INCONCLUSIVE hold, FAIL aborts: the canary
goes back to 0 % (the stable version serves everything again) and an incident is opened
with the judge's reasons, which pages as any incident does.

Durable: the next look is a timer (:data:`LOOK`) written in the same transaction as the
look's record, so a restart resumes the rollout where it stood. The registry is moved
before the record is written: a look killed in between runs again and makes the same,
idempotent move. Lines for chat that a short-lived process (``vigil model canary``) cannot
post itself go through a timer of their own (:data:`SAY`), posted by the running bot.

The evidence is the model monitor's minute ledger, stored every 15 s and at stop
(``ModelQualityService.summaries``), so a restart keeps it. It is read from the start of
the minute the rollout began: the stable version's rows of that minute before the start
join its baseline, which is harmless, and none of the canary's first rows are lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.core.clock import Clock
from bot.core.errors import NotFoundError
from bot.incidents.service import IncidentService
from bot.quality.compare.ledger import VersionSummary
from bot.registry.base import ModelRegistry
from bot.rollout.arms import arm_of
from bot.rollout.judge import judge
from bot.rollout.observations import Judgement, JudgeSettings
from bot.rollout.settings import RolloutSettings
from bot.rollout.steps import Action, Decision, Mode, decide
from bot.rollout.story import FAILED, PROMOTED, RUNNING, RolloutState, look_line, worth_saying
from bot.rollouts.chat import RolloutChat
from bot.rollouts.store import RolloutStore, state_of
from bot.rollouts.tables import Rollout, RolloutLook
from bot.store.db import Database
from bot.store.timers import Timers

log = logging.getLogger(__name__)

LOOK = "rollout-look"
SAY = "rollout-say"
ACTOR = "vigil"

Summaries = Callable[[str, datetime], Awaitable[Mapping[str, VersionSummary]]]
"""Every version of a model since a moment: ``ModelQualityService.summaries``."""


def look_key(rollout_id: int) -> str:
    return f"rollout:{rollout_id}:look"


def say_key(rollout_id: int, what: str) -> str:
    return f"rollout:{rollout_id}:say:{what}"


class RolloutDriver:
    """Registers the two timer kinds; build it before ``Timers.start``."""

    def __init__(
        self,
        db: Database,
        store: RolloutStore,
        registry: ModelRegistry,
        timers: Timers,
        incidents: IncidentService,
        chat: RolloutChat,
        summaries: Summaries,
        settings: RolloutSettings,
        *,
        clock: Clock,
    ) -> None:
        self._db = db
        self._store = store
        self._registry = registry
        self._timers = timers
        self._incidents = incidents
        self._chat = chat
        self._summaries = summaries
        self.settings = settings
        self.judge_settings = JudgeSettings(**dict(settings.judge))
        self._clock = clock
        timers.register(LOOK, self._on_look)
        timers.register(SAY, self._on_say)

    async def _on_look(self, payload: dict[str, Any]) -> None:
        await self.look(int(payload["rollout"]))

    async def _on_say(self, payload: dict[str, Any]) -> None:
        row = await self._store.get(int(payload["rollout"]))
        if row is not None:
            await self._chat.say(state_of(row), str(payload["line"]))

    async def judgement(self, row: Rollout) -> Judgement:
        """The judge on both versions' rows since the rollout began (none yet: INCONCLUSIVE)."""
        try:
            # From the start of the minute it began: the evidence is kept by the minute,
            # and a read from the next whole minute would drop the canary's first rows.
            found = await self._summaries(
                row.model, row.started_at.replace(second=0, microsecond=0)
            )
        except NotFoundError:  # no reference stored for the model: nothing is watched yet
            found = {}
        return judge(
            arm_of(row.baseline, found.get(row.baseline)),
            arm_of(row.version, found.get(row.version)),
            self.judge_settings,
            share=row.percent / 100,
        )

    async def look(self, rollout_id: int) -> RolloutState | None:
        """Judge the rollout now and act; its state after, or None when it is not running."""
        row = await self._store.get(rollout_id)
        if row is None or row.state != RUNNING:
            return None
        before = state_of(row)
        verdict = await self.judgement(row)
        mode: Mode = "ab" if before.mode == "ab" else "canary"
        decision = decide(verdict.verdict, before.steps, row.step, mode=mode)
        await self._move(before, decision)
        shown = [m.reason for m in verdict.metrics if m.verdict == verdict.verdict]
        incident_id = None
        if decision.action is Action.ABORT:
            incident_id = await self._incident(before, verdict)
        after = await self._record(rollout_id, decision, verdict, incident_id)
        if after is None:  # stopped by a person while this look judged
            return None
        if worth_saying(before.verdict, decision, verdict.verdict):
            line = look_line(
                before,
                decision,
                verdict.verdict,
                verdict.score,
                shown or [verdict.summary],
                next_look=after.next_look_at,
                incident_id=incident_id,
            )
            await self._chat.say(after, line)
        return after

    async def _move(self, r: RolloutState, decision: Decision) -> None:
        if decision.action is Action.STEP_UP:
            await self._registry.set_canary(r.model, r.version, decision.percent, actor=ACTOR)
        elif decision.action is Action.PROMOTE:
            stable = await self._registry.stable(r.model)
            if stable is None or stable.version != r.version:  # a look run again: done already
                await self._registry.promote(r.model, r.version, actor=ACTOR)
        elif decision.action is Action.ABORT:
            await self._registry.set_canary(r.model, r.version, 0, actor=ACTOR)

    async def _incident(self, r: RolloutState, verdict: Judgement) -> int:
        view = await self._incidents.open(
            title=(
                f"{r.model} {r.version} canary failed at {r.percent} %: rolled back to {r.baseline}"
            ),
            actor=ACTOR,
            severity=self.settings.severity,
            model=r.model,
        )
        evidence = "\n".join(
            [
                f"The canary judge failed {r.version} against {r.baseline} at {r.percent} % "
                f"(rollout #{r.id}, since {r.started_at:%Y-%m-%d %H:%MZ}); {r.version} is back "
                f"at 0 %, {r.baseline} serves all traffic.",
                *verdict.lines(),
            ]
        )
        await self._incidents.note(view.id, evidence, actor=ACTOR)
        return view.id

    async def _record(
        self, rollout_id: int, decision: Decision, verdict: Judgement, incident_id: int | None
    ) -> RolloutState | None:
        now = self._clock()
        async with self._db.session() as s, s.begin():
            row = await self._store.locked(s, rollout_id)
            if row is None or row.state != RUNNING:
                return None
            s.add(
                RolloutLook(
                    rollout_id=rollout_id,
                    at=now,
                    percent=row.percent,
                    verdict=verdict.verdict.value,
                    score=verdict.score,
                    action=decision.action.value,
                    summary=verdict.summary[:1000],
                    reasons=verdict.lines(),
                )
            )
            row.verdict, row.score, row.looks = verdict.verdict.value, verdict.score, row.looks + 1
            if decision.action in (Action.ABORT, Action.PROMOTE):
                row.state = FAILED if decision.action is Action.ABORT else PROMOTED
                row.percent = row.percent if decision.action is Action.ABORT else 100
                row.active_model, row.ended_at, row.next_look_at = None, now, None
                row.incident_id = incident_id
            else:
                row.step, row.percent = decision.step, decision.percent
                row.next_look_at = now + timedelta(seconds=row.every_s)
                await self._timers.schedule_in(
                    s, LOOK, look_key(rollout_id), row.next_look_at, {"rollout": rollout_id}
                )
            s.add(row)
            return state_of(row)
