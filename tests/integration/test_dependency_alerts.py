"""Two HTTP dependencies down are two incidents, each naming its dependency and why.

The rule runner is ticked by hand on the fake clock; the dependencies are loopback ports
nobody listens on (connection refused), so the checks are real HTTP. ``/healthz`` shows
each dependency's own state next to the checker's, and Vigil's own status stays ``ok``.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.config.load import HttpCheckSettings, SourcesSettings
from tests.conftest import MakeVigil
from tests.support import FakeClock

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_healthz() -> dict[str, Any]:
    """The README's /healthz example with dependencies (section "Health, load and …")."""
    section = README.read_text().split("### Health, load and what Vigil still owes")[1]
    blocks = re.findall(r"```json\n(.*?)```", section, re.DOTALL)
    body: dict[str, Any] = next(json.loads(b) for b in blocks if '"dependencies"' in b)
    return body


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_two_dependencies_down_are_two_named_incidents(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    ports = {"feature-store": closed_port(), "vector-db": closed_port()}
    checks = tuple(
        HttpCheckSettings(name, f"http://127.0.0.1:{port}/health") for name, port in ports.items()
    )
    vigil = await make_vigil(sources=SourcesSettings(system=False, http_checks=checks))
    held = next(r for r in vigil.rules_runner.rules if r.name == "dependency-degraded")
    await vigil.rules_runner.tick(clock())
    clock.advance(seconds=held.for_.total_seconds() + 1)
    opened = await vigil.rules_runner.tick(clock())
    assert [o.action for o in opened] == ["opened", "opened"]

    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        resp = await client.get("/api/v1/incidents")
        listed: list[dict[str, Any]] = (await resp.json())["incidents"]
        health = await (await client.get("/healthz")).json()

    titles = sorted(i["title"] for i in listed)
    assert len(titles) == 2, listed
    for title, (name, port) in zip(titles, sorted(ports.items()), strict=True):
        assert title == (
            f"{name} is down — connection refused (http://127.0.0.1:{port}/health); "
            f"check {name}, Vigil checks again every 15 s"
        )
    assert sorted(i["service"] for i in listed) == ["feature-store", "vector-db"]

    assert health["status"] == "ok", health
    assert health["sources"]["feature-store"] == "up"  # the checker ran …
    down = health["dependencies"]["feature-store"]  # … and found it down
    assert (down["state"], down["reason"]) == ("down", "connection refused")
    assert health["dependencies"]["vector-db"]["state"] == "down"

    shown = readme_healthz()  # the README shows the shape /healthz answers
    assert set(shown) <= set(health)
    assert set(shown["dependencies"]["feature-store"]) == set(down)
