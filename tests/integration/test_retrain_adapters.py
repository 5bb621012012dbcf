"""Each orchestrator adapter through its real HTTP code against a stand-in that checks the
real wire format (tests/orchestrator_standin.py): the dedup key reaches the orchestrator
as its idempotency key, a repeat is the same run, and the state is read back."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.core.secret import Secret
from bot.retrain.adapters.base import OrchestratorError, RunRequest
from bot.retrain.adapters.build import build_orchestrator
from bot.retrain.config import Orchestration
from tests.orchestrator_standin import OrchestratorStandin

KEY = "vigil:fraud-scorer:drift:20260105T030000Z"
RUN = RunRequest(
    model="fraud-scorer",
    key=KEY,
    version="rt-20260105T030000Z-1",
    trigger="drift",
    incident_id=7,
    requested_at=datetime(2026, 1, 5, 3, 0, 12, tzinfo=UTC),
    reason="3 of the last 6 windows of 1h drifted",
)


@pytest.fixture
async def standin() -> AsyncIterator[OrchestratorStandin]:
    async with OrchestratorStandin(auth="Bearer tok-1") as s:
        yield s


@pytest.mark.parametrize("api", ["v1", "v2"])
async def test_airflow_gets_the_key_as_dag_run_id_and_a_repeat_409_is_the_same_run(
    standin: OrchestratorStandin, api: str
) -> None:
    spec = Orchestration("airflow", standin.url, Secret("tok-1"), dag_id="retrain_fraud", api=api)  # type: ignore[arg-type]
    orch = build_orchestrator(spec)
    first = await orch.submit(RUN)
    again = await orch.submit(RUN)  # a retry after a lost answer, or a restart
    assert (first.state, first.phase, first.external_id) == ("queued", "running", KEY)
    assert (again.state, again.external_id) == ("queued", KEY)
    posts = standin.calls("POST", f"/api/{api}/dags/retrain_fraud/dagRuns")
    assert [p.status for p in posts] == [200, 409]
    body = posts[0].body
    assert body["dag_run_id"] == KEY
    assert body["conf"]["version"] == "rt-20260105T030000Z-1"
    assert body["conf"]["incident"] == 7
    assert ("logical_date" in body) is (api == "v2")
    if api == "v2":
        assert body["logical_date"] == "2026-01-05T03:00:12Z"
    assert len(standin.dag_runs) == 1
    standin.finish("success")
    done = await orch.observe(RUN, KEY)
    assert (done.state, done.phase) == ("success", "succeeded")


async def test_airflow_basic_auth_sends_username_and_token() -> None:
    expected = "Basic " + base64.b64encode(b"vigil:pw-9").decode()
    async with OrchestratorStandin(auth=expected) as standin:
        spec = Orchestration("airflow", standin.url, Secret("pw-9"), "vigil", dag_id="d")
        seen = await build_orchestrator(spec).submit(RUN)
    assert seen.phase == "running"


async def test_a_refusal_is_not_retryable_a_5xx_is_and_no_message_holds_the_token(
    standin: OrchestratorStandin,
) -> None:
    orch = build_orchestrator(Orchestration("airflow", standin.url, Secret("wrong"), dag_id="d"))
    with pytest.raises(OrchestratorError) as refused:
        await orch.submit(RUN)
    assert not refused.value.retryable
    assert str(refused.value) == f"POST {standin.url}/api/v1/dags/d/dagRuns answered 401"
    orch = build_orchestrator(Orchestration("airflow", standin.url, Secret("tok-1"), dag_id="d"))
    standin.fail_next = [503]
    with pytest.raises(OrchestratorError) as busy:
        await orch.submit(RUN)
    assert busy.value.retryable
    assert "tok-1" not in str(busy.value)
    assert "wrong" not in str(refused.value)


async def test_prefect_gets_the_key_as_idempotency_key_and_answers_the_same_flow_run(
    standin: OrchestratorStandin,
) -> None:
    spec = Orchestration("prefect", f"{standin.url}/api", Secret("tok-1"), deployment_id="dep-1")
    orch = build_orchestrator(spec)
    first = await orch.submit(RUN)
    again = await orch.submit(RUN)
    assert first.external_id == again.external_id
    assert len(standin.flow_runs) == 1
    assert (first.state, first.phase) == ("SCHEDULED", "running")
    body = standin.calls("POST", "/api/deployments/dep-1/create_flow_run")[0].body
    assert body["idempotency_key"] == KEY
    assert body["parameters"]["model"] == "fraud-scorer"
    standin.start()
    assert (await orch.observe(RUN, first.external_id)).state == "RUNNING"
    standin.finish("failed")
    done = await orch.observe(RUN, first.external_id)
    assert (done.state, done.phase) == ("FAILED", "failed")


async def test_github_dispatches_once_finds_the_run_by_key_and_follows_its_conclusion(
    standin: OrchestratorStandin,
) -> None:
    spec = Orchestration(
        "github", standin.url, Secret("tok-1"), repo="acme/models", workflow="retrain.yml"
    )
    orch = build_orchestrator(spec)
    first = await orch.submit(RUN)
    again = await orch.submit(RUN)  # finds the run with this key: no second dispatch
    dispatches = standin.calls(
        "POST", "/repos/acme/models/actions/workflows/retrain.yml/dispatches"
    )
    assert [d.status for d in dispatches] == [204]
    assert dispatches[0].body["inputs"]["vigil_key"] == KEY
    assert dispatches[0].body["ref"] == "main"
    assert first.external_id == again.external_id == "9001"
    assert (first.state, first.phase) == ("queued", "running")
    standin.finish("success")
    done = await orch.observe(RUN, first.external_id)
    assert (done.state, done.phase) == ("completed/success", "succeeded")
    assert done.url == "https://github.example/acme/runs/9001"


async def test_the_webhook_posts_the_key_as_idempotency_key_and_hands_the_run_off(
    standin: OrchestratorStandin,
) -> None:
    spec = Orchestration("webhook", f"{standin.url}/hook", Secret("tok-1"))
    seen = await build_orchestrator(spec).submit(RUN)
    assert (seen.phase, seen.state) == ("handed_off", "accepted (202)")
    body, key = standin.hooks[0]
    assert key == KEY
    assert body["dedup_key"] == KEY
    assert body["model"] == "fraud-scorer"
    assert body["incident"] == 7
