"""The retrain playbook against a real HTTP server on 127.0.0.1, and a rollback playbook on
the built-in registry in a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.core.resources import bundled
from bot.core.secret import Secret
from bot.incidents.service import IncidentService
from bot.playbooks.history import RunLog
from bot.playbooks.loader import load_playbook, load_playbooks
from bot.playbooks.runner import PlaybookRunner, StepRecord
from bot.registry.builtin import BuiltinRegistry
from bot.registry.fake import InMemoryRegistry
from bot.store.db import Database
from tests.support import FakeClock

M = "fraud-scorer"


class Trainer:
    """A stand-in training service: answers with ``status`` and keeps what it was sent."""

    def __init__(self) -> None:
        self.status = 202
        self.received: list[tuple[dict[str, Any], str | None]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((await request.json(), request.headers.get("Authorization")))
        return web.json_response({"echo": request.headers.get("Authorization")}, status=self.status)


@pytest.fixture
async def trainer() -> AsyncIterator[tuple[Trainer, str]]:
    t = Trainer()
    app = web.Application()
    app.router.add_post("/retrain", t.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        yield t, str(server.make_url("/retrain"))


def runner(clock: FakeClock, records: list[StepRecord]) -> PlaybookRunner:
    async def record(r: StepRecord) -> None:
        records.append(r)

    return PlaybookRunner(InMemoryRegistry(clock), clock=clock, record=record)


async def test_retrain_posts_the_model_and_incident_and_accepts_202(
    trainer: tuple[Trainer, str], clock: FakeClock
) -> None:
    t, url = trainer
    records: list[StepRecord] = []
    book = load_playbooks(bundled("playbooks"))["retrain"]
    result = await runner(clock, records).run(
        book, {"model": M, "incident": 7, "retrain_url": url}, actor="@alice"
    )
    assert result.ok, result.summary
    assert t.received == [
        ({"model": M, "incident": 7, "reason": "requested by Vigil for incident #7"}, None)
    ]
    assert result.steps[0].message == f"POST to {url} returned 202"
    assert result.steps[1].message.startswith("Retraining of fraud-scorer requested: POST")
    assert [(r.position, r.phase, r.ok) for r in records][-1] == (2, "finished", True)


async def test_retrain_500_fails_and_stops_the_run_naming_the_status(
    trainer: tuple[Trainer, str], clock: FakeClock
) -> None:
    t, url = trainer
    t.status = 500
    book = load_playbooks(bundled("playbooks"))["retrain"]
    result = await runner(clock, []).run(
        book, {"model": M, "incident": 7, "retrain_url": url}, actor="@alice"
    )
    assert not result.ok
    assert result.steps[0].message == f"POST to {url} returned 500, expected 202 or 200"
    assert [s.status for s in result.steps] == ["failed", "not run"]
    assert "returned 500" in result.summary
    assert "step 2 not run" in result.summary


async def test_a_token_reaches_the_server_but_never_a_message(
    trainer: tuple[Trainer, str], clock: FakeClock, tmp_path: Any
) -> None:
    t, url = trainer
    t.status = 503
    path = tmp_path / "retrain.yaml"
    path.write_text(
        "steps:\n"
        "  - action: http.post\n"
        "    params:\n"
        "      url: '{{ retrain_url }}?key={{ retrain_token }}'\n"
        "      headers: {Authorization: 'Bearer {{ retrain_token }}'}\n"
        "      json: {model: '{{ model }}'}\n"
    )
    records: list[StepRecord] = []
    result = await runner(clock, records).run(
        load_playbook(path),
        {"model": M, "retrain_url": url, "retrain_token": Secret("tok-123")},
        actor="@alice",
    )
    assert t.received[0][1] == "Bearer tok-123"
    assert not result.ok
    assert all("tok-123" not in r.message for r in records)
    assert "tok-123" not in result.summary


async def test_unreachable_endpoint_is_a_failed_step(clock: FakeClock) -> None:
    async with TestServer(web.Application(), host="127.0.0.1") as server:
        url = str(server.make_url("/retrain"))
    # the server is closed now: nothing listens on that port
    book = load_playbooks(bundled("playbooks"))["retrain"]
    result = await runner(clock, []).run(
        book, {"model": M, "incident": 7, "retrain_url": url}, actor="@alice"
    )
    assert result.steps[0].status == "failed"
    assert result.steps[0].message.startswith(f"POST to {url} failed: Client")


async def test_rollback_playbook_on_the_builtin_registry(
    database_url: str, clock: FakeClock
) -> None:
    db = Database(database_url)
    await db.migrate()
    try:
        registry = BuiltinRegistry(db, clock)
        for v in ("v1", "v2", "v3"):
            await registry.register(M, v, stage="stable", actor="@ci")
        incident = await IncidentService(db, clock=clock).open(title="bad scores", actor="@a")
        log = RunLog(db, clock)
        book = load_playbooks(bundled("playbooks"))["rollback"]
        result = await PlaybookRunner(registry, clock=clock, record=log.record).run(
            book, {"model": M, "version": None, "incident": incident.id}, actor="@alice"
        )
        await log.finish(result)
        assert result.ok, result.summary
        assert "v2 replaced v3" in result.steps[2].message
        stable = await registry.stable(M)
        assert stable is not None
        assert stable.version == "v2"
        run = await log.run(result.run_id)
        assert run is not None
        assert (run.playbook, run.incident_id, run.status) == ("rollback", incident.id, "ok")
        steps = [(s.position, s.name, s.status) for s in await log.steps(result.run_id)]
        assert steps == [(1, "announce", "ok"), (2, "rollback", "ok"), (3, "result", "ok")]
    finally:
        await db.dispose()
