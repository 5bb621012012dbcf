"""A run from its row to its end: submitted, followed, its version registered as a shadow.

Both steps are durable timers (``bot.store.timers``), so a restart or the other process
carries on where a run stands: ``retrain-submit`` sends the run (again, after a kill: the
dedup key makes the repeat the same run) and ``retrain-poll`` reads its state every
``poll``. A submit the orchestrator could not take for now (5xx, 429, no connection) is
tried again, 10 s doubling to 10 min, 8 times; a refusal (another 4xx) fails the run at once.
A state that cannot be read is tried again at the next poll, 20 times in a row at most.

What happens is posted where it belongs: on the run's incident (a drift run's is the
model's open incident when the run starts, else the one open when there is news), which
Slack shows in the incident's thread; a scheduled run, about no incident, as a notice in
the team channel (it is news for the team, not for a log nobody reads at the time), and
a log line either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from bot.chat.backend import ChatBackend, notice_all
from bot.core.clock import Clock
from bot.incidents.service import IncidentService
from bot.registry.base import ModelRegistry, RegistryError
from bot.retrain import words
from bot.retrain.adapters.base import Observed, Orchestrator, OrchestratorError, RunRequest
from bot.retrain.config import ModelRetraining
from bot.retrain.store import RunStore
from bot.retrain.tables import RetrainRun
from bot.store.timers import Timers

log = logging.getLogger(__name__)

SUBMIT, POLL = "retrain-submit", "retrain-poll"
SUBMIT_TRIES = 8
POLL_ERRORS = 20
FIRST_RETRY = timedelta(seconds=10)
MOST_RETRY = timedelta(minutes=10)


def request_of(row: RetrainRun) -> RunRequest:
    return RunRequest(
        model=row.model,
        key=row.dedup_key,
        version=row.version or "",
        trigger=row.trigger,
        incident_id=row.incident_id,
        requested_at=row.requested_at,
        reason=row.detail,
    )


class RunFollower:
    def __init__(
        self,
        store: RunStore,
        timers: Timers,
        incidents: IncidentService,
        registry: ModelRegistry,
        plans: Mapping[str, ModelRetraining],
        orchestrators: Mapping[str, Orchestrator],
        *,
        clock: Clock,
        senders: Callable[[], Sequence[ChatBackend]],
    ) -> None:
        self._store = store
        self._timers = timers
        self._incidents = incidents
        self._registry = registry
        self._plans = plans
        self._orch = orchestrators
        self._clock = clock
        self._senders = senders
        timers.register(SUBMIT, self._on_submit)
        timers.register(POLL, self._on_poll)

    def where(self, model: str) -> str:
        return self._orch[model].describe()

    async def _on_submit(self, payload: dict[str, Any]) -> None:
        row = await self._store.get(int(payload["run"]))
        if row is None or row.phase != "pending" or row.id is None:
            return  # submitted already (a repeat of this timer after a kill)
        orch = self._orch.get(row.model)
        if orch is None:
            await self._end(row, Observed("not configured", "failed"), "no longer configured")
            return
        try:
            seen = await orch.submit(request_of(row))
        except OrchestratorError as exc:
            tries = row.attempts + 1
            if exc.retryable and tries < SUBMIT_TRIES:
                wait = min(FIRST_RETRY * 2 ** (tries - 1), MOST_RETRY)
                log.warning("retraining run %s: %s; trying again in %s", row.dedup_key, exc, wait)
                await self._store.set(row.id, attempts=tries)
                await self._timers.schedule(SUBMIT, payload_key(row.id, SUBMIT),
                                            self._clock() + wait, {"run": row.id})  # fmt: skip
                return
            await self.post(row, words.not_started(row.model, orch.describe(), str(exc)))
            await self._end(row, Observed("not started", "failed"), str(exc)[:500])
            return
        if seen.phase == "running":
            await self.post(row, words.started(row.model, orch.describe(), seen))
        await self._advance(row, seen, attempts=0)

    async def _on_poll(self, payload: dict[str, Any]) -> None:
        row = await self._store.get(int(payload["run"]))
        if row is None or row.phase != "running" or row.id is None:
            return
        orch = self._orch.get(row.model)
        if orch is None:
            await self._end(row, Observed("not configured", "failed"), "no longer configured")
            return
        try:
            seen = await orch.observe(request_of(row), row.external_id)
        except OrchestratorError as exc:
            errors = row.attempts + 1
            log.warning("retraining run %s: cannot read its state: %s", row.dedup_key, exc)
            if errors >= POLL_ERRORS:
                await self.post(row, words.lost(row.model, str(exc)))
                await self._end(row, Observed("unknown", "failed"), str(exc)[:500])
                return
            await self._store.set(row.id, attempts=errors)
            await self._next_poll(row)
            return
        if seen.state != row.state and seen.phase == "running":
            await self.post(row, words.progressed(row.model, seen))
        await self._advance(row, seen, attempts=0)

    async def _advance(self, row: RetrainRun, seen: Observed, *, attempts: int) -> None:
        """Store what was seen; end the run when it is over, else look again later."""
        assert row.id is not None
        if seen.phase in ("running", "pending"):
            await self._store.set(
                row.id,
                phase="running",
                state=seen.state[:64],
                external_id=seen.external_id or row.external_id,
                url=(seen.url or row.url or None),
                attempts=attempts,
            )
            await self._next_poll(row)
            return
        where = self.where(row.model)
        if seen.phase == "handed_off":
            await self.post(row, words.handed_off(row.model, where, seen, row.version or ""))
        elif seen.phase == "failed":
            await self.post(row, words.failed(row.model, seen, row.incident_id))
        else:
            await self.post(row, await self._register(row, seen))
        await self._end(row, seen, f"{seen.phase}: {seen.state}")

    async def _register(self, row: RetrainRun, seen: Observed) -> str:
        """The new version enters the registry as a shadow at 0 %: judged before it serves."""
        version = row.version or ""
        notes = f"retrained by {row.orchestrator} run {row.dedup_key} ({row.trigger})"
        try:
            await self._registry.register(
                row.model, version, stage="shadow", traffic=0, actor="vigil", notes=notes[:500]
            )
        except RegistryError as exc:
            return words.not_registered(row.model, seen, version, str(exc))
        return words.succeeded(row.model, seen, version)

    async def _end(self, row: RetrainRun, seen: Observed, detail: str) -> None:
        assert row.id is not None
        await self._store.set(
            row.id,
            phase=seen.phase,
            state=seen.state[:64],
            external_id=seen.external_id or row.external_id,
            url=seen.url or row.url,
            active_model=None,  # the next run of this model may start
            finished_at=self._clock(),
            detail=detail[:500],
        )
        log.info("retraining run %s of %s ended: %s", row.dedup_key, row.model, detail)

    async def _next_poll(self, row: RetrainRun) -> None:
        assert row.id is not None
        plan = self._plans.get(row.model)
        every = plan.poll if plan is not None else timedelta(minutes=1)
        await self._timers.schedule(
            POLL, payload_key(row.id, POLL), self._clock() + every, {"run": row.id}
        )

    async def post(self, row: RetrainRun, text: str) -> None:
        """On the run's incident (found now for a drift run that had none), else a notice."""
        log.info("retraining run %s: %s", row.dedup_key, text)
        incident = row.incident_id
        if incident is None and row.trigger == "drift":
            incident = await self._store.open_incident(row.model)
            if incident is not None and row.id is not None:
                await self._store.set(row.id, incident_id=incident)
                row.incident_id = incident
        if incident is not None:
            try:
                await self._incidents.record(
                    incident,
                    kind="retrain",
                    text=text,
                    actor="vigil",
                    data={"run": row.id, "key": row.dedup_key, "model": row.model},
                )
                return
            except Exception:
                log.exception("could not post retraining news on incident #%d", incident)
        await notice_all(self._senders(), text)


def payload_key(run_id: int, kind: str) -> str:
    return f"retrain:{run_id}:{kind.removeprefix('retrain-')}"
