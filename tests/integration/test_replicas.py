"""Two Vigil replicas on one PostgreSQL: each page goes out once, and a survivor takes over.

Two real ``vigil serve`` processes share the database. An alert posted to the first opens a
P1 that pages level 1 through a signed webhook (a receiver in this test counts every post).
Level 2's timer comes due while both replicas poll the table: one of them pages @bob, once.
The first process is then killed with SIGKILL while level 3's timer is pending, and the
second runs it within its ``timer_poll`` of the due time: @carol is paged exactly once, and
nobody twice. The claim is a row lock in effect (the timer row's ``DELETE``;
see ``bot.store.timers``), backed by the unique (incident, step, person) page row.

Real processes keep real time: the escalation waits 3 s, each replica polls every 1 s, and
every wait below is bounded and awaits an event (a post arriving, a timeline entry), never a
fixed sleep.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import postgres_url
from tests.integration.procs import BIN, POLL, Child, clean_env, free_port, running
from tests.page_receiver import SECRET, Receiver, receiver

pytestmark = pytest.mark.postgres
BUDGET = 60.0


async def timeline_texts(http: aiohttp.ClientSession, base: str, incident: int) -> list[str]:
    async with http.get(f"{base}/api/v1/incidents/{incident}") as resp:
        body: dict[str, Any] = await resp.json()
    return [e["text"] for e in body["timeline"] if e["kind"] == "page"]


async def test_two_replicas_page_once_and_the_survivor_takes_over(tmp_path: Path) -> None:
    url = await postgres_url()
    async with receiver() as rec:
        (tmp_path / "vigil.yaml").write_text(
            f"""
escalation:
  severities: [P1]
  levels:
    - {{notify: ["@alice"], wait: 3s}}
    - {{notify: ["@bob"], wait: 3s}}
    - {{notify: ["@carol"], wait: 1h}}
notify:
  order: [webhook]
  webhook: {{url: "{rec.url}"}}
timer_poll: 1s
"""
        )
        env = clean_env(VIGIL_DATABASE_URL=url, VIGIL_WEBHOOK_SECRET=SECRET)
        ports = [free_port(), free_port()]

        def serve(name: str, port: int) -> Any:
            argv = [str(BIN / "vigil"), "serve", "--port", str(port)]
            return running(name, argv, log_path=tmp_path / f"{name}.log", cwd=tmp_path, env=env)

        async with (
            asyncio.timeout(BUDGET),
            serve("replica-a", ports[0]) as a,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        ):
            base_a, base_b = (f"http://127.0.0.1:{p}" for p in ports)
            await a.wait_http(f"{base_a}/healthz")  # A migrates first; B finds it done
            async with serve("replica-b", ports[1]) as b:
                await b.wait_http(f"{base_b}/healthz")
                await run_scenario(http, a, b, base_a, base_b, rec)


async def run_scenario(
    http: aiohttp.ClientSession, a: Child, b: Child, base_a: str, base_b: str, rec: Receiver
) -> None:
    alert = {
        "title": "fraud-scorer is down",
        "labels": {"alertname": "ServiceDown", "service": "fraud"},
    }
    async with http.post(f"{base_a}/alerts/generic", json=alert) as resp:
        assert resp.status == 200, await resp.text()
        (incident,) = (await resp.json())["incidents"]
    await rec.wait_for("@alice", 20)
    await rec.wait_for("@bob", 20)  # both replicas saw level 2's timer come due; one ran it
    a.proc.send_signal(signal.SIGKILL)  # mid-escalation: level 3's timer is pending
    assert await a.exited_within(10), a.describe()
    await rec.wait_for("@carol", 30)  # B runs it, whichever replica scheduled it
    while len(await timeline_texts(http, base_b, incident)) < 3:
        assert not await b.exited_within(POLL), b.describe()
    expected = Counter({"@alice": 1, "@bob": 1, "@carol": 1})
    assert rec.pages == expected, (a.describe(), b.describe())
    pages = await timeline_texts(http, base_b, incident)
    assert [p.split(" (")[0] for p in pages] == [
        "Paging @alice",  # through notify: only; the webhook line says it arrived
        "Paging @bob",
        "Paging @carol",
    ]
