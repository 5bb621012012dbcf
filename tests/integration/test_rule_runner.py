"""Pushed samples → rules → incidents, over real HTTP and on both databases.

A sender pushes an error rate for ``payments``; the rule runner, ticked by hand on the fake
clock, opens an incident once the rule's ``for`` has passed and resolves it when the value
clears the hysteresis band. Sources that fail show up in /healthz without stopping the rest.
"""

from __future__ import annotations

import dataclasses
import socket
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import func, select

from bot.config.load import PrometheusSettings, SourcesSettings
from bot.core.secret import Secret
from bot.rules import Rule
from bot.runtime.app import Vigil
from bot.store.tables import Alert
from tests.conftest import MakeVigil
from tests.support import FakeClock

Client = TestClient[Any, Any]
SAMPLES = "/api/v1/samples"
NO_HOST = SourcesSettings(system=False)


def payments(value: float) -> dict[str, Any]:
    sample = {"metric": "error_rate", "value": value, "labels": {"service": "payments"}}
    return {"samples": [sample]}


def rule(vigil: Vigil, name: str) -> Rule:
    return next(r for r in vigil.rules_runner.rules if r.name == name)


async def push(client: Client, body: object, **headers: str) -> tuple[int, dict[str, Any]]:
    resp = await client.post(SAMPLES, json=body, headers=headers)
    payload: dict[str, Any] = await resp.json()
    return resp.status, payload


async def incidents(client: Client) -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/incidents", params={"all": "true"})
    assert resp.status == 200
    found: list[dict[str, Any]] = (await resp.json())["incidents"]
    return found


async def alert_count(vigil: Vigil) -> int:
    async with vigil.db.session() as session:
        return int((await session.exec(select(func.count()).select_from(Alert))).one())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_pushed_error_rate_opens_a_p1_incident_then_resolves_it(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    vigil = await make_vigil(sources=NO_HOST)
    held = rule(vigil, "error-rate-high")
    assert held.metric == "error_rate"
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        assert await push(client, payments(0.075)) == (200, {"accepted": 1})
        assert await vigil.rules_runner.tick(clock()) == []  # pending: not held for `for` yet
        assert await incidents(client) == []

        clock.advance(seconds=held.for_.total_seconds() + 1)
        assert (await push(client, payments(0.075)))[0] == 200
        opened = await vigil.rules_runner.tick(clock())
        assert [o.action for o in opened] == ["opened"]
        [incident] = await incidents(client)
        assert incident["severity"] == "P1"
        assert "7.5%" in incident["severity_reason"]
        assert "payments" in incident["severity_reason"]

        clock.advance(minutes=1)
        assert await vigil.rules_runner.tick(clock()) == []  # still firing: nothing new

        clock.advance(minutes=1)
        # Just under the threshold is inside the hysteresis band: still firing.
        assert (await push(client, payments(0.0097)))[0] == 200
        assert await vigil.rules_runner.tick(clock()) == []

        clock.advance(minutes=1)
        assert (await push(client, payments(0.002)))[0] == 200
        resolved = await vigil.rules_runner.tick(clock())
        assert [o.action for o in resolved] == ["resolved"]
        resp = await client.get(f"/api/v1/incidents/{incident['id']}")
        timeline = (await resp.json())["timeline"]
        texts = " | ".join(f"{e['kind']}: {e['text']}" for e in timeline)
        assert "no longer" in texts, texts


async def test_a_failing_source_shows_unavailable_and_the_others_still_run(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    dead = PrometheusSettings(
        url=f"http://127.0.0.1:{closed_port()}", queries={"error_rate": "x"}, timeout_s=2.0
    )
    vigil = await make_vigil(sources=dataclasses.replace(NO_HOST, prometheus=dead))
    held = rule(vigil, "error-rate-high")
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        assert (await push(client, payments(0.075)))[0] == 200
        await vigil.rules_runner.tick(clock())
        clock.advance(seconds=held.for_.total_seconds() + 1)
        assert (await push(client, payments(0.075)))[0] == 200
        outcomes = await vigil.rules_runner.tick(clock())
        assert [o.action for o in outcomes] == ["opened"]  # pushed samples still count

        resp = await client.get("/healthz")
        body = await resp.json()
        metrics = await (await client.get("/metrics")).text()
    assert resp.status == 200
    assert (body["status"], body["database"]) == ("ok", "up")
    assert body["sources"]["pushed"] == "up"
    assert body["sources"]["prometheus"].startswith("unavailable: ")
    assert 'vigil_source_errors_total{source="prometheus"} 2.0' in metrics  # one per tick
    # each tick evaluates every rule group once
    assert 'vigil_rule_evaluation_seconds_count{group="infrastructure"} 2.0' in metrics
    assert 'vigil_rule_evaluation_seconds_count{group="model-quality"} 2.0' in metrics


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"samples": [{"metric": "error_rate", "value": "high"}]}, "samples[0].value"),
        (
            {"samples": [payments(0.5)["samples"][0], {"metric": "a-b", "value": 1}]},
            "samples[1].metric",
        ),
        ({"samples": "nope"}, "samples"),
    ],
)
async def test_bad_payloads_are_refused_naming_the_field_and_nothing_is_stored(
    make_vigil: MakeVigil, clock: FakeClock, body: object, field: str
) -> None:
    vigil = await make_vigil(sources=NO_HOST)
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        status, answer = await push(client, body)
        assert status == 400
        assert answer["error"] == "invalid"
        assert answer["field"] == field
        resp = await client.post(SAMPLES, data=b"{not json")
        assert resp.status == 400
        assert (await resp.json())["field"] == "body"
    assert len(await vigil.pushed.collect(datetime.now(UTC))) == 0
    clock.advance(minutes=10)
    assert await vigil.rules_runner.tick(clock()) == []
    assert await alert_count(vigil) == 0


async def test_samples_need_the_ingest_token_when_one_is_set(make_vigil: MakeVigil) -> None:
    vigil = await make_vigil(sources=NO_HOST, ingest_token=Secret("s3cret"))
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        status, answer = await push(client, payments(0.5))
        assert (status, answer["error"]) == (401, "unauthorized")
        status, _ = await push(client, payments(0.5), Authorization="Bearer wrong")
        assert status == 401
        assert len(await vigil.pushed.collect(datetime.now(UTC))) == 0
        status, answer = await push(client, payments(0.5), Authorization="Bearer s3cret")
        assert (status, answer) == (200, {"accepted": 1})
    assert len(await vigil.pushed.collect(datetime.now(UTC))) == 1
