"""Prefect 2 and 3's REST API (server or Cloud: ``url`` is ``PREFECT_API_URL``).

Start: ``POST {url}/deployments/{id}/create_flow_run`` with ``idempotency_key`` = the dedup
key and ``parameters`` (model, version, trigger, incident, reason: the flow takes these).
Prefect answers the existing flow run for a key it has seen, so a repeat is the same run.
Follow: ``GET {url}/flow_runs/{id}``; ``state.type`` ``COMPLETED`` succeeded; ``FAILED``,
``CRASHED``, ``CANCELLED`` failed; anything else (``SCHEDULED``, ``PENDING``, ``RUNNING``,
``PAUSED``, ``CANCELLING``) is still running. Auth: a bearer API key (Cloud).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.playbooks.actions.http import safe_url
from bot.retrain.adapters.base import Observed, OrchestratorError, RunRequest
from bot.retrain.adapters.http import bearer, call
from bot.retrain.config import Orchestration
from bot.retrain.decide import Phase

_PHASES: dict[str, Phase] = {
    "COMPLETED": "succeeded",
    "FAILED": "failed",
    "CRASHED": "failed",
    "CANCELLED": "failed",
}


class PrefectOrchestrator:
    kind = "prefect"

    def __init__(self, spec: Orchestration) -> None:
        self._spec = spec
        self._headers = bearer(spec.token.reveal() if spec.token else None)

    def describe(self) -> str:
        return f"Prefect deployment {self._spec.deployment_id} at {safe_url(self._spec.url)}"

    async def submit(self, run: RunRequest) -> Observed:
        url = f"{self._spec.url}/deployments/{quote(self._spec.deployment_id, safe='')}"
        body = {
            "idempotency_key": run.key,
            "name": run.key.replace(":", "-"),
            "parameters": {
                "model": run.model,
                "version": run.version,
                "trigger": run.trigger,
                "incident": run.incident_id,
                "reason": run.reason,
            },
            "tags": ["vigil", f"vigil-{run.trigger}"],
        }
        _, answer = await call(
            "POST", f"{url}/create_flow_run", headers=self._headers, json=body, ok=(200, 201)
        )
        return _observed(answer)

    async def observe(self, run: RunRequest, external_id: str | None) -> Observed:
        if not external_id:
            return await self.submit(run)  # the key finds the run it started, if any
        url = f"{self._spec.url}/flow_runs/{quote(external_id, safe='')}"
        _, answer = await call("GET", url, headers=self._headers, ok=(200,))
        return _observed(answer)


def _observed(answer: Any) -> Observed:
    state = answer.get("state") if isinstance(answer, dict) else None
    if not isinstance(state, dict) or not isinstance(state.get("type"), str):
        raise OrchestratorError("Prefect answered without a flow run state", retryable=True)
    kind = str(state["type"])
    return Observed(kind, _PHASES.get(kind, "running"), str(answer.get("id") or "") or None)
