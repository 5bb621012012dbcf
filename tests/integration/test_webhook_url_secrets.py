"""A token in a webhook URL stays out of the timeline, the database and the log, even when
the receiver echoes the request back in its error (many answer "no route for POST <path>").

A running Vigil pages @alice through ``notify: webhook`` to a local receiver that refuses
every request with a 404 quoting its path, query and Basic auth; the refusal must still say
what happened ("refused ... HTTP 404") with every secret of the URL replaced.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import text as sql

from bot.config.load import Settings, load_settings
from bot.ingest.generic import parse_generic
from tests.conftest import MakeVigil
from tests.support import FakeClock

HOOK_SECRET = "webhook-signing-secret-0123456789"
TOKEN = "tok-9f8e7d6c5b4a"
KEY = "k/ey+value=="  # percent-encoded in the URL; the receiver echoes it decoded
PASSWORD = "hunter2-basic"


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    """A receiver that refuses with 404 and echoes what it got; yields its base URL."""

    async def refuse(request: web.Request) -> web.Response:
        said = (
            f"no hook at {request.raw_path} (decoded: {request.path_qs}); "
            f"auth {request.headers.get('Authorization')}; query {dict(request.query)}"
        )
        return web.Response(status=404, text=said)

    app = web.Application()
    app.router.add_post("/{tail:.*}", refuse)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"{host}:{port}"
    finally:
        await runner.cleanup()


async def test_a_token_in_the_webhook_url_is_never_written(
    make_vigil: MakeVigil,
    settings: Settings,
    clock: FakeClock,
    tmp_path: Path,
    echo: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = (
        f"http://ops:{PASSWORD}@{echo}/hooks/vigil?team=ml&token={TOKEN}"
        "&api_key=k%2Fey%2Bvalue%3D%3D"
    )
    path = tmp_path / "vigil.yaml"
    path.write_text(
        f"""
escalation:
  levels:
    - {{notify: ["@alice"], wait: 5m}}
notify:
  order: [webhook]
  webhook: {{url: "{url}"}}
"""
    )
    env = {"VIGIL_DATABASE_URL": settings.database_url, "VIGIL_WEBHOOK_SECRET": HOOK_SECRET}
    loaded = load_settings(path, env)
    vigil = await make_vigil(oncall=loaded.oncall, notify=loaded.notify)
    alert = {
        "title": "Accuracy below SLA on fraud-scorer",
        "labels": {"alertname": "ModelAccuracyBelowSLA", "model": "fraud-scorer", "sla": "0.9"},
        "value": 0.71,
    }
    [outcome] = await vigil.ingestor.ingest(parse_generic(alert, now=clock()))
    assert outcome.incident_id is not None

    view = await vigil.incidents.get(outcome.incident_id)
    [refused] = [e.text for e in view.timeline if e.kind == "notify"]
    assert "HTTP 404: no hook at /hooks/vigil?team=ml&token=********" in refused

    async with vigil.db.engine.connect() as conn:
        tables = [
            r[0]
            for r in await conn.execute(
                sql(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    if vigil.db.is_sqlite
                    else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                )
            )
        ]
        stored = [
            repr(tuple(row))
            for t in tables
            for row in await conn.execute(sql(f'SELECT * FROM "{t}"'))  # noqa: S608 (our tables)
        ]
    written = {"timeline": [e.text for e in view.timeline], "database": stored}
    written["log"] = [r.getMessage() for r in caplog.records]
    for where, texts in written.items():
        for secret in (TOKEN, KEY, "k%2Fey%2Bvalue", PASSWORD, "b3BzOmh1bnRlcjItYmFzaWM="):
            assert not [t for t in texts if secret in t], f"{secret!r} written to the {where}"
    assert any("HTTP 404" in t for t in written["log"])
