"""A user's first watch: a real Prometheus scrapes an exporter, ``vigil serve`` polls it.

Configured as the README shows (``sources.prometheus.url`` and ``queries``), with only the
error-rate rule's ``for`` shortened through a rules file: the exporter's 7.5 % error ratio
must open an incident within a few polls, by the product's own clock. (Prometheus stamps an
instant query's result with its own evaluation time, later than Vigil's poll began; those
samples were once dropped as "from the future", and no incident ever opened.)

Needs ``/usr/bin/prometheus``; skips without it, fails under ``CI=true``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.conftest import postgres_url
from tests.integration.procs import BIN, POLL, clean_env, free_port, running
from tests.integration.test_prometheus_e2e import QUERIES, Prom, prometheus  # noqa: F401

BUDGET = 90.0


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_an_error_ratio_scraped_by_prometheus_opens_an_incident(
    prometheus: Prom,  # noqa: F811
    tmp_path: Path,
    database: str,
) -> None:
    env = clean_env()
    if database == "postgres":
        env["VIGIL_DATABASE_URL"] = await postgres_url()
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "fast.yaml").write_text(
        yaml.safe_dump({"rules": [{"name": "error-rate-high", "for": "1s"}]})
    )
    config = {
        "rules_dir": "rules",
        "sources": {
            "interval": "1s",
            "system": False,
            "prometheus": {"url": prometheus.base, "queries": QUERIES},
        },
    }
    (tmp_path / "vigil.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [str(BIN / "vigil"), "serve", "--port", str(port)]
    async with (
        asyncio.timeout(BUDGET),
        running("serve", argv, log_path=tmp_path / "serve.log", cwd=tmp_path, env=env) as vigil,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
    ):
        await vigil.wait_http(f"{base}/healthz")
        incidents: list[dict[str, Any]] = []
        while not incidents:  # a few polls of 1 s, then `for: 1s`
            async with http.get(f"{base}/api/v1/incidents") as resp:
                incidents = (await resp.json())["incidents"]
            assert not await vigil.exited_within(POLL), vigil.describe()
        (incident,) = incidents
        assert incident["severity"] == "P1", incident
        assert incident["title"].startswith("error rate 7.5% > 1%"), incident
        async with http.get(f"{base}/healthz") as resp:
            assert (await resp.json())["sources"]["prometheus"] == "up"
