"""Airflow's stable REST API: Airflow 2 (``/api/v1``) and Airflow 3 (``/api/v2``).

Start: ``POST /api/v{1,2}/dags/{dag_id}/dagRuns`` with ``dag_run_id`` = the dedup key and
``conf`` (model, version, trigger, incident, reason); Airflow 3's body also requires
``logical_date`` (the time Vigil decided, stored with the run, so a retry sends the same).
A 409 means a run with this id exists: this key was already sent, so it is success, and its
state is read back. Follow: ``GET …/dagRuns/{dag_run_id}``; ``state`` is ``queued``,
``running``, ``success`` or ``failed``. Auth: a bearer token, or Basic with ``username``
and the token as the password (Airflow 2's basic_auth backend).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from bot.core.timefmt import iso_z
from bot.playbooks.actions.http import safe_url
from bot.retrain.adapters.base import Observed, OrchestratorError, RunRequest
from bot.retrain.adapters.http import bearer, call
from bot.retrain.config import Orchestration
from bot.retrain.decide import Phase

_PHASES: dict[str, Phase] = {"success": "succeeded", "failed": "failed"}


class AirflowOrchestrator:
    kind = "airflow"

    def __init__(self, spec: Orchestration) -> None:
        self._spec = spec
        self._runs = f"{spec.url}/api/{spec.api}/dags/{quote(spec.dag_id, safe='')}/dagRuns"

    def describe(self) -> str:
        version = "3" if self._spec.api == "v2" else "2"
        return f"Airflow {version} DAG {self._spec.dag_id} at {safe_url(self._spec.url)}"

    def _headers(self) -> dict[str, str]:
        token = self._spec.token.reveal() if self._spec.token else None
        if self._spec.username and token:
            pair = f"{self._spec.username}:{token}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        return bearer(token)

    async def submit(self, run: RunRequest) -> Observed:
        body: dict[str, Any] = {
            "dag_run_id": run.key,
            "conf": {
                "model": run.model,
                "version": run.version,
                "trigger": run.trigger,
                "incident": run.incident_id,
                "reason": run.reason,
                "vigil_key": run.key,
            },
        }
        if self._spec.api == "v2":
            body["logical_date"] = iso_z(run.requested_at)
        status, answer = await call(
            "POST", self._runs, headers=self._headers(), json=body, ok=(200, 409)
        )
        if status == 409:  # this dag_run_id exists: sent before (a retry, a restart)
            return await self.observe(run, run.key)
        return _observed(answer, run.key, self._spec.url)

    async def observe(self, run: RunRequest, external_id: str | None) -> Observed:
        run_id = external_id or run.key
        url = f"{self._runs}/{quote(run_id, safe='')}"
        _, answer = await call("GET", url, headers=self._headers(), ok=(200,))
        return _observed(answer, run_id, self._spec.url)


def _observed(answer: Any, run_id: str, base: str) -> Observed:
    if not isinstance(answer, dict) or not isinstance(answer.get("state"), str):
        raise OrchestratorError("Airflow answered without a dagRun state", retryable=True)
    state = str(answer["state"])
    found = str(answer.get("dag_run_id") or run_id)
    dag = str(answer.get("dag_id") or "")
    url = f"{safe_url(base)}/dags/{quote(dag, safe='')}/grid?dag_run_id={quote(found, safe='')}"
    return Observed(state, _PHASES.get(state, "running"), found, url if dag else None)
