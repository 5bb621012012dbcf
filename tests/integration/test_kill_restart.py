"""kill -9 mid-escalation, start again: the next page goes out at its time, once.

A real ``vigil serve`` on a SQLite file (the default a team starts with) pages level 1
through a signed webhook (the receiver in ``tests/page_receiver.py`` counts every post), is
killed with SIGKILL while level 2's timer is pending, and a new process on the same file
pages level 2: not before its time (the plan is fixed when paging starts, so a restart
cannot shift it), exactly once, and level 1 is not paged again.

Real processes keep real time: level 1 waits 4 s; every wait below is bounded and awaits an
event (a post arriving, a process exiting), never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from tests.integration.procs import BIN, clean_env, free_port, running
from tests.page_receiver import SECRET, receiver

WAIT = timedelta(seconds=4)


async def test_a_killed_process_restarted_pages_the_next_level_on_time_once(
    tmp_path: Path,
) -> None:
    async with receiver() as rec:
        (tmp_path / "vigil.yaml").write_text(
            f"""
escalation:
  levels:
    - {{notify: ["@alice"], wait: {int(WAIT.total_seconds())}s}}
    - {{notify: ["@bob"], wait: 1h}}
notify:
  order: [webhook]
  webhook: {{url: "{rec.url}"}}
timer_poll: 1s
"""
        )
        db = f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"
        env = clean_env(VIGIL_DATABASE_URL=db, VIGIL_WEBHOOK_SECRET=SECRET)

        def serve(name: str) -> Any:
            port = free_port()
            argv = [str(BIN / "vigil"), "serve", "--port", str(port)]
            child = running(name, argv, log_path=tmp_path / f"{name}.log", cwd=tmp_path, env=env)
            return child, f"http://127.0.0.1:{port}"

        alert = {"title": "fraud-scorer is down", "labels": {"alertname": "ServiceDown"}}
        first, base = serve("first")
        async with (
            asyncio.timeout(60),
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        ):
            async with first as a:
                await a.wait_http(f"{base}/healthz")
                opened = datetime.now(UTC)
                async with http.post(f"{base}/alerts/generic", json=alert) as resp:
                    assert resp.status == 200, await resp.text()
                await rec.wait_for("@alice", 20)
                a.proc.send_signal(signal.SIGKILL)  # level 2's timer is pending in the file
                assert await a.exited_within(10), a.describe()
            second, base = serve("second")
            async with second as b:
                await b.wait_http(f"{base}/healthz")
                await rec.wait_for("@bob", 30)
                assert rec.arrived["@bob"] >= opened + WAIT  # not early for the restart
                async with http.get(f"{base}/api/v1/incidents/1") as resp:
                    body = await resp.json()
                pages = [e["text"] for e in body["timeline"] if e["kind"] == "page"]
        assert rec.pages == Counter({"@alice": 1, "@bob": 1})
        assert [p.split(" (")[0] for p in pages] == [
            "Paging @alice",
            "Paging @bob",
        ]  # through notify: only
