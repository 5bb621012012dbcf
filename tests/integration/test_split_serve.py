"""A split ``vigil serve`` (PostgreSQL): HTTP in one child, pages in another, both watched.

Real processes on a real PostgreSQL, the real clock: ``vigil serve --processes 2`` is a
supervisor with two children, ``--role http`` and ``--role worker``. An alert posted to the
HTTP child opens a P1 that the worker pages through a signed webhook (woken by the row's
NOTIFY). The worker is then killed with SIGKILL: the supervisor starts another, and the
next P1 is paged by it. ``/metrics`` counts what both did. A kill -9 of the supervisor
takes its children with it (nothing is left holding the port), and a child that cannot
start (the port is taken) stops the whole serve with the reason. Every wait is bounded
and polls the processes or awaits a page, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.runtime.supervise import split_wanted
from tests.conftest import postgres_url
from tests.integration.procs import BIN, POLL, Child, clean_env, free_port, running
from tests.integration.test_cli import vigil
from tests.page_receiver import SECRET, receiver

BUDGET = 90.0


def children(pid: int) -> dict[str, int]:
    """The role -> pid of the live children of ``pid`` (``--role X`` in their command)."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat[1]) != pid or stat[0] == "Z" or b"--role" not in argv:
            continue
        found[argv[argv.index(b"--role") + 1].decode()] = int(entry.name)
    return found


