"""Local stand-ins for the orchestrators retraining talks to: Airflow 2 and 3, Prefect,
GitHub Actions and a plain webhook, on one aiohttp server on 127.0.0.1.

No orchestrator can be reached from the tests, and a mocked client would skip what breaks
in production (the body we actually send, a 409, a 204 with no body). Each route checks the
real wire format and answers as the real API does:

* Airflow: ``POST /api/v1/dags/{dag}/dagRuns`` wants ``dag_run_id`` (Airflow's allowed
  characters) and a ``conf`` object, answers 200 with a DAGRun (``state: queued``) or 409
  when the id exists; ``/api/v2/...`` (Airflow 3) also *requires* ``logical_date`` (null or
  an RFC 3339 time) and refuses unknown fields (422). ``GET …/dagRuns/{id}`` reads it back.
  Auth: ``Authorization`` must be what the test set (Bearer or Basic), else 401.
* Prefect: ``POST /api/deployments/{id}/create_flow_run`` with ``idempotency_key`` and
  ``parameters``: 201 with a new flow run (``state.type: SCHEDULED``), or the existing run
  for a key already seen (Prefect's behaviour); ``GET /api/flow_runs/{id}``.
* GitHub: ``POST /repos/{o}/{r}/actions/workflows/{wf}/dispatches`` wants ``ref`` and string
  ``inputs`` (at most 25), the ``Accept`` and ``X-GitHub-Api-Version`` headers, answers 204
  and makes a run whose ``display_title`` carries ``inputs.vigil_key`` (the workflow's
  ``run-name``); ``GET …/workflows/{wf}/runs`` and ``GET …/actions/runs/{id}``.
* Webhook: ``POST /hook`` records the body and the ``Idempotency-Key`` header, answers 202.

Tests move runs along with ``finish(...)``, and count what arrived in ``requests``.
"""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

RUN_ID = re.compile(r"^[A-Za-z0-9_.~:+-]+$")
V2_FIELDS = {
    "dag_run_id",
    "data_interval_start",
    "data_interval_end",
    "logical_date",
    "run_after",
    "conf",
    "note",
    "partition_key",
}


@dataclass
class Received:
    method: str
    path: str
    body: Any
    headers: dict[str, str]
    status: int


