from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.support import fixture_json


async def test_captured_alertmanager_post_opens_one_incident(client: TestClient[Any, Any]) -> None:
    payload = fixture_json("alertmanager-v4-firing.json")
    resp = await client.post("/alerts/alertmanager", json=payload)
    assert resp.status == 200
    body = await resp.json()
    assert body["results"][0]["action"] == "opened"
    incident = await (await client.get(f"/api/v1/incidents/{body['incidents'][0]}")).json()
    assert incident["severity"] == "P1"
    assert incident["alerts"][0]["fingerprint"] == "420abf6469f5137f"
