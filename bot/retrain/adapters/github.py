"""GitHub Actions ``workflow_dispatch``.

Start: ``POST {api}/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches`` with
``ref`` and ``inputs`` (model, version, trigger, reason, ``vigil_key``: strings, as GitHub
wants them); GitHub answers 204 and no run id. So the workflow names its run after the key
(``run-name: retrain ${{ inputs.model }} ${{ inputs.vigil_key }}``) and Vigil finds it in
``GET …/workflows/{workflow}/runs?event=workflow_dispatch`` by ``display_title``. GitHub
has no idempotency key: before dispatching, Vigil looks for a run with this key (a retry
after a lost answer), and dispatches only when there is none. Follow: ``GET
{api}/repos/{owner}/{repo}/actions/runs/{id}``, ``status`` (queued, in_progress,
completed) and, once completed, ``conclusion`` (success or not).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.retrain.adapters.base import Observed, OrchestratorError, RunRequest
from bot.retrain.adapters.http import bearer, call
from bot.retrain.config import Orchestration

API_VERSION = "2022-11-28"


class GitHubOrchestrator:
    kind = "github"

    def __init__(self, spec: Orchestration) -> None:
        self._spec = spec
        self._repo = f"{spec.url}/repos/{spec.repo}/actions"
        self._workflow = f"{self._repo}/workflows/{quote(spec.workflow, safe='')}"
        self._headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            **bearer(spec.token.reveal() if spec.token else None),
        }

    def describe(self) -> str:
        return f"GitHub Actions workflow {self._spec.workflow} in {self._spec.repo}"

    async def submit(self, run: RunRequest) -> Observed:
        found = await self._find(run.key)
        if found is not None:
            return found
        inputs = {
            "model": run.model,
            "version": run.version,
            "trigger": run.trigger,
            "reason": run.reason,
            "vigil_key": run.key,
        }
        body = {"ref": self._spec.ref, "inputs": inputs}
        await call(
            "POST", f"{self._workflow}/dispatches", headers=self._headers, json=body, ok=(204,)
        )
        return await self._find(run.key) or Observed("dispatched", "running")

    async def observe(self, run: RunRequest, external_id: str | None) -> Observed:
        if not external_id:
            return await self._find(run.key) or Observed("dispatched", "running")
        url = f"{self._repo}/runs/{quote(external_id, safe='')}"
        _, answer = await call("GET", url, headers=self._headers, ok=(200,))
        return _observed(answer)

    async def _find(self, key: str) -> Observed | None:
        params = {"event": "workflow_dispatch", "per_page": "100"}
        _, answer = await call(
            "GET", f"{self._workflow}/runs", headers=self._headers, params=params, ok=(200,)
        )
        runs = answer.get("workflow_runs") if isinstance(answer, dict) else None
        if not isinstance(runs, list):
            raise OrchestratorError("GitHub answered without workflow_runs", retryable=True)
        for item in runs:
            if isinstance(item, dict) and key in str(item.get("display_title") or ""):
                return _observed(item)
        return None


def _observed(item: Any) -> Observed:
    if not isinstance(item, dict) or not isinstance(item.get("status"), str):
        raise OrchestratorError("GitHub answered without a run status", retryable=True)
    status, conclusion = str(item["status"]), item.get("conclusion")
    url = str(item["html_url"]) if item.get("html_url") else None
    run_id = str(item["id"]) if item.get("id") is not None else None
    if status != "completed":
        return Observed(status, "running", run_id, url)
    word = f"completed/{conclusion}"
    return Observed(word, "succeeded" if conclusion == "success" else "failed", run_id, url)
