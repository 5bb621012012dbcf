"""The read API, health and metrics over real HTTP, on SQLite and PostgreSQL.

These are what a dashboard, a script or an engineer with curl at 2 a.m. relies on: the
open incidents most severe first, one incident in full, errors in one JSON shape, and
counters that match what was posted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import create_async_engine

from bot.core.secret import Secret
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.support import FakeClock, fixture_json

Client = TestClient[Any, Any]
Json = dict[str, Any]

AM = "/alerts/alertmanager"
GENERIC = "/alerts/generic"
INCIDENTS = "/api/v1/incidents"


@asynccontextmanager
async def serve(vigil: Vigil) -> AsyncIterator[Client]:
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as c:
        yield c


def generic(labels: dict[str, str], value: float, **fields: Any) -> Json:
    return {"title": f"{labels['alertname']} alert", "labels": labels, "value": value, **fields}


async def post_ok(client: Client, path: str, payload: object) -> Json:
    resp = await client.post(path, json=payload)
    body: Json = await resp.json()
    assert resp.status == 200, body
    return body


async def open_incident(client: Client, labels: dict[str, str], value: float) -> int:
    body = await post_ok(client, GENERIC, generic(labels, value))
    incident_id: int = body["incidents"][0]
    return incident_id


async def get_json(client: Client, path: str, **kwargs: Any) -> tuple[int, Json]:
    resp = await client.get(path, **kwargs)
    assert resp.content_type == "application/json"
    body: Json = await resp.json()
    return resp.status, body


def assert_error(body: Json, field: str) -> None:
    assert set(body) == {"error", "field", "message"}
    assert body["field"] == field
    assert body["message"]


P1 = {"alertname": "HighErrorRate", "service": "payments"}, 0.075
P2 = {"alertname": "ModelAccuracyBelowSLA", "model": "churn", "sla": "0.90"}, 0.71
P3 = {"alertname": "InputDrift", "model": "fraud-scorer"}, 0.31
P1_OLD = {"alertname": "HighErrorRate", "service": "checkout"}, 0.09


@pytest.fixture
async def four(client: Client, vigil: Vigil, clock: FakeClock) -> dict[str, int]:
    """Incidents P3, P1 (resolved), P1, P2, opened in that order a minute apart."""
    ids: dict[str, int] = {}
    for name, (labels, value) in (("P3", P3), ("P1_OLD", P1_OLD), ("P1", P1), ("P2", P2)):
        ids[name] = await open_incident(client, labels, value)
        clock.advance(minutes=1)
    await vigil.incidents.resolve(ids["P1_OLD"], actor="@alice")
    return ids


# --- GET /api/v1/incidents ------------------------------------------------------------------


async def test_list_shows_open_incidents_most_severe_first(
    client: Client, four: dict[str, int]
) -> None:
    status, body = await get_json(client, INCIDENTS)
    assert status == 200
    assert [(i["id"], i["severity"]) for i in body["incidents"]] == [
        (four["P1"], "P1"),
        (four["P2"], "P2"),
        (four["P3"], "P3"),
    ]
    assert all(i["state"] == "triggered" for i in body["incidents"])


async def test_list_orders_equal_severity_newest_first(client: Client, clock: FakeClock) -> None:
    older = await open_incident(client, *P1_OLD)
    clock.advance(minutes=1)
    newer = await open_incident(client, *P1)
    _, body = await get_json(client, INCIDENTS)
    assert [i["id"] for i in body["incidents"]] == [newer, older]


@pytest.mark.parametrize("flag", ["true", "1", "TRUE"])
async def test_list_all_includes_resolved(client: Client, four: dict[str, int], flag: str) -> None:
    status, body = await get_json(client, INCIDENTS, params={"all": flag})
    assert status == 200
    states = {i["id"]: i["state"] for i in body["incidents"]}
    assert states == {
        four["P3"]: "triggered",
        four["P1_OLD"]: "resolved",
        four["P1"]: "triggered",
        four["P2"]: "triggered",
    }


@pytest.mark.parametrize("flag", ["false", "0"])
async def test_list_all_false_is_the_open_list(
    client: Client, four: dict[str, int], flag: str
) -> None:
    _, body = await get_json(client, INCIDENTS, params={"all": flag})
    assert four["P1_OLD"] not in [i["id"] for i in body["incidents"]]
    assert len(body["incidents"]) == 3


@pytest.mark.parametrize("flag", ["yes", "2", "tru"])
async def test_list_refuses_a_bad_all_value_naming_it(client: Client, flag: str) -> None:
    status, body = await get_json(client, INCIDENTS, params={"all": flag})
    assert status == 400
    assert_error(body, "all")


async def test_list_is_empty_before_any_alert(client: Client) -> None:
    status, body = await get_json(client, INCIDENTS)
    assert (status, body) == (200, {"incidents": [], "next_cursor": None, "total": 0})


# --- GET /api/v1/incidents/{id} -------------------------------------------------------------


async def test_incident_detail_has_everything_the_responder_needs(
    client: Client, vigil: Vigil
) -> None:
    opened = await post_ok(client, AM, fixture_json("alertmanager-v4-firing.json"))
    incident_id = opened["incidents"][0]
    await vigil.incidents.assign(incident_id, "@bob", actor="@alice")
    await vigil.incidents.acknowledge(incident_id, actor="@bob")

    status, body = await get_json(client, f"{INCIDENTS}/{incident_id}")

    assert status == 200
    assert body["id"] == incident_id
    assert body["title"] == "5xx ratio above 5% on payments"
    assert body["severity"] == "P1"
    assert body["severity_reason"] == (
        "P1: HighErrorRate on service payments is labelled severity=critical "
        "(no value to check against the policy)"
    )
    assert body["state"] == "acknowledged"
    assert body["commander"] == "@bob"
    [alert] = body["alerts"]
    assert alert["fingerprint"] == "420abf6469f5137f"
    assert alert["labels"] == {
        "alertname": "HighErrorRate",
        "env": "test",
        "service": "payments",
        "severity": "critical",
    }
    kinds = [e["kind"] for e in body["timeline"]]
    assert kinds == ["opened", "alert", "severity", "commander", "state"]
    assert body["timeline"][2]["text"] == body["severity_reason"]
    assert body["timeline"][-1]["text"] == "Acknowledged by @bob"
    assert all(e["at"].endswith("Z") for e in body["timeline"])


async def test_incident_id_may_be_written_with_a_hash(client: Client) -> None:
    incident_id = await open_incident(client, *P1)
    status, body = await get_json(client, f"{INCIDENTS}/%23{incident_id}")
    assert (status, body["id"]) == (200, incident_id)


@pytest.mark.parametrize("missing", ["999", "0", "2147483647"])
async def test_missing_incident_is_404_json(client: Client, missing: str) -> None:
    await open_incident(client, *P1)
    status, body = await get_json(client, f"{INCIDENTS}/{missing}")
    assert status == 404
    assert_error(body, "id")
    assert body["error"] == "not_found"
    assert f"#{missing}" in body["message"]


@pytest.mark.parametrize("missing", ["2147483648", "999999999999999999"])
async def test_missing_incident_with_id_beyond_int32_is_404_json(
    client: Client, missing: str
) -> None:
    status, body = await get_json(client, f"{INCIDENTS}/{missing}")
    assert status == 404, body
    assert_error(body, "id")


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "1e3", "9" * 19])
async def test_malformed_incident_id_is_400_naming_id(client: Client, bad: str) -> None:
    status, body = await get_json(client, f"{INCIDENTS}/{bad}")
    assert status == 400
    assert_error(body, "id")


# --- the API token --------------------------------------------------------------------------


@pytest.fixture
async def guarded(make_vigil: MakeVigil) -> AsyncIterator[tuple[Client, int]]:
    vigil = await make_vigil(api_token=Secret("api-t0ken"))
    async with serve(vigil) as client:
        yield client, await open_incident(client, *P1)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer nope", "Bearer api-t0ke", "api-t0ken", "Basic api-t0ken"],
    ids=["none", "wrong", "prefix", "no-scheme", "basic"],
)
@pytest.mark.parametrize("which", ["list", "detail"])
async def test_api_token_refuses_missing_or_wrong_bearer(
    guarded: tuple[Client, int], which: str, authorization: str | None
) -> None:
    client, incident_id = guarded
    path = INCIDENTS if which == "list" else f"{INCIDENTS}/{incident_id}"
    headers = {"Authorization": authorization} if authorization is not None else {}
    resp = await client.get(path, headers=headers)
    text = await resp.text()
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="vigil"'
    assert_error(json.loads(text), "Authorization")
    assert "api-t0ken" not in text
    assert "payments" not in text  # no incident data leaks past the check


@pytest.mark.parametrize("which", ["list", "detail"])
async def test_api_token_lets_the_right_bearer_in(guarded: tuple[Client, int], which: str) -> None:
    client, incident_id = guarded
    path = INCIDENTS if which == "list" else f"{INCIDENTS}/{incident_id}"
    resp = await client.get(path, headers={"Authorization": "Bearer api-t0ken"})
    text = await resp.text()
    assert resp.status == 200
    assert "payments" in text
    assert "api-t0ken" not in text


async def test_api_token_leaves_health_and_metrics_open(
    guarded: tuple[Client, int],
) -> None:
    """The API token is for readers of incidents; the load balancer and the Prometheus scrape
    do not have it (alert posts are not guarded by it either: ``guarded`` posted one)."""
    client, _ = guarded
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/metrics")).status == 200


# --- health, metrics, unknown routes --------------------------------------------------------


async def test_healthz_reports_ok_with_the_database_up(client: Client) -> None:
    status, body = await get_json(client, "/healthz")
    assert status == 200
    assert body["status"] == "ok"


async def test_healthz_reports_the_database_down(make_vigil: MakeVigil) -> None:
    vigil = await make_vigil()
    working = vigil.db.engine
    # Nothing listens on port 1: every connection attempt is refused.
    vigil.db.engine = create_async_engine("postgresql+asyncpg://vigil@127.0.0.1:1/vigil")
    try:
        async with serve(vigil) as client:
            status, body = await get_json(client, "/healthz")
    finally:
        await vigil.db.engine.dispose()
        vigil.db.engine = working
    assert status == 503
    assert body["status"] != "ok"


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


async def test_metrics_count_received_alerts_and_rejected_posts(client: Client) -> None:
    await post_ok(client, AM, fixture_json("alertmanager-v4-multi.json"))  # 2 firing, 1 resolved
    await post_ok(client, AM, fixture_json("alertmanager-v4-firing.json"))
    await post_ok(client, GENERIC, generic(*P3))
    assert (await client.post(GENERIC, data=b"not json")).status == 400
    assert (await client.post(GENERIC, json={"title": "x", "value": "high"})).status == 400
    assert (await client.post(AM, json={"version": "4"})).status == 400

    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    text = await resp.text()

    received = _samples(text, "vigil_alerts_received_total")
    assert received == {
        (("format", "alertmanager"), ("status", "firing")): 3.0,
        (("format", "alertmanager"), ("status", "resolved")): 1.0,
        (("format", "generic"), ("status", "firing")): 1.0,
    }
    rejected = _samples(text, "vigil_alert_posts_rejected_total")
    assert rejected == {
        (("format", "alertmanager"), ("reason", "invalid")): 1.0,
        (("format", "generic"), ("reason", "invalid")): 2.0,
    }


async def test_metrics_count_unauthorized_and_oversize_posts(make_vigil: MakeVigil) -> None:
    vigil = await make_vigil(ingest_token=Secret("s3cret"), max_body_bytes=2048)
    async with serve(vigil) as client:
        assert (
            await client.post(AM, json=fixture_json("alertmanager-v4-firing.json"))
        ).status == 401
        big = generic(*P1, annotations={"description": "x" * 3000})
        resp = await client.post(GENERIC, json=big, headers={"Authorization": "Bearer s3cret"})
        assert resp.status == 413
        text = await (await client.get("/metrics")).text()
    assert _samples(text, "vigil_alerts_received_total") == {}
    assert _samples(text, "vigil_alert_posts_rejected_total") == {
        (("format", "alertmanager"), ("reason", "unauthorized")): 1.0,
        (("format", "generic"), ("reason", "too_large")): 1.0,
    }
    assert "s3cret" not in text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nope", 404),
        ("GET", "/api/v2/incidents", 404),
        ("POST", "/alerts/prometheus", 404),
        ("GET", AM, 405),
        ("DELETE", f"{INCIDENTS}/1", 405),
    ],
)
async def test_unknown_routes_answer_in_the_json_error_shape(
    client: Client, method: str, path: str, status: int
) -> None:
    resp = await client.request(method, path)
    assert resp.status == status
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert set(body) == {"error", "field", "message"}
    assert body["message"]


async def test_metrics_show_incidents_by_severity_and_state(
    client: Client, four: dict[str, int]
) -> None:
    resp = await client.get("/metrics")
    gauges = _samples(await resp.text(), "vigil_incidents")
    assert gauges == {
        (("severity", "P1"), ("state", "resolved")): 1.0,
        (("severity", "P1"), ("state", "triggered")): 1.0,
        (("severity", "P2"), ("state", "triggered")): 1.0,
        (("severity", "P3"), ("state", "triggered")): 1.0,
    }