@dataclass
class OrchestratorStandin:
    auth: str | None = None  # the Authorization header every request must carry
    requests: list[Received] = field(default_factory=list)
    dag_runs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    flow_runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    gh_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    hooks: list[tuple[Any, str | None]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer before the rest
    _server: TestServer | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(9001))

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    def calls(self, method: str, fragment: str) -> list[Received]:
        return [r for r in self.requests if r.method == method and fragment in r.path]

    async def __aenter__(self) -> OrchestratorStandin:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_post("/api/{v:v[12]}/dags/{dag}/dagRuns", self._airflow_trigger)
        r.add_get("/api/{v:v[12]}/dags/{dag}/dagRuns/{run}", self._airflow_get)
        r.add_post("/api/deployments/{id}/create_flow_run", self._prefect_create)
        r.add_get("/api/flow_runs/{id}", self._prefect_get)
        r.add_post("/repos/{o}/{r}/actions/workflows/{wf}/dispatches", self._gh_dispatch)
        r.add_get("/repos/{o}/{r}/actions/workflows/{wf}/runs", self._gh_list)
        r.add_get("/repos/{o}/{r}/actions/runs/{id}", self._gh_get)
        r.add_post("/hook", self._hook)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        await self._server.close()

    # -- test controls ---------------------------------------------------------------------

    def finish(self, state: str = "success") -> None:
        """End every open run: Airflow's ``state``, Prefect's COMPLETED/FAILED, GitHub's
        completed with success/failure."""
        ok = state == "success"
        for run in self.dag_runs.values():
            run["state"] = state
        for run in self.flow_runs.values():
            run["state"] = {"type": "COMPLETED" if ok else "FAILED", "name": "x"}
        for run in self.gh_runs.values():
            run.update(status="completed", conclusion="success" if ok else "failure")

    def start(self) -> None:
        for run in self.dag_runs.values():
            run["state"] = "running"
        for run in self.flow_runs.values():
            run["state"] = {"type": "RUNNING", "name": "Running"}
        for run in self.gh_runs.values():
            run["status"] = "in_progress"

    # -- the routes ------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = "not json"
        rec = Received(request.method, request.path, body, dict(request.headers), 0)
        self.requests.append(rec)
        if self.auth is not None and request.headers.get("Authorization") != self.auth:
            rec.status = 401
            return web.json_response({"detail": "Unauthorized"}, status=401)
        if self.fail_next:
            rec.status = self.fail_next.pop(0)
            return web.json_response({"detail": "standin fault"}, status=rec.status)
        if body == "not json":
            rec.status = 400
            return web.json_response({"detail": "body is not JSON"}, status=400)
        response: web.StreamResponse = await handler(request)
        rec.status = response.status
        return response

    async def _airflow_trigger(self, request: web.Request) -> web.Response:
        body = await request.json()
        v, dag = request.match_info["v"], request.match_info["dag"]
        if not isinstance(body, dict):
            return web.json_response({"detail": "body must be an object"}, status=400)
        if v == "v2":
            extra = sorted(set(body) - V2_FIELDS)
            if extra or "logical_date" not in body:
                return web.json_response({"detail": f"bad fields {extra} or no logical_date"},
                                         status=422)  # fmt: skip
            if body["logical_date"] is not None:
                datetime.fromisoformat(body["logical_date"].replace("Z", "+00:00"))
        run_id = body.get("dag_run_id")
        if not isinstance(run_id, str) or not RUN_ID.match(run_id) or "__" in run_id:
            return web.json_response({"detail": "dag_run_id not allowed"}, status=400)
        if not isinstance(body.get("conf", {}), dict):
            return web.json_response({"detail": "conf must be an object"}, status=400)
        if (dag, run_id) in self.dag_runs:
            title = f"DAGRun with DAG ID: '{dag}' and DAGRun ID: '{run_id}' already exists"
            return web.json_response({"title": title, "status": 409}, status=409)
        run = {"dag_id": dag, "dag_run_id": run_id, "state": "queued", "conf": body.get("conf")}
        self.dag_runs[dag, run_id] = run
        return web.json_response(run)

    async def _airflow_get(self, request: web.Request) -> web.Response:
        run = self.dag_runs.get((request.match_info["dag"], request.match_info["run"]))
        if run is None:
            return web.json_response({"title": "DAGRun not found"}, status=404)
        return web.json_response(run)

    async def _prefect_create(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = body.get("idempotency_key") if isinstance(body, dict) else None
        if not isinstance(key, str) or not isinstance(body.get("parameters"), dict):
            return web.json_response({"detail": "idempotency_key, parameters"}, status=422)
        for run in self.flow_runs.values():
            if run["idempotency_key"] == key:
                return web.json_response(run, status=200)
        run_id = str(uuid.uuid4())
        run = {
            "id": run_id,
            "deployment_id": request.match_info["id"],
            "idempotency_key": key,
            "parameters": body["parameters"],
            "state": {"type": "SCHEDULED", "name": "Scheduled"},
        }
        self.flow_runs[run_id] = run
        return web.json_response(run, status=201)

    async def _prefect_get(self, request: web.Request) -> web.Response:
        run = self.flow_runs.get(request.match_info["id"])
        if run is None:
            return web.json_response({"detail": "Flow run not found"}, status=404)
        return web.json_response(run)

    def _gh_headers_ok(self, request: web.Request) -> bool:
        return (
            request.headers.get("Accept") == "application/vnd.github+json"
            and request.headers.get("X-GitHub-Api-Version") == "2022-11-28"
        )

    async def _gh_dispatch(self, request: web.Request) -> web.Response:
        body = await request.json()
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not self._gh_headers_ok(request) or not isinstance(body.get("ref"), str):
            return web.json_response({"message": "Invalid request"}, status=422)
        if not isinstance(inputs, dict) or len(inputs) > 25:
            return web.json_response({"message": "inputs"}, status=422)
        if not all(isinstance(v, str) for v in inputs.values()):
            return web.json_response({"message": "inputs must be strings"}, status=422)
        run_id = next(self._ids)
        self.gh_runs[run_id] = {
            "id": run_id,
            "event": "workflow_dispatch",
            "display_title": f"retrain {inputs.get('model')} {inputs.get('vigil_key')}",
            "status": "queued",
            "conclusion": None,
            "html_url": f"https://github.example/{request.match_info['o']}/runs/{run_id}",
        }
        return web.Response(status=204)

    async def _gh_list(self, request: web.Request) -> web.Response:
        if not self._gh_headers_ok(request):
            return web.json_response({"message": "headers"}, status=422)
        runs = [r for r in self.gh_runs.values() if r["event"] == request.query.get("event")]
        runs.sort(key=lambda r: -int(r["id"]))
        return web.json_response({"total_count": len(runs), "workflow_runs": runs})

    async def _gh_get(self, request: web.Request) -> web.Response:
        run = self.gh_runs.get(int(request.match_info["id"]))
        if run is None:
            return web.json_response({"message": "Not Found"}, status=404)
        return web.json_response(run)

    async def _hook(self, request: web.Request) -> web.Response:
        self.hooks.append((await request.json(), request.headers.get("Idempotency-Key")))
        return web.json_response({"accepted": True}, status=202)
