"""Run a playbook step by step, recording each start and outcome as it happens.

Each step runs under its own ``asyncio.timeout``; whatever goes wrong inside an action (a
refusal, a timeout, a bug) becomes a failed step with a reason, never a crashed run. A
failed step with ``on_failure: stop`` ends the run and the summary names it and the steps
not run. Secrets given as inputs are blanked out of every message before anyone sees it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from bot.core.clock import Clock
from bot.core.errors import ValidationError, VigilError
from bot.core.secret import Secret
from bot.playbooks import template
from bot.playbooks.actions import ACTIONS, ActionSpec, RunContext, StepOutcome
from bot.playbooks.schema import Playbook, Step
from bot.registry.base import ModelRegistry

log = logging.getLogger(__name__)

REDACTED = "********"


@dataclass(frozen=True)
class StepRecord:
    """One line for the incident timeline: a step started, or finished ok or failed."""

    run_id: str
    playbook: str
    position: int  # 1-based
    total: int
    name: str
    action: str
    phase: Literal["started", "finished"]
    at: datetime
    actor: str
    dry_run: bool
    incident: int | None
    ok: bool | None = None
    message: str = ""
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class StepResult:
    position: int
    name: str
    action: str
    status: Literal["ok", "failed", "not run"]
    message: str = ""
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class RunResult:
    """The whole run: ``ok`` only when every step ran and succeeded."""

    run_id: str
    playbook: str
    ok: bool
    dry_run: bool
    steps: tuple[StepResult, ...]
    summary: str
    stopped_at: int | None = None  # the 1-based step that stopped the run


Recorder = Callable[[StepRecord], Awaitable[None]]


class PlaybookRunner:
    """Executes playbooks against one registry; ``record`` hears every step start/outcome."""

    def __init__(
        self,
        registry: ModelRegistry,
        *,
        clock: Clock,
        record: Recorder,
        actions: Mapping[str, ActionSpec] = ACTIONS,
    ) -> None:
        self._registry = registry
        self._clock = clock
        self._record = record
        self._actions = actions

    async def run(
        self, playbook: Playbook, inputs: Mapping[str, Any], *, actor: str, dry_run: bool = False
    ) -> RunResult:
        """Run every step in order; ``ValidationError`` before any step if inputs are missing."""
        missing = sorted(playbook.inputs - set(inputs))
        if missing:
            given = ", ".join(sorted(inputs)) or "none"
            raise ValidationError(
                "inputs",
                f"playbook {playbook.name} needs {', '.join(missing)} (given: {given}); "
                "no step was run",
            )
        run_id = uuid.uuid4().hex
        incident = inputs.get("incident")
        base = RunContext(
            registry=self._registry,
            actor=actor,
            dry_run=dry_run,
            incident=incident if isinstance(incident, int) else None,
            run_id=run_id,
        )
        secrets = _secrets(inputs)
        context: dict[str, Any] = {**inputs, "previous": None, "steps": {}}
        results: list[StepResult] = []
        total = len(playbook.steps)
        stopped: int | None = None
        for position, step in enumerate(playbook.steps, start=1):
            record = StepRecord(
                run_id, playbook.name, position, total, step.name, step.action, "started",
                self._clock(), actor, dry_run, base.incident,
            )  # fmt: skip
            await self._record(record)
            outcome = await self._step(step, position, base, context)
            message = _redact(outcome.message, secrets)
            data = MappingProxyType(dict(outcome.data))
            await self._record(
                _finished(record, self._clock(), ok=outcome.ok, message=message, data=data)
            )
            status: Literal["ok", "failed"] = "ok" if outcome.ok else "failed"
            results.append(StepResult(position, step.name, step.action, status, message, data))
            seen = {"ok": outcome.ok, "message": message, "data": data}
            context["previous"] = seen
            context["steps"][step.name] = seen
            if not outcome.ok and step.on_failure == "stop":
                stopped = position
                break
        results += [
            StepResult(i, s.name, s.action, "not run")
            for i, s in enumerate(playbook.steps[len(results) :], start=len(results) + 1)
        ]
        ok = all(r.status == "ok" for r in results)
        return RunResult(
            run_id, playbook.name, ok, dry_run, tuple(results),
            _summary(playbook, results, stopped, dry_run), stopped,
        )  # fmt: skip

    async def _step(
        self, step: Step, position: int, base: RunContext, context: Mapping[str, Any]
    ) -> StepOutcome:
        """One step under its timeout; every failure becomes an outcome, never an exception."""
        spec = self._actions.get(step.action)
        if spec is None:
            return StepOutcome(False, f"unknown action {step.action!r}")
        ctx = RunContext(
            base.registry, base.actor, base.dry_run, base.incident, base.run_id, step.timeout_s
        )
        deadline = asyncio.timeout(step.timeout_s)
        try:
            params = template.render(dict(step.params), context, "params")
            async with deadline:
                return await spec.run(ctx, params)
        except TimeoutError:
            if deadline.expired():
                return StepOutcome(False, f"timed out after {step.timeout_s:g} s")
            return StepOutcome(False, "timed out (inside the action)")
        except template.TemplateError as exc:
            return StepOutcome(False, str(exc))
        except VigilError as exc:
            return StepOutcome(False, exc.message)
        except Exception as exc:
            log.exception("playbook step %d %r (%s) raised", position, step.name, step.action)
            return StepOutcome(False, f"{step.action} failed unexpectedly ({type(exc).__name__})")


def _finished(
    started: StepRecord, at: datetime, *, ok: bool, message: str, data: Mapping[str, Any]
) -> StepRecord:
    return StepRecord(
        started.run_id, started.playbook, started.position, started.total, started.name,
        started.action, "finished", at, started.actor, started.dry_run, started.incident,
        ok, message, data,
    )  # fmt: skip


def _summary(
    playbook: Playbook, results: list[StepResult], stopped: int | None, dry_run: bool
) -> str:
    prefix = f"Dry run of {playbook.name}" if dry_run else f"Playbook {playbook.name}"
    failed = [r for r in results if r.status == "failed"]
    if stopped is not None:
        step = results[stopped - 1]
        text = f"{prefix}: step {stopped} '{step.name}' failed: {step.message.rstrip('.')}"
        rest = len(results) - stopped
        if rest == 1:
            text += f"; step {stopped + 1} not run"
        elif rest > 1:
            text += f"; steps {stopped + 1}–{len(results)} not run"  # noqa: RUF001
        return text + "."
    if failed:
        listed = "; ".join(f"step {r.position} '{r.name}' failed: {r.message}" for r in failed)
        return f"{prefix} finished with {len(failed)} failed of {len(results)} steps: {listed}."
    if dry_run:
        return f"{prefix}: all {len(results)} steps would run; nothing was changed."
    return f"{prefix}: all {len(results)} steps ok."


def _secrets(inputs: Mapping[str, Any]) -> list[str]:
    """Values to blank out: every ``Secret`` input, and inputs named like credentials."""
    found = []
    for key, value in inputs.items():
        if isinstance(value, Secret):
            found.append(value.reveal())
        elif isinstance(value, str) and key.lower().endswith(("token", "secret", "password")):
            found.append(value)
    return [s for s in found if s]


def _redact(message: str, secrets: list[str]) -> str:
    for secret in secrets:
        message = message.replace(secret, REDACTED)
    return message
