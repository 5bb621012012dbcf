"""Pushed samples behind a load balancer: any replica takes them, whichever evaluates judges them.

Real processes, real PostgreSQL, real clock. Replicas A and B share one database, each
running the rules (``error-rate-high`` with ``for: 2s`` here, sources polled every second).
A batch job's ``error_rate`` of 7.5 % is pushed to B, and B is killed with SIGKILL the moment
the push is acknowledged: A opens the P1 all the same, from the sample B stored. A retry of
an older reading (0.2 %, stamped a minute earlier) then reaches A and changes nothing: the
newer sample stands, whichever replica took each, and the incident stays open. A fresh
replica C takes the fix (0.2 %, now), and A resolves the incident.
"""

from __future__ import annotations

import asyncio
import re
import signal
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.conftest import postgres_url
from tests.integration.procs import Child, clean_env, serving, until

TOKEN = "replicas-samples-token-8d2a"
BUDGET = 120.0


def place(tmp_path: Path, name: str) -> Path:
    """One replica's working directory: the journey's ``vigil.yaml`` and a fast rule."""
    where = tmp_path / name
    (where / "rules").mkdir(parents=True)
    (where / "rules" / "fast.yaml").write_text(
        yaml.safe_dump({"rules": [{"name": "error-rate-high", "for": "2s"}]})
    )
    config = {
        "rules_dir": "rules",
        "sources": {"interval": "1s", "system": False},
        "auto_resolve": "1s",
        "timer_poll": "1s",
    }
    (where / "vigil.yaml").write_text(yaml.safe_dump(config))
    return where


async def push(
    http: aiohttp.ClientSession, base: str, value: float, *, at: datetime | None = None
) -> None:
    sample: dict[str, Any] = {"metric": "error_rate", "value": value}
    sample["labels"] = {"service": "payments"}
    if at is not None:
        sample["timestamp"] = at.isoformat()
    async with http.post(f"{base}/api/v1/samples", json={"samples": [sample]}) as resp:
        answer = await resp.json()
        assert resp.status == 200, answer
        assert answer == {"accepted": 1}, answer


async def incidents(http: aiohttp.ClientSession, base: str) -> list[dict[str, Any]]:
    async with http.get(f"{base}/api/v1/incidents?all=true") as resp:
        assert resp.status == 200, await resp.text()
        found: list[dict[str, Any]] = (await resp.json())["incidents"]
        return found


async def evaluations(http: aiohttp.ClientSession, base: str) -> float:
    async with http.get(f"{base}/metrics") as resp:
        text = await resp.text()
    found = re.search(
        r'^vigil_rule_evaluation_seconds_count\{group="infrastructure"\} (\S+)$', text, re.M
    )
    return float(found.group(1)) if found else 0.0


async def evaluated(child: Child, http: aiohttp.ClientSession, base: str, n: int) -> None:
    """Return once ``base``'s rules have been evaluated ``n`` more times."""
    start = await evaluations(http, base)

    async def done() -> bool:
        return await evaluations(http, base) >= start + n

    await until(child, done)


@pytest.mark.postgres
async def test_a_sample_pushed_to_one_replica_is_judged_by_another_and_survives_its_death(
    tmp_path: Path,
) -> None:
    shared = await postgres_url()
    env = clean_env(VIGIL_DATABASE_URL=shared, VIGIL_INGEST_TOKEN=TOKEN, VIGIL_API_TOKEN=TOKEN)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(asyncio.timeout(BUDGET))

        async def start(name: str) -> tuple[Child, aiohttp.ClientSession, str]:
            return await stack.enter_async_context(serving(place(tmp_path, name), env, TOKEN))

        (a, http, base_a), (b, _, base_b) = await asyncio.gather(start("a"), start("b"))
        assert await incidents(http, base_a) == []

        # B takes the bad reading and dies before anyone asks it anything.
        await push(http, base_b, 0.075)
        await b.stop(signal.SIGKILL)

        async def opened() -> dict[str, Any] | None:
            listed = await incidents(http, base_a)
            return next((i for i in listed if i["state"] != "resolved"), None)

        first = await until(a, opened)
        assert first["severity"] == "P1", first
        assert "payments" in first["title"], first

        # A late retry of an older reading, to the other replica: the newer sample stands.
        await push(http, base_a, 0.002, at=datetime.now(UTC) - timedelta(minutes=1))
        await evaluated(a, http, base_a, 4)  # past `for: 2s` and `auto_resolve: 1s` twice
        (still,) = await incidents(http, base_a)
        assert still["id"] == first["id"]
        assert still["state"] != "resolved", still

        # The fix, pushed to a replica that was not there when the incident opened.
        (_, _, base_c) = await start("c")
        await push(http, base_c, 0.002)

        async def resolved() -> dict[str, Any] | None:
            listed = await incidents(http, base_a)
            return next((i for i in listed if i["state"] == "resolved"), None)

        done = await until(a, resolved)
        assert done["id"] == first["id"]
        assert [i["id"] for i in await incidents(http, base_c)] == [first["id"]]
