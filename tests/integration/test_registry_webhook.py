"""The signed serving webhook: each move is a POST a team's serving layer can verify, and
its answer decides. A stand-in serving layer (aiohttp) checks the signature with
``bot.notify.webhook.verify_signature``; when it refuses, ``/rollback`` says so and Vigil's
record (what serves, the history) is exactly as before. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.core.secret import Secret
from bot.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from bot.registry.base import RegistryError
from bot.registry.settings import RegistrySettings, ServingWebhookSettings
from bot.registry.webhook import IDEMPOTENCY_HEADER
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.support import FakeClock

M = "fraud-scorer"
SECRET = "s3rving-layer-shared-secret"


@dataclass
class ServingLayer:
    """Verifies each POST with its own copy of the secret; 401 on a bad signature."""

    clock: FakeClock
    secret: str = SECRET
    status: int = 200
    received: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        ok = verify_signature(
            Secret(self.secret),
            request.headers.get(TIMESTAMP_HEADER),
            body,
            request.headers.get(SIGNATURE_HEADER),
            now=self.clock(),
        )
        if not ok:
            return web.Response(status=401, text="bad signature")
        if self.status != 200:
            return web.Response(status=self.status, text="canary controller is busy")
        self.received.append(json.loads(body))
        self.keys.append(request.headers.get(IDEMPOTENCY_HEADER, ""))
        return web.json_response({"ok": True})


@pytest.fixture
async def serving(clock: FakeClock) -> AsyncIterator[tuple[ServingLayer, str]]:
    layer = ServingLayer(clock)
    app = web.Application()
    app.router.add_post("/vigil/moves", layer.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield layer, str(server.make_url("/vigil/moves"))
    finally:
        await server.close()


async def on_webhook(make_vigil: MakeVigil, url: str) -> Vigil:
    where = ServingWebhookSettings(url=url, secret=Secret(SECRET))
    return await make_vigil(registry=RegistrySettings(kind="webhook", webhook=where))


async def two_promoted(vigil: Vigil, clock: FakeClock) -> None:
    await vigil.registry.register(M, "v1", stage="stable", actor="@ops")
    clock.advance(minutes=5)
    await vigil.registry.register(M, "v2", actor="@ops")
    await vigil.registry.promote(M, "v2", actor="@ops")


async def test_each_move_is_a_signed_post_with_an_idempotency_key(
    make_vigil: MakeVigil, serving: tuple[ServingLayer, str], clock: FakeClock
) -> None:
    layer, url = serving
    vigil = await on_webhook(make_vigil, url)
    await two_promoted(vigil, clock)
    await vigil.registry.set_canary(M, "v1", 10, actor="@ops")

    events = [(e["event"], e["stable"], e["traffic"]) for e in layer.received]
    assert events == [
        ("promote", {"from": None, "to": "v1"}, {"v1": 100}),
        ("promote", {"from": "v1", "to": "v2"}, {"v2": 100}),
        ("canary", {"from": "v2", "to": "v2"}, {"v1": 10, "v2": 90}),
    ]
    assert [e["idempotency_key"] for e in layer.received] == layer.keys
    assert len(set(layer.keys)) == 3


async def test_a_refused_rollback_says_so_and_changes_nothing_in_vigil(
    make_vigil: MakeVigil, serving: tuple[ServingLayer, str], clock: FakeClock
) -> None:
    layer, url = serving
    vigil = await on_webhook(make_vigil, url)
    await two_promoted(vigil, clock)
    before = (await vigil.registry.versions(M), await vigil.registry.history(M))
    layer.secret = "the-serving-layer-rotated-its-secret"  # signatures no longer verify

    reply = await vigil.commands.run_rollback(M, actor="@alice")

    assert "Rollback of fraud-scorer did not happen" in reply.text, reply.text
    assert "refused the rollback of fraud-scorer (HTTP 401: bad signature)" in reply.text
    assert "Vigil's record is unchanged" in reply.text, reply.text
    assert (await vigil.registry.versions(M), await vigil.registry.history(M)) == before

    layer.secret, layer.status = SECRET, 503
    with pytest.raises(RegistryError, match="HTTP 503: canary controller is busy"):
        await vigil.registry.rollback(M, actor="@alice")
    assert (await vigil.registry.versions(M), await vigil.registry.history(M)) == before

    layer.status = 200
    reply = await vigil.commands.run_rollback(M, actor="@alice")
    assert "rolled back: v2 → v1 (last known good)" in reply.text, reply.text
    last = layer.received[-1]
    assert (last["event"], last["stable"], last["actor"]) == (
        "rollback",
        {"from": "v2", "to": "v1"},
        "@alice",
    )


async def test_no_answer_is_a_clear_refusal(make_vigil: MakeVigil, clock: FakeClock) -> None:
    vigil = await on_webhook(make_vigil, "http://127.0.0.1:9/vigil/moves")  # nobody listens
    with pytest.raises(RegistryError, match="No answer from the serving webhook at "):
        await vigil.registry.register(M, "v1", stage="stable", actor="@ops")
    assert await vigil.registry.models() == []
