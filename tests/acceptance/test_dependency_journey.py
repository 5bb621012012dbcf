"""An upstream dependency goes down and comes back: Vigil says which one, and why.

``vigil serve`` as a process (real clock) checks two HTTP dependencies that the test runs on
loopback: ``feature-store`` (its URL carries a password and a token, which must never be
shown) and ``vector-db``. While both answer 200 nothing opens. With ``feature-store``
stopped its port refuses connections: an incident opens whose title names it, the reason
and the URL, ``/healthz`` shows it down (since when) while Vigil itself stays ``ok``, and
``vector-db``, still up, is not in that incident. Started again, the alert clears and,
after the quiet period, the incident resolves itself and says so. Short intervals come
from ``vigil.yaml`` and a rules file, never from patched code; every wait is a bounded poll.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from tests.conftest import postgres_url
from tests.integration.procs import BIN, POLL, Child, clean_env, free_port, running

BUDGET = 60.0
PASSWORD = "hunter2-feature-pass"
TOKEN = "tok9f8e7d6c5b4a39281706"


class Upstream:
    """A dependency the test switches on and off; stopped, its port refuses connections."""

    def __init__(self) -> None:
        self.port = free_port()
        self.hits = 0
        self._runner: web.AppRunner | None = None

    async def health(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.json_response({"status": "ok"})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/health", self.health)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def get(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as resp:
        return await resp.json()


async def until(vigil: Child, what: str, poll: Any, ready: Any, within: float = 20.0) -> Any:
    """Call ``poll()`` until ``ready(result)``; fail naming ``what`` and the last result."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await poll()
        if ready(result):
            return result
        assert not await vigil.exited_within(POLL), vigil.describe()
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"{what} within {within:g} s; last seen: {result!r}")


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_a_dependency_down_opens_a_named_incident_that_resolves_when_it_is_back(
    tmp_path: Path, database: str
) -> None:
    env = clean_env()
    if database == "postgres":
        env["VIGIL_DATABASE_URL"] = await postgres_url()
    features, vectors = Upstream(), Upstream()
    shown_url = f"http://127.0.0.1:{features.port}/health"
    secret_url = f"http://vigil:{PASSWORD}@127.0.0.1:{features.port}/health?token={TOKEN}"
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "fast.yaml").write_text(
        yaml.safe_dump({"rules": [{"name": "dependency-degraded", "for": "1s"}]})
    )
    config = {
        "rules_dir": "rules",
        "auto_resolve": "5s",
        "timer_poll": "1s",
        "sources": {
            "interval": "1s",
            "system": False,
            "http_checks": [
                {"name": "feature-store", "url": secret_url},
                {"name": "vector-db", "url": f"http://127.0.0.1:{vectors.port}/health"},
            ],
        },
    }
    (tmp_path / "vigil.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [str(BIN / "vigil"), "serve", "--port", str(port)]
    await features.start()
    await vectors.start()
    try:
        async with (
            asyncio.timeout(BUDGET),
            running("serve", argv, log_path=tmp_path / "serve.log", cwd=tmp_path, env=env) as vigil,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        ):
            await vigil.wait_http(f"{base}/healthz")

            async def health() -> dict[str, Any]:
                body: dict[str, Any] = await get(http, f"{base}/healthz")
                return body

            async def incidents() -> list[dict[str, Any]]:
                body = await get(http, f"{base}/api/v1/incidents?all=true")
                listed: list[dict[str, Any]] = body["incidents"]
                return listed

            def states(body: dict[str, Any]) -> dict[str, str]:
                deps = body.get("dependencies", {})
                return {name: dep["state"] for name, dep in deps.items()}

            # Both answer 200: both up, nothing opens (past the rule's `for` of 1 s).
            both_up = {"feature-store": "up", "vector-db": "up"}
            await until(
                vigil, "/healthz shows both dependencies up", health, lambda b: states(b) == both_up
            )
            checked = features.hits

            async def hits() -> int:
                return features.hits

            await until(
                vigil, "two more checks", hits, lambda n: n >= checked + 2
            )  # two more checks, all 200
            assert await incidents() == []

            # feature-store stops: connection refused.
            await features.stop()
            [opened] = await until(vigil, "an incident opens", incidents, bool)
            title = opened["title"]
            assert title.startswith("feature-store is down — connection refused ("), title
            assert shown_url in title, title

            body = await until(
                vigil,
                "/healthz shows feature-store down",
                health,
                lambda b: states(b).get("feature-store") == "down",
            )
            assert body["status"] == "ok", body  # Vigil is fine; it is telling you about it
            down = body["dependencies"]["feature-store"]
            assert down["reason"] == "connection refused", down
            assert down["url"] == shown_url, down
            since = datetime.fromisoformat(down["since"])
            assert since <= datetime.now(UTC), down
            assert body["dependencies"]["vector-db"]["state"] == "up", body

            detail = await get(http, f"{base}/api/v1/incidents/{opened['id']}")
            named = {a["labels"].get("dependency") for a in detail["alerts"]}
            assert named == {"feature-store"}, detail["alerts"]  # vector-db is not in it
            assert [i["id"] for i in await incidents()] == [opened["id"]]

            # Back up: the alert clears, and after 5 s of quiet the incident resolves itself.
            await features.start()
            n = opened["id"]
            resolved = await until(
                vigil,
                "the incident resolves itself",
                lambda: get(http, f"{base}/api/v1/incidents/{n}"),
                lambda b: b["state"] == "resolved",
            )
            texts = [e["text"] for e in resolved["timeline"]]
            [closing] = [e["text"] for e in resolved["timeline"] if e["kind"] == "state"]
            assert closing.startswith("Resolved by vigil: every alert cleared at "), texts
            assert states(await health())["feature-store"] == "up"

            shown = repr(resolved) + repr(await health()) + repr(await incidents())
            for secret in (PASSWORD, TOKEN):
                assert secret not in shown
                assert secret not in vigil.log()
    finally:
        await features.stop()
        await vectors.stop()
