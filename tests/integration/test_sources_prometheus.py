"""PrometheusSource against a local server that answers with Prometheus's real JSON shapes."""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.sources.base import Source, SourceStatus, SourceUnavailable, poll
from bot.sources.prometheus import PrometheusSource

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TS = 1740830400.0  # NOW as unix seconds

VECTOR = {
    "status": "success",
    "data": {
        "resultType": "vector",
        "result": [
            {
                "metric": {"__name__": "up", "job": "api", "instance": "10.0.0.1:9100"},
                "value": [TS, "1"],
            },
            {"metric": {"job": "api", "instance": "10.0.0.2:9100"}, "value": [TS, "0.25"]},
            {"metric": {"job": "api", "instance": "10.0.0.3:9100"}, "value": [TS, "NaN"]},
            {"metric": {"job": "api", "instance": "10.0.0.4:9100"}, "value": [TS, "+Inf"]},
        ],
    },
}
SCALAR = {"status": "success", "data": {"resultType": "scalar", "result": [TS, "42.5"]}}
MATRIX = {"status": "success", "data": {"resultType": "matrix", "result": []}}
BAD_DATA = {
    "status": "error",
    "errorType": "bad_data",
    "error": 'invalid parameter "query": 1:5: parse error: unexpected end of input',
}
TIMEOUT = {"status": "error", "errorType": "timeout", "error": "query timed out in expression"}


class FakePrometheus:
    """Answers ``/api/v1/query`` by the PromQL text; ``slow`` waits on an Event never set."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        self.never = asyncio.Event()

    async def query(self, request: web.Request) -> web.Response:
        self.seen.append(dict(request.query))
        q = request.query["query"]
        if q == "slow":
            await self.never.wait()
        if q == "up":
            return web.json_response(VECTOR)
        if q == "scalar(1)":
            return web.json_response(SCALAR)
        if q == "up[5m]":
            return web.json_response(MATRIX)
        if q == "heavy":
            return web.json_response(TIMEOUT, status=503)
        if q == "proxy":
            return web.Response(text="<html>bad gateway</html>", status=502)
        return web.json_response(BAD_DATA, status=400)


@pytest.fixture
async def prom() -> AsyncIterator[tuple[FakePrometheus, str]]:
    fake = FakePrometheus()
    app = web.Application()
    app.router.add_get("/api/v1/query", fake.query)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, str(server.make_url("/")).rstrip("/")
    finally:
        fake.never.set()
        await server.close()


async def test_vector_maps_to_samples_with_labels(prom: tuple[FakePrometheus, str]) -> None:
    fake, url = prom
    source = PrometheusSource(url, {"target_up": "up"}, timeout_s=5)
    assert isinstance(source, Source)
    samples = await source.collect(NOW)
    by_instance = {s.labels["instance"]: s for s in samples}
    # NaN is dropped, +Inf kept; __name__ is not a label of ours.
    assert sorted(by_instance) == ["10.0.0.1:9100", "10.0.0.2:9100", "10.0.0.4:9100"]
    first = by_instance["10.0.0.1:9100"]
    assert (first.metric, first.value, first.at) == ("target_up", 1.0, NOW)
    assert dict(first.labels) == {"job": "api", "instance": "10.0.0.1:9100"}
    assert by_instance["10.0.0.2:9100"].value == 0.25
    assert math.isinf(by_instance["10.0.0.4:9100"].value)
    assert fake.seen == [{"query": "up"}]


async def test_scalar_and_pinned_time(prom: tuple[FakePrometheus, str]) -> None:
    fake, url = prom
    source = PrometheusSource(url + "/", {"answer": "scalar(1)"}, timeout_s=5, send_time=True)
    [sample] = await source.collect(NOW)
    assert (sample.metric, sample.value, dict(sample.labels)) == ("answer", 42.5, {})
    assert fake.seen == [{"query": "scalar(1)", "time": f"{TS:.3f}"}]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("rate(", "bad_data: invalid parameter"),
        ("heavy", "timeout: query timed out"),
        ("proxy", "HTTP 502, not JSON"),
        ("up[5m]", "resultType 'matrix' is not supported"),
    ],
)
async def test_errors_name_metric_and_query(
    prom: tuple[FakePrometheus, str], query: str, words: str
) -> None:
    _, url = prom
    source = PrometheusSource(url, {"target_up": "up", "broken": query}, timeout_s=5)
    with pytest.raises(SourceUnavailable) as err:
        await source.collect(NOW)
    assert err.value.retryable
    assert err.value.source == "prometheus"
    assert f"metric 'broken' query {query!r}" in err.value.reason
    assert words in err.value.reason
    assert "target_up" not in err.value.reason  # the good query is not blamed


async def test_slow_query_times_out(prom: tuple[FakePrometheus, str]) -> None:
    _, url = prom
    source = PrometheusSource(url, {"lag": "slow"}, timeout_s=0.05)
    with pytest.raises(SourceUnavailable, match=r"metric 'lag' query 'slow' timed out after 0.05s"):
        await source.collect(NOW)


async def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = PrometheusSource(f"http://127.0.0.1:{port}", {"target_up": "up"}, timeout_s=5)
    with pytest.raises(SourceUnavailable, match="cannot reach"):
        await source.collect(NOW)


async def test_poll_folds_failure_into_status(prom: tuple[FakePrometheus, str]) -> None:
    _, url = prom
    bad = PrometheusSource(url, {"broken": "rate("}, timeout_s=5)
    samples, status = await poll(bad, NOW, SourceStatus.up(NOW))
    assert samples == []
    assert status.state == "unavailable"
    assert "bad_data" in status.reason