async def gone(pid: int) -> None:
    """Await the end of a process that is not ours (a pidfd is readable once it exits)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    ended = loop.create_future()
    loop.add_reader(fd, ended.set_result, None)
    try:
        await ended
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def both_children(sup: Child, *, besides: int | None = None) -> dict[str, int]:
    """Poll (bounded by the test's budget) until both roles run, the worker not ``besides``."""
    while True:
        found = children(sup.proc.pid)
        if set(found) == {"http", "worker"} and found["worker"] != besides:
            return found
        assert not await sup.exited_within(POLL), sup.describe()


async def post_p1(http: aiohttp.ClientSession, base: str, service: str) -> int:
    labels = {"alertname": "ServiceDown", "service": service, "severity": "critical"}
    alert = {"title": f"{service} is down", "labels": labels}
    async with http.post(f"{base}/alerts/generic", json=alert) as resp:
        assert resp.status == 200, await resp.text()
        (incident,) = (await resp.json())["incidents"]
    return int(incident)


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of a sample's values in an exposition text, over those with ``labels``."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def paged_on_timeline(http: aiohttp.ClientSession, base: str, incident: int) -> bool:
    async with http.get(f"{base}/api/v1/incidents/{incident}") as resp:
        body: dict[str, Any] = await resp.json()
    return any(e["kind"] == "page" for e in body["timeline"])


@pytest.mark.postgres
async def test_split_serve_pages_from_the_worker_and_restarts_it(tmp_path: Path) -> None:
    url = await postgres_url()
    async with receiver() as rec:
        (tmp_path / "vigil.yaml").write_text(
            f"""
escalation:
  severities: [P1]
  levels:
    - {{notify: ["@alice"], wait: 1h}}
notify:
  order: [webhook]
  webhook: {{url: "{rec.url}"}}
"""
        )
        env = clean_env(VIGIL_DATABASE_URL=url, VIGIL_WEBHOOK_SECRET=SECRET)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        argv = [str(BIN / "vigil"), "serve", "--processes", "2", "--port", str(port)]
        async with (
            asyncio.timeout(BUDGET),
            running("serve", argv, log_path=tmp_path / "serve.log", cwd=tmp_path, env=env) as sup,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        ):
            await sup.wait_http(f"{base}/healthz")
            first = await both_children(sup)

            one = await post_p1(http, base, "fraud")
            await rec.wait_for("@alice", 30)  # the worker paged what the HTTP child stored
            assert rec.by_incident == Counter({(one, "@alice"): 1})

            # The worker dies mid-shift: another takes its place, and pages the next P1.
            # (Killed once the page is recorded: a webhook that accepted a page Vigil had
            # not yet recorded is sent it again after any kill -9.)
            while not await paged_on_timeline(http, base, one):
                assert not await sup.exited_within(POLL), sup.describe()
            os.kill(first["worker"], signal.SIGKILL)
            second = await both_children(sup, besides=first["worker"])
            assert second["http"] == first["http"], "the HTTP child was left alone"
            two = await post_p1(http, base, "checkout")
            while (two, "@alice") not in rec.by_incident:
                rec.changed.clear()
                await rec.changed.wait()
            assert rec.by_incident == Counter({(one, "@alice"): 1, (two, "@alice"): 1}), (
                rec.by_incident,
                sup.describe(),
            )

            async with http.get(f"{base}/metrics") as resp:
                text = await resp.text()
            assert metric(text, "vigil_alerts_received_total") == 2
            assert metric(text, "vigil_incidents", severity="P1", state="triggered") == 2
            assert "the worker process exited (signal 9)" in sup.log(), sup.describe()

            # kill -9 of the supervisor: the kernel takes both children with it.
            sup.proc.send_signal(signal.SIGKILL)
            assert await sup.exited_within(10), sup.describe()
            for pid in second.values():
                await gone(pid)
            with socket.socket() as s:  # the port is free again for the next start
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a server does
                s.bind(("127.0.0.1", port))


@pytest.mark.postgres
async def test_a_child_that_cannot_start_stops_the_serve_with_the_reason(tmp_path: Path) -> None:
    url = await postgres_url()
    env = clean_env(VIGIL_DATABASE_URL=url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = [str(BIN / "vigil"), "serve", "--processes", "2", "--port", str(port)]
        async with (
            asyncio.timeout(BUDGET),
            running("serve", argv, log_path=tmp_path / "serve.log", cwd=tmp_path, env=env) as sup,
        ):
            assert await sup.exited_within(60), sup.describe()
            assert sup.returncode == 1, sup.describe()
            log = sup.log()
            assert "vigil: cannot start: the http process exited with code 1" in log, log
            assert "address already in use" in log.lower(), log
            assert not children(sup.proc.pid)


def test_two_processes_on_sqlite_are_refused_with_what_to_do(tmp_path: Path) -> None:
    done = vigil("serve", "--processes", "2", "--port", str(free_port()), cwd=tmp_path)
    assert done.returncode == 1
    assert "--processes 2 needs PostgreSQL" in done.stderr
    assert "use --processes 1 or set VIGIL_DATABASE_URL" in done.stderr
    assert not (tmp_path / "var").exists(), "nothing was created"


def test_a_bad_processes_variable_names_itself(tmp_path: Path) -> None:
    done = vigil("serve", cwd=tmp_path, VIGIL_PROCESSES="many")
    assert done.returncode == 1
    assert "VIGIL_PROCESSES: must be auto, 1 or 2, got 'many'" in done.stderr


COUNT = """
import sys
from bot.core.metrics import Metrics
m = Metrics()
if sys.argv[1] == "worker":
    m.reaction_failures.labels("pager").inc(3)
    m.reactions_pending.set(2)
else:
    m.alerts_received.labels("alertmanager", "firing").inc(5)
    m.incidents.labels("P1", "triggered").set(1)
"""


def test_metrics_of_both_processes_are_served_together(tmp_path: Path) -> None:
    """What the worker counts (a follow-up that failed) is in the HTTP child's /metrics."""
    env = clean_env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    for role in ("worker", "http"):
        subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
            [sys.executable, "-c", COUNT, role], env=env, check=True, timeout=60
        )
    render = "from bot.core.metrics import Metrics; print(Metrics().render().decode())"
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", render], env=env, check=True, timeout=60, capture_output=True
    )
    text = done.stdout.decode()
    assert metric(text, "vigil_reaction_failures_total", listener="pager") == 3
    assert metric(text, "vigil_alerts_received_total") == 5
    assert metric(text, "vigil_reactions_pending") == 2
    assert metric(text, "vigil_incidents", severity="P1", state="triggered") == 1
    alone = subprocess.run(  # noqa: S603 (without the folder: this process's values only)
        [sys.executable, "-c", render],
        env=clean_env(),
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert metric(alone.stdout.decode(), "vigil_reaction_failures_total") == 0


@pytest.mark.parametrize(
    ("choice", "postgres", "cpus", "split"),
    [
        ("auto", True, 2, True),
        ("auto", True, 1, False),  # one CPU: two processes would only take turns
        ("auto", False, 8, False),  # SQLite: one writer
        ("auto", True, None, False),
        ("1", True, 8, False),
        ("2", True, 1, True),
    ],
)
def test_when_serve_splits(choice: str, postgres: bool, cpus: int | None, split: bool) -> None:
    assert split_wanted(choice, postgres=postgres, cpus=cpus) is split
