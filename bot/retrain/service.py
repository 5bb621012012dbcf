"""``RetrainService``: decides that a model is retrained, once, and hands the run on.

Three doors lead here and share one path: the drift listener (every model-quality poll's
samples, counted into K-of-N windows), the cron schedule (``bot.retrain.cron``), and a
person's ``/incident retrain N``. A request writes the run's row and the timer that
submits it in one transaction, after the checks of ``bot.retrain.decide`` (one in flight,
the cooldown) made on what that transaction read, and for the automatic doors only, the
labels' health as the last poll saw it, judged by the label-health rules at their
threshold for the model (``decide.bad_labels``: copied or noisy labels hold drift and cron;
a person's ``/incident retrain`` is not held); the database then
refuses a second row with the same dedup key, or a second run in flight of one model (the unique
``active_model``), even from another process. ``bot.retrain.follow`` does the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from bot.core.clock import Clock
from bot.core.durations import short_duration
from bot.incidents.policy.signals import SubjectPolicy
from bot.retrain import words
from bot.retrain.config import ModelRetraining
from bot.retrain.decide import (
    HOLDING,
    DriftWindows,
    Trigger,
    bad_labels,
    dedup_key,
    drifted,
    label_refusal,
    refusal,
    stamp,
    version_name,
)
from bot.retrain.follow import SUBMIT, RunFollower, payload_key
from bot.retrain.store import RunStore
from bot.retrain.tables import RetrainRun
from bot.rules.schema import Rule
from bot.sources.base import Sample
from bot.store.db import Database
from bot.store.timers import Timers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Requested:
    """What became of a request: the run (new or the one this key already made), or why
    none starts."""

    run: RetrainRun | None
    created: bool
    refused: str | None = None


class RetrainService:
    def __init__(
        self,
        db: Database,
        store: RunStore,
        timers: Timers,
        follower: RunFollower,
        plans: Mapping[str, ModelRetraining],
        *,
        clock: Clock,
        rules: Sequence[Rule] = (),
        models: Mapping[str, SubjectPolicy] | None = None,
    ) -> None:
        """``rules`` and ``models``: the loaded alerting rules and ``models:`` settings, whose
        label-health rules say when labels hold automatic retraining (none: nothing holds)."""
        self._db = db
        self.store = store
        self._timers = timers
        self.follower = follower
        self.plans = plans
        self._clock = clock
        self._lock = asyncio.Lock()  # this process's requests one at a time
        self._windows = {
            m: DriftWindows(p.drift.window, p.drift.of, p.drift.drifted)
            for m, p in plans.items()
            if p.drift is not None
        }
        self._asked: dict[str, str] = {}  # model → the last drift key asked for (no re-ask)
        self._labels: dict[str, str] = {}  # model → why its labels hold automatic retraining
        self._label_rules = [r for r in rules if r.metric in HOLDING]
        self._models: Mapping[str, SubjectPolicy] = models or {}

    def configured(self, model: str | None) -> bool:
        return model is not None and model in self.plans

    async def request(
        self,
        model: str,
        trigger: Trigger,
        window: str,
        *,
        actor: str,
        reason: str,
        incident_id: int | None = None,
    ) -> Requested:
        """Start a run of ``model`` for (``trigger``, ``window``) unless one in flight or
        the cooldown says no; the same key again answers the run it already made."""
        plan = self.plans[model]
        key = dedup_key(model, trigger, window)
        now = self._clock()
        held = self._labels.get(model)
        if held is not None and trigger != "manual":
            return Requested(None, created=False, refused=held)
        if incident_id is None and trigger == "drift":
            incident_id = await self.store.open_incident(model)
        async with self._lock:
            try:
                made = await self._write(plan, key, trigger, now, actor, reason, incident_id)
            except IntegrityError:  # another process wrote it (or a run) first
                made = await self._lost_race(model, key)
        if made.created and made.run is not None:
            text = words.requested(model, self.follower.where(model), key, trigger, reason)
            await self.follower.post(made.run, text)
        return made

    async def _write(
        self,
        plan: ModelRetraining,
        key: str,
        trigger: Trigger,
        now: datetime,
        actor: str,
        reason: str,
        incident_id: int | None,
    ) -> Requested:
        async with self._db.session() as s, s.begin():
            same = await self.store.by_key(s, key)
            if same is not None:
                return Requested(same, created=False)
            past = await self.store.past(s, plan.model)
            why = refusal(past, now, cooldown=plan.cooldown, trigger=trigger)
            if why is not None:
                return Requested(None, created=False, refused=why)
            row = await self.store.add(
                s,
                RetrainRun(
                    model=plan.model,
                    trigger=trigger,
                    dedup_key=key,
                    active_model=plan.model,
                    orchestrator=plan.orchestration.kind,
                    incident_id=incident_id,
                    actor=actor[:200],
                    phase="pending",
                    state="pending",
                    detail=reason[:500],
                    attempts=0,
                    requested_at=now,
                ),
            )
            assert row.id is not None
            row.version = version_name(now, row.id)
            await self._timers.schedule_in(
                s, SUBMIT, payload_key(row.id, SUBMIT), now, {"run": row.id}
            )
        return Requested(row, created=True)

    async def _lost_race(self, model: str, key: str) -> Requested:
        async with self._db.read() as s, s.begin():
            same = await self.store.by_key(s, key)
        if same is not None:
            return Requested(same, created=False)
        return Requested(None, created=False, refused="another run of it started just now")

    # -- the doors ------------------------------------------------------------------------

    async def on_samples(self, samples: Sequence[Sample], now: datetime) -> None:
        """Count each configured model's drift verdict of this poll into its windows; ask
        for a run when K of the last N drifted (once per window: the key says which)."""
        by_model: dict[str, list[tuple[str, float]]] = defaultdict(list)
        said: dict[str, list[tuple[str, float, Mapping[str, str], str]]] = defaultdict(list)
        for sample in samples:
            model = sample.labels.get("model")
            if model is not None and model in self.plans:
                by_model[model].append((sample.metric, sample.value))
                detail = sample.notes.get("detail", "")
                said[model].append((sample.metric, sample.value, sample.labels, detail))
        for model in by_model:
            held = label_refusal(bad_labels(said[model], self._label_rules, self._models))
            if held is None:
                self._labels.pop(model, None)
            else:
                self._labels[model] = held
        for model, values in by_model.items():
            if model not in self._windows:
                continue
            windows = self._windows[model]
            trigger = self.plans[model].drift
            assert trigger is not None
            verdict = drifted(values, psi=trigger.psi, kl=trigger.kl)
            if verdict is None:
                continue
            windows.observe(now, verdict)
            start = windows.due(now)
            if start is None or self._asked.get(model) == stamp(start):
                continue
            self._asked[model] = stamp(start)
            reason = (
                f"{windows.count(now)} of the last {trigger.of} windows of "
                f"{short_duration(trigger.window)} drifted"
            )
            try:
                made = await self.request(
                    model, "drift", stamp(start), actor="vigil", reason=reason
                )
            except Exception:
                log.exception("could not request the retraining of %s", model)
                del self._asked[model]  # the next poll asks again
                continue
            if made.refused:
                log.info("drift asks to retrain %s, not now: %s", model, made.refused)

    async def scheduled(self, model: str, at: datetime) -> Requested:
        """The cron schedule's run of ``model`` for the minute ``at``."""
        minute = at.replace(second=0, microsecond=0)
        made = await self.request(
            model,
            "schedule",
            stamp(minute),
            actor="vigil",
            reason=f"cron {self.plans[model].schedule}",
        )
        if made.refused:
            log.info("scheduled retraining of %s not started: %s", model, made.refused)
        return made

    async def manual(self, model: str, incident_id: int, *, actor: str) -> Requested:
        """``/incident retrain N``: one run per asking (the time of asking names it)."""
        window = f"incident-{incident_id}-{stamp(self._clock())}"
        return await self.request(
            model,
            "manual",
            window,
            actor=actor,
            reason=f"{actor} asked on #{incident_id}",
            incident_id=incident_id,
        )
