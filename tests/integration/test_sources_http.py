"""HttpCheck against a local dependency stand-in; latency comes from a scripted clock."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.sources.base import Source
from bot.sources.http import HttpCheck, dependency_states, dotted

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def clock(*readings: float) -> Callable[[], float]:
    """A monotonic clock that returns the given readings in order (and fails if overused)."""
    it = iter(readings)
    return lambda: next(it)


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    never = asyncio.Event()

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "checks": [{"db": "degraded"}]})

    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"status": "down"}, status=503)

    async def text(request: web.Request) -> web.Response:
        return web.Response(text="fine")

    async def slow(request: web.Request) -> web.Response:
        await never.wait()
        return web.Response(text="late")

    app = web.Application()
    for path, handler in [("/health", health), ("/broken", broken), ("/text", text)]:
        app.router.add_get(path, handler)
    app.router.add_get("/slow", slow)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/")).rstrip("/")
    finally:
        never.set()
        await server.close()


async def test_up_with_exact_latency(upstream: str) -> None:
    check = HttpCheck("feature-store", upstream + "/health", clock=clock(10.0, 10.125))
    assert isinstance(check, Source)
    up, latency = await check.collect(NOW)
    assert (up.metric, up.value, dict(up.labels), up.at) == (
        "dependency_up",
        1.0,
        {"dependency": "feature-store", "service": "feature-store"},
        NOW,
    )
    assert (latency.metric, latency.value) == ("dependency_latency_ms", 125.0)
    assert check.last is not None
    assert (check.last.up, check.last.status, check.last.reason) == (True, 200, "")


@pytest.mark.parametrize(
    ("path", "options", "reason"),
    [
        ("/broken", {}, "HTTP 503, expected 200"),
        ("/health", {"max_latency_ms": 100}, "slow: 125 ms > 100 ms"),
        ("/health", {"json_field": "checks.0.db", "expect_value": "ok"}, "is 'degraded'"),
        ("/health", {"json_field": "checks.1.db"}, "'checks.1.db' is missing"),
        ("/text", {"json_field": "status"}, "not JSON"),
    ],
)
async def test_down_reasons(upstream: str, path: str, options: dict[str, Any], reason: str) -> None:
    check = HttpCheck("dep", upstream + path, clock=clock(0.0, 0.125), **options)
    result = await check.check()
    assert not result.up
    assert reason in result.reason
    up, latency = await HttpCheck(
        "dep", upstream + path, clock=clock(0.0, 0.125), **options
    ).collect(NOW)
    assert (up.value, latency.value) == (0.0, 125.0)


async def test_json_field_and_status_as_expected(upstream: str) -> None:
    check = HttpCheck(
        "dep",
        upstream + "/broken",
        expect_status=503,
        json_field="status",
        expect_value="down",
        clock=clock(0.0, 0.001),
    )
    assert (await check.check()).up


async def test_timeout_is_down_without_latency(upstream: str) -> None:
    check = HttpCheck("dep", upstream + "/slow", timeout_s=0.05, clock=clock(0.0))
    samples = await check.collect(NOW)
    assert [(s.metric, s.value) for s in samples] == [("dependency_up", 0.0)]
    assert check.last is not None
    assert check.last.reason == "timed out after 0.05s"


async def test_refused_is_down_with_the_reason_in_words_and_no_secret() -> None:
    port = closed_port()
    url = f"http://ops:pa55-word-9@127.0.0.1:{port}/health?deep=1&token=tok9f8e7d6c5b4a3928"
    check = HttpCheck("feature-store", url, interval=timedelta(seconds=30), clock=clock(0.0))
    [up] = await check.collect(NOW)
    assert up.value == 0.0
    shown = f"http://127.0.0.1:{port}/health?deep=1"
    assert up.notes["detail"] == (
        f"connection refused ({shown}); check feature-store, Vigil checks again every 30 s"
    )
    assert check.state is not None
    assert check.state.to_json() == {
        "state": "down",
        "since": "2025-03-01T12:00:00Z",
        "url": shown,
        "reason": "connection refused",
    }
    everything = repr((up, check.state, check.last))
    assert "pa55-word-9" not in everything
    assert "tok9f8e7d6c5b4a3928" not in everything


async def test_healthz_states_are_unknown_until_checked_then_the_last_outcome(
    upstream: str,
) -> None:
    check = HttpCheck("feature-store", upstream + "/health", clock=clock(0.0, 0.01))
    assert dependency_states([check]) == {
        "feature-store": {"state": "unknown", "reason": "not checked yet"}
    }
    await check.collect(NOW)
    assert dependency_states([check]) == {
        "feature-store": {
            "state": "up",
            "since": "2025-03-01T12:00:00Z",
            "url": upstream + "/health",
        }
    }


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_dotted_paths() -> None:
    doc = {"a": {"b": [1, {"c": None}]}}
    assert dotted(doc, "a.b.0") == 1
    assert dotted(doc, "a.b.1.c") is None
    assert dotted(doc, "a.b.2") is not None  # the missing sentinel, distinct from None
    assert dotted(doc, "a.x") is dotted(doc, "a.b.2")
