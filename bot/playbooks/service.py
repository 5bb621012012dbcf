"""``PlaybookService``: runs the rollback, containment and retrain playbooks for people.

The runner knows steps; this service knows what a responder means. It checks what can be
checked before the first step (the incident exists and may be contained, the model has an
earlier version, retraining is configured), so a refusal changes nothing and lands nowhere.
Once a run starts, every step's outcome goes to the run log and, when the run belongs to an
incident, to that incident's timeline: the commander reads what happened, step by step,
where they read everything else. Dry runs touch no timeline: "nothing changed" means it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.clock import Clock
from bot.core.errors import ConfigError, NotFoundError, VigilError
from bot.incidents.service import IncidentService
from bot.incidents.states import check_transition
from bot.incidents.views import IncidentView
from bot.playbooks.history import RunLog
from bot.playbooks.runner import PlaybookRunner, RunResult, StepRecord
from bot.playbooks.schema import Playbook
from bot.registry.base import ModelRegistry, RollbackResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncidentRun:
    """A playbook run for an incident, and the incident as it stands afterwards."""

    result: RunResult
    incident: IncidentView


def step_line(rec: StepRecord, book: Playbook) -> str:
    """``rollback step 2/3 'rollback' ok: …`` or ``… failed: …; step 3 not run``."""
    head = f"{rec.playbook} step {rec.position}/{rec.total} '{rec.name}'"
    if rec.ok:
        return f"{head} ok: {rec.message}"
    text = f"{head} failed: {rec.message.rstrip('.')}"
    if book.steps[rec.position - 1].on_failure == "continue" or rec.position == rec.total:
        return text
    rest = rec.position + 1
    if rest == rec.total:
        return f"{text}; step {rest} not run"
    return f"{text}; steps {rest}–{rec.total} not run"  # noqa: RUF001 (an en dash, on purpose)


class PlaybookService:
    """Runs named playbooks, recording each step in the run log and on the incident."""

    def __init__(
        self,
        playbooks: Mapping[str, Playbook],
        registry: ModelRegistry,
        incidents: IncidentService,
        run_log: RunLog,
        *,
        clock: Clock,
        retrain_url: str | None,
    ) -> None:
        self.playbooks = dict(playbooks)
        self._registry = registry
        self._incidents = incidents
        self._run_log = run_log
        self._clock = clock
        self._retrain_url = retrain_url

    async def run(
        self, name: str, inputs: Mapping[str, Any], *, actor: str, dry_run: bool = False
    ) -> RunResult:
        """Run playbook ``name``; ``NotFoundError`` naming the known ones if there is none."""
        book = self.playbooks.get(name)
        if book is None:
            known = ", ".join(sorted(self.playbooks)) or "none"
            raise NotFoundError(f"There is no playbook {name!r}. Known playbooks: {known}.")

        async def record(rec: StepRecord) -> None:
            await self._record(rec, book)

        runner = PlaybookRunner(self._registry, clock=self._clock, record=record)
        result = await runner.run(book, inputs, actor=actor, dry_run=dry_run)
        try:
            await self._run_log.finish(result)
        except Exception:
            log.exception("could not store the outcome of playbook run %s", result.run_id)
        return result

    async def rollback(
        self,
        model: str,
        version: str | None,
        *,
        incident_id: int | None,
        actor: str,
        dry_run: bool = False,
    ) -> tuple[RunResult, RollbackResult]:
        """Run ``rollback``; the registry's refusal (no earlier version, unknown model or
        version) is raised before any step, so it changes nothing and lands nowhere.

        Returns the run and the plan the registry made before it started.
        """
        if incident_id is not None:
            await self._incidents.get(incident_id)  # NotFoundError before anything runs
        plan = await self._registry.rollback(model, version, actor=actor, dry_run=True)
        inputs = {"model": model, "version": version, "incident": incident_id}
        result = await self.run("rollback", inputs, actor=actor, dry_run=dry_run)
        if incident_id is not None and not dry_run and result.ok:
            await self._contained_by_rollback(incident_id, result, actor=actor)
        return result, plan

    async def _contained_by_rollback(
        self, incident_id: int, result: RunResult, *, actor: str
    ) -> None:
        """A rollback that served the last good version contains the incident it was run
        for: nobody needs paging about a model that no longer serves, and the post-mortem
        counts the time to contain from here. An incident already contained or closed is
        left as it is (the rollback is on its timeline all the same)."""
        view = await self._incidents.get(incident_id, timeline=False, alerts=False)
        if view.state not in ("triggered", "acknowledged"):
            return
        await self._mark_contained(view, result, "registry.rollback", actor=actor)

    async def _mark_contained(
        self, view: IncidentView, result: RunResult, action: str, *, actor: str
    ) -> IncidentView:
        """Move the incident to contained, saying what the run's ``action`` step did."""
        did = next((s.message for s in result.steps if s.action == action), "")
        return await self._incidents.record(
            view.id,
            kind="state",
            text=f"Contained by {actor}" + (f": {did}" if did else ""),
            actor=actor,
            data={"from": view.state, "to": "contained", "run_id": result.run_id},
            state="contained",
        )

    async def contain(self, incident_id: int, *, actor: str) -> IncidentRun:
        """Pin the incident's model to its last known good version (``containment``), then
        mark the incident contained, only if every step succeeded."""
        view = await self._incidents.get(incident_id)
        model = _model_of(
            view,
            f"pin its traffic. Use /incident contain {incident_id} (without --pin) to mark it "
            f"contained, or /rollback MODEL --incident {incident_id}",
        )
        check_transition(incident_id, view.state, "contained")  # refuse before pinning
        result = await self.run(
            "containment", {"model": model, "incident": incident_id}, actor=actor
        )
        if not result.ok:
            return IncidentRun(result, await self._incidents.get(incident_id))
        view = await self._mark_contained(view, result, "registry.pin_traffic", actor=actor)
        return IncidentRun(result, view)

    async def retrain(self, incident_id: int, *, actor: str) -> IncidentRun:
        """Ask the training service at ``retrain_url`` to retrain the incident's model."""
        if self._retrain_url is None:
            raise ConfigError(
                "Retraining is not set up: set retrain_url in vigil.yaml to your training "
                "service's endpoint (see vigil.example.yaml). Nothing was sent."
            )
        view = await self._incidents.get(incident_id)
        model = _model_of(view, "ask for a retraining")
        inputs = {"model": model, "incident": incident_id, "retrain_url": self._retrain_url}
        result = await self.run("retrain", inputs, actor=actor)
        return IncidentRun(result, await self._incidents.get(incident_id))

    async def _record(self, rec: StepRecord, book: Playbook) -> None:
        """The run log hears every start and outcome; the incident only outcomes of real runs.

        A failed write is logged, never raised: stopping a rollback halfway because a
        timeline entry could not be written would leave the model in a worse state.
        """
        try:
            await self._run_log.record(rec)
        except Exception:
            log.exception("could not log step %d of playbook run %s", rec.position, rec.run_id)
        if rec.incident is None or rec.dry_run or rec.phase != "finished":
            return
        try:
            await self._incidents.record(
                rec.incident,
                kind="playbook",
                text=step_line(rec, book),
                actor=rec.actor,
                data={
                    "run_id": rec.run_id,
                    "playbook": rec.playbook,
                    "step": rec.position,
                    "ok": bool(rec.ok),
                },
            )
        except Exception:
            log.exception(
                "could not put step %d of run %s on the timeline", rec.position, rec.run_id
            )


def _model_of(view: IncidentView, to_do: str) -> str:
    """The incident's model, or a refusal saying what to do instead."""
    if view.model is None:
        raise VigilError(f"Incident #{view.id} names no model, so Vigil cannot {to_do}.")
    return view.model
