"""Alertmanager says "resolved": nobody is paged any more, and the incident closes itself.

``vigil serve`` as a process (real clock), a real Alertmanager notifying it, and a signed
webhook receiver standing for the pager. The P1 pages @alice; Alertmanager resolves the
alert before @bob's level is due: @bob is never paged, and once the quiet period has
passed the incident is resolved by Vigil, saying why. The same alert firing again opens a
new incident that names the first; cleared and firing again within the quiet period, it
stays that incident. Short waits come from ``vigil.yaml``, never from patched code; every
wait is bounded and polls the API or awaits a page.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.conftest import postgres_url
from tests.integration.alertmanager_proc import rfc3339
from tests.integration.procs import BIN, POLL, Child, clean_env, free_port, running
from tests.integration.test_alertmanager_e2e import (  # noqa: F401 (fixture)
    AM,
    StartAM,
    am_config,
    start_alertmanager,
)
from tests.page_receiver import SECRET, receiver

BUDGET = 120.0
TOKEN = "journey-ingest-token-7d1e"
LABELS = {"alertname": "ServiceDown", "service": "payments", "severity": "critical"}


def alert(*, ends: datetime | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": LABELS,
        "annotations": {"summary": "payments is down"},
        "startsAt": rfc3339(now - timedelta(seconds=5)),
        "endsAt": rfc3339(ends or now + timedelta(hours=1)),
    }


async def incident(http: aiohttp.ClientSession, base: str, n: int) -> dict[str, Any]:
    async with http.get(f"{base}/api/v1/incidents/{n}") as resp:
        body: dict[str, Any] = await resp.json()
    return body


async def until(
    vigil: Child, http: aiohttp.ClientSession, base: str, n: int, ready: Any
) -> dict[str, Any]:
    """Poll incident ``n`` until ``ready(body)`` (bounded by the test's budget)."""
    while True:
        body = await incident(http, base, n)
        if ready(body):
            return body
        assert not await vigil.exited_within(POLL), vigil.describe()


async def latest(http: aiohttp.ClientSession, base: str) -> int:
    async with http.get(f"{base}/api/v1/incidents?all=true") as resp:
        listed = (await resp.json())["incidents"]
    return max(int(i["id"]) for i in listed) if listed else 0


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_resolved_by_alertmanager_stops_paging_and_closes_the_incident(
    start_alertmanager: StartAM,  # noqa: F811
    tmp_path: Path,
    database: str,
) -> None:
    env = clean_env(VIGIL_INGEST_TOKEN=TOKEN, VIGIL_WEBHOOK_SECRET=SECRET)
    if database == "postgres":
        env["VIGIL_DATABASE_URL"] = await postgres_url()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with receiver() as pages:
        config = {
            "escalation": {
                "severities": ["P1"],
                "levels": [
                    {"notify": ["@alice"], "wait": "6s"},
                    {"notify": ["@bob"], "wait": "1h"},
                ],
            },
            "notify": {"order": ["webhook"], "webhook": {"url": pages.url}},
            "auto_resolve": "8s",
            "timer_poll": "1s",
        }
        (tmp_path / "vigil.yaml").write_text(yaml.safe_dump(config))
        argv = [str(BIN / "vigil"), "serve", "--port", str(port)]
        async with (
            asyncio.timeout(BUDGET),
            running("serve", argv, log_path=tmp_path / "serve.log", cwd=tmp_path, env=env) as vigil,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        ):
            await vigil.wait_http(f"{base}/healthz")
            am: AM = await start_alertmanager(am_config(f"{base}/alerts/alertmanager", token=TOKEN))

            await am.post_alerts(alert())
            await pages.wait_for("@alice", 30)
            first = await latest(http, base)

            # Resolved in Alertmanager before @bob's level is due (6 s after @alice's page).
            await am.post_alerts(alert(ends=datetime.now(UTC)))
            stopped = "Escalation stopped: every alert cleared (it resumes if one fires again)."
            await until(
                vigil, http, base, first, lambda b: stopped in [e["text"] for e in b["timeline"]]
            )
            body = await until(vigil, http, base, first, lambda b: b["state"] == "resolved")
            [resolve] = [e["text"] for e in body["timeline"] if e["kind"] == "state"]
            assert resolve.startswith("Resolved by vigil: every alert cleared at "), resolve
            assert resolve.endswith("and none fired again for 8 s"), resolve
            assert pages.pages["@bob"] == 0, "paged after every alert had cleared"

            # The same alert again: a new incident that names the first.
            await am.post_alerts(alert())
            while await latest(http, base) == first:
                assert not await vigil.exited_within(POLL), vigil.describe()
            second = await latest(http, base)
            opened = (await incident(http, base, second))["timeline"][0]["text"]
            assert f"The same alerts were incident #{first}, resolved " in opened, opened

            # Cleared, then firing again within the quiet period: still the second incident.
            await am.post_alerts(alert(ends=datetime.now(UTC)))
            await until(vigil, http, base, second, lambda b: b["cleared_at"] is not None)
            await am.post_alerts(alert())
            body = await until(
                vigil,
                http,
                base,
                second,
                lambda b: any(e["kind"] == "refiring" for e in b["timeline"]),
            )
            assert body["state"] == "triggered"
            assert await latest(http, base) == second
