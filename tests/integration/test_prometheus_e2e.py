"""A real Prometheus, as a child process on 127.0.0.1, scraping a tiny exporter; Vigil queries it.

The exporter (aiohttp on an ephemeral loopback port) serves ``/metrics`` in Prometheus's text
format; Prometheus scrapes it every second; ``PrometheusSource.collect`` runs instant PromQL
queries over Prometheus's HTTP API until the scraped samples show up (a bounded poll, never a
sleep to win a race); the samples then go through the default rules, whose engine is pure, so
``for`` is crossed with explicit ``now`` values rather than by waiting.

Needs ``/usr/bin/prometheus`` (Debian: ``apt-get install prometheus``). Without it this test
skips, saying so; with ``CI=true`` it fails instead, so CI can never pass without running it.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config.load import PrometheusSettings, SourcesSettings
from bot.rules import Point, Series, default_rules_file, evaluate, load_rules, to_alert_in
from bot.sources.base import Sample, SourceUnavailable
from bot.sources.prometheus import PrometheusSource
from tests.conftest import MakeVigil
from tests.integration.procs import Child, free_port, in_ci, running

PROM_NAME = "prometheus"
TEST_BUDGET = 60.0  # seconds for the whole test, start-up and teardown included
READY_WITHIN = 15.0  # seconds for Prometheus to answer /-/ready
SAMPLES_WITHIN = 15.0  # seconds for the first scrape to be queryable
POLL = 0.1  # seconds between polls of the query API (spent awaiting Prometheus's exit)

EXPORTER_TEXT = """\
# HELP http_requests_errors_ratio Failed / all requests.
# TYPE http_requests_errors_ratio gauge
http_requests_errors_ratio{service="payments"} 0.075
# HELP cache_hit_ratio Cache hits / lookups.
# TYPE cache_hit_ratio gauge
cache_hit_ratio{service="search"} 0.3
"""
QUERIES = {"error_rate": "http_requests_errors_ratio", "cache_hit_rate": "cache_hit_ratio"}
BAD_QUERY = "sum(rate(http_requests_errors_ratio[1m]) by"  # a PromQL parse error


def _prometheus_binary() -> str:
    found = shutil.which(PROM_NAME) or (
        f"/usr/bin/{PROM_NAME}" if Path(f"/usr/bin/{PROM_NAME}").is_file() else None
    )
    if found is None:
        message = (
            f"{PROM_NAME} is not installed (apt-get install -y --no-install-recommends {PROM_NAME})"
        )
        if in_ci():
            pytest.fail(message + " (CI=true: the Prometheus end-to-end test must run)")
        pytest.skip(message)
    return found


@dataclass
class Prom:
    """A running Prometheus, the exporter it scrapes, and its base URL."""

    child: Child
    base: str
    exporter: str  # host:port of the exporter, as Prometheus's `instance` label


async def _metrics(request: web.Request) -> web.Response:
    return web.Response(text=EXPORTER_TEXT, content_type="text/plain", charset="utf-8")


@pytest.fixture
async def prometheus(tmp_path: Path) -> AsyncIterator[Prom]:
    """An exporter and a Prometheus scraping it every second; both stopped at teardown."""
    binary = _prometheus_binary()
    app = web.Application()
    app.router.add_get("/metrics", _metrics)
    async with TestServer(app, host="127.0.0.1") as exporter:
        target = f"127.0.0.1:{exporter.port}"
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [{"job_name": "exporter", "static_configs": [{"targets": [target]}]}],
        }
        (tmp_path / "prom.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        argv = [
            binary,
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--config.file={tmp_path / 'prom.yml'}",
        ]
        async with running(
            PROM_NAME, argv, log_path=tmp_path / "prometheus.log", cwd=tmp_path
        ) as child:
            base = f"http://127.0.0.1:{port}"
            await child.wait_http(f"{base}/-/ready", within=READY_WITHIN)
            yield Prom(child, base, target)


async def _scraped(source: PrometheusSource, prom: Prom) -> list[Sample]:
    """``collect`` until every query has a sample (at most SAMPLES_WITHIN seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SAMPLES_WITHIN
    last = "no query yet"
    while loop.time() < deadline:
        try:
            samples = await source.collect(datetime.now(UTC))
        except SourceUnavailable as exc:
            last = f"unavailable: {exc.reason}"
        else:
            if {s.metric for s in samples} == set(QUERIES):
                return samples
            last = f"samples so far: {samples}"
        if await prom.child.exited_within(POLL):
            pytest.fail(f"Prometheus exited while awaiting samples; {prom.child.describe()}")
    pytest.fail(
        f"no samples for {sorted(QUERIES)} within {SAMPLES_WITHIN}s ({last}); "
        f"{prom.child.describe()}"
    )


def _by_series(samples: list[Sample]) -> Mapping[Series, list[Point]]:
    out: dict[Series, list[Point]] = {}
    for s in samples:
        out.setdefault(Series.of(s.metric, s.labels), []).append(Point(s.at, s.value))
    return out


async def test_rules_fire_on_samples_scraped_by_a_real_prometheus(prometheus: Prom) -> None:
    async with asyncio.timeout(TEST_BUDGET):
        source = PrometheusSource(prometheus.base, QUERIES, timeout_s=5)
        samples = await _scraped(source, prometheus)

        by_metric = {s.metric: s for s in samples}
        assert len(samples) == 2, samples
        errors, cache = by_metric["error_rate"], by_metric["cache_hit_rate"]
        assert errors.value == 0.075
        assert cache.value == 0.3
        expected = {"job": "exporter", "instance": prometheus.exporter}
        assert dict(errors.labels) == {"service": "payments", **expected}
        assert dict(cache.labels) == {"service": "search", **expected}
        # Prometheus's evaluation time, which is "now" as the server saw it.
        assert abs(errors.at - datetime.now(UTC)) < timedelta(seconds=30)

        rules = load_rules([default_rules_file()])
        rule = next(r for r in rules if r.name == "error-rate-high")
        assert rule.metric == "error_rate"
        assert rule.threshold is not None
        assert rule.threshold < 0.075

        t0 = max(s.at for s in samples)
        state, first = evaluate(rules, _by_series(samples), None, t0)
        assert first == [], "nothing may fire before a rule's `for` has passed"
        later = t0 + rule.for_ + timedelta(seconds=1)
        state, changes = evaluate(rules, _by_series(samples), state, later)
        # cache-hit-low (0.3 < 0.40) holds too, but its `for` (15m) has not passed yet.
        assert [(c.status, c.rule) for c in changes] == [("firing", "error-rate-high")]
        [change] = changes
        assert change.value == 0.075
        assert change.threshold == rule.threshold
        assert change.labels["service"] == "payments"
        assert change.labels["alertname"] == "HighErrorRate"
        assert change.starts_at == later

        alert = to_alert_in(change, later)
        assert alert.status == "firing"
        assert alert.labels["service"] == "payments"
        assert alert.labels["alertname"] == "HighErrorRate"
        assert alert.value == 0.075
        assert alert.annotations["value"] == repr(0.075)
        assert alert.annotations["threshold"] == repr(rule.threshold)
        assert alert.ends_at is None


async def test_bad_promql_is_unavailable_naming_the_query(prometheus: Prom) -> None:
    async with asyncio.timeout(TEST_BUDGET):
        source = PrometheusSource(prometheus.base, {"error_rate": BAD_QUERY}, timeout_s=5)
        with pytest.raises(SourceUnavailable) as caught:
            await source.collect(datetime.now(UTC))
        reason = caught.value.reason
        assert repr(BAD_QUERY) in reason, reason
        assert "'error_rate'" in reason, reason
        assert "bad_data" in reason, reason  # Prometheus's own errorType for a parse error
        assert caught.value.source == "prometheus"
        assert prometheus.child.returncode is None, prometheus.child.describe()


async def test_vigils_rules_query_prometheus_and_open_an_incident(
    prometheus: Prom, make_vigil: MakeVigil, tmp_path: Path
) -> None:
    """The whole watch path: Prometheus scrapes, Vigil's source queries it on a tick, the
    default error-rate rule fires, and an incident opens with the value in its reason."""
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "fast.yaml").write_text(
        yaml.safe_dump({"rules": [{"name": "error-rate-high", "for": "0s"}]})
    )
    sources = SourcesSettings(
        prometheus=PrometheusSettings(url=prometheus.base, queries=QUERIES), system=False
    )
    async with asyncio.timeout(TEST_BUDGET):
        vigil = await make_vigil(rules_dir=rules_dir, sources=sources)
        await _scraped(PrometheusSource(prometheus.base, QUERIES, timeout_s=5), prometheus)
        # Two ticks: the first sees the condition (pending), the second, judged after every
        # sample's own timestamp, passes the zero-length `for` and fires.
        outcomes = await vigil.rules_runner.tick(datetime.now(UTC))
        outcomes += await vigil.rules_runner.tick(datetime.now(UTC) + timedelta(seconds=2))
        assert [o.action for o in outcomes] == ["opened"]
        assert outcomes[0].incident_id is not None
        view = await vigil.incidents.get(outcomes[0].incident_id)
    assert view.severity == "P1"
    assert view.severity_reason.startswith("P1: error rate 7.5% > 5% on service payments")
    assert vigil.rules_runner.statuses()["prometheus"] == "up"
