"""Issue 14, part 4: alert ingestion under a storm, on SQLite and on PostgreSQL, in one run.

Run: ``PYTHONPATH=. .venv/bin/python bench/ingest_bench.py [--quick] [--json PATH]``
(``make bench-ingest``). Options: ``--alerts 2000``, ``--senders 8``, ``--batch 10``,
``--groups 50``, ``--commands 50``, ``--db sqlite,postgresql``, ``--profile DIR`` (py-spy).

Why a real process and not the app in-process: the issue's figures (139-160 alerts/s, post
p99 5 s, 1 to 16 of 50 P1 pages lost) come from ``vigil serve`` fed over HTTP, where the
HTTP server, Bolt, the outbox worker, the Pager and the timers all share one event loop and
one database. Only the same process, fed the same way, shows whether a fix reaches the
targets. So each database gets:

* a fresh ``vigil serve`` child (its own temp dir, ``vigil.yaml`` and loopback port) with
  Slack pointed at the project's stand-in (``tests/slack_standin.py``, in this process) and
  a ``notify:`` webhook to a receiver here that counts pages per incident;
* on PostgreSQL a database created for this run and dropped after it
  (``$VIGIL_TEST_POSTGRES_URL``'s server, else a throwaway ``.ci/start-postgres`` cluster);
* idle: 50 concurrent signed ``/incident list`` commands, timed from the POST to the full
  answer at ``response_url`` (the user's wait);
* the storm: ``--senders`` concurrent senders, each on one keep-alive connection as
  Alertmanager keeps one, posting v4 webhook payloads of ``--batch`` alerts (one group per
  post, as Alertmanager groups) to ``/alerts/alertmanager``; every alert is labelled
  ``severity=critical`` (P1) and is distinct (its own ``instance``), so ``--groups`` P1
  incidents must open and ``--alerts`` alert rows must be stored. Once a quarter of the posts
  are answered, 50 slash commands go out at once, as in the issue's lost-pages report;
* afterwards, bounded polling until paging settles (every P1 paged, or ``--settle`` seconds
  without it), then the outbox drains and the idle measurement is repeated with the
  incidents open (the reply the storm's commands got is the same size).

"Committed alerts/s" is alerts sent / (last 2xx - first post): the ingest answers 2xx only
after its transaction commits. Figures are for this machine at that moment; the table notes
the load average and how much CPU the server and this process used, because on a shared
2-core box the bench, the server and PostgreSQL compete for the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import secrets
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg  # type: ignore[import-untyped]  # Vigil's PostgreSQL driver
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.secret import Secret  # noqa: E402
from bot.notify.webhook import verify_signature  # noqa: E402
from tests.slack_signing import (  # noqa: E402
    DEFAULT_CHANNEL_ID,
    DEFAULT_CHANNEL_NAME,
    DEFAULT_USER_ID,
    post_signed,
    slash_command_body,
)
from tests.slack_standin import SlackStandin  # noqa: E402

# The entry point of the environment running this file (``.venv/bin/vigil``); the child's
# PYTHONPATH puts this checkout first, so a copy of the tree at another commit (``git
# archive``) can be measured with the same environment.
VIGIL = Path(sys.executable).parent / "vigil"
PG_ENV = "VIGIL_TEST_POSTGRES_URL"
SIGNING_SECRET = "bench-signing-secret"  # noqa: S105 - the stand-in's, loopback only
WEBHOOK_SECRET = "bench-webhook-secret"  # noqa: S105
INGEST_TOKEN = "bench-ingest-token"  # noqa: S105
ONCALL = "@oncall"
REPLY_WAIT_S = 30.0  # a reply later than this counts as never delivered
SLACK_ACK_S = 3.0  # Slack shows the user an error when the ack takes longer

# The targets (part 3 for replies, part 4 for ingestion); never lowered here.
TARGET_RATE = 1000.0
TARGET_POST_P99_MS = 250.0
TARGET_REPLY_IDLE_P99_MS = 300.0
TARGET_REPLY_STORM_P99_MS = 1000.0


# -- figures -------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (nearest rank), None for no values: p99 of 50 is the worst one."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil without floats
    return ordered[int(rank) - 1]


@dataclass
class Replies:
    """Slash commands sent at once: ack and full-answer latencies in ms, and the misses."""

    sent: int = 0
    delivered: int = 0
    ack_ms: list[float] = field(default_factory=list)
    reply_ms: list[float] = field(default_factory=list)
    non_2xx: int = 0
    errors: list[str] = field(default_factory=list)
    sample: str = ""  # the first line of one answer, to show what was measured

    def summary(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "reply_p50_ms": pct(self.reply_ms, 50),
            "reply_p99_ms": pct(self.reply_ms, 99),
            "ack_p50_ms": pct(self.ack_ms, 50),
            "ack_p99_ms": pct(self.ack_ms, 99),
            "acks_over_3s": sum(1 for a in self.ack_ms if a > SLACK_ACK_S * 1000),
            "non_2xx": self.non_2xx,
            "errors": self.errors[:5],
            "sample": self.sample,
        }


@dataclass
class DbResult:
    """Everything measured for one database."""

    db: str
    alerts_sent: int = 0
    posts: int = 0
    storm_s: float = 0.0
    alerts_ok: int = 0
    alerts_per_s: float = 0.0
    post_ms: list[float] = field(default_factory=list)
    non_2xx: int = 0
    post_errors: list[str] = field(default_factory=list)
    groups: int = 0
    incidents: int = 0
    p1_incidents: int = 0
    alerts_stored: int = 0
    alert_count_sum: int = 0
    paged_webhook: int = 0
    paged_timeline: int = 0
    paged_dm: int = 0
    page_delay_ms: list[float] = field(default_factory=list)
    dm_delay_ms: list[float] = field(default_factory=list)
    settle_s: float = 0.0
    outbox_drain_s: float | None = None
    slack_calls: int = 0
    idle_empty: Replies = field(default_factory=Replies)
    storm: Replies = field(default_factory=Replies)
    idle: Replies = field(default_factory=Replies)
    commands_during_storm: int = 0
    server_cpu_storm: float = 0.0  # server CPU seconds / storm wall seconds (1.0 = a core)
    bench_cpu_storm: float = 0.0
    pg_cpu_storm: float | None = None
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    server_exit: int | None = None
    server_log_errors: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    backlog: list[tuple[float, float, float]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if not isinstance(v, list | dict)}
        out.update(
            post_p50_ms=pct(self.post_ms, 50),
            post_p99_ms=pct(self.post_ms, 99),
            backlog=[list(b) for b in self.backlog],
            post_max_ms=max(self.post_ms, default=None),
            page_delay_p50_ms=pct(self.page_delay_ms, 50),
            page_delay_p99_ms=pct(self.page_delay_ms, 99),
            dm_delay_p50_ms=pct(self.dm_delay_ms, 50),
            dm_delay_p99_ms=pct(self.dm_delay_ms, 99),
            post_errors=self.post_errors[:5],
            server_log_errors=self.server_log_errors[:10],
            idle_empty_replies=self.idle_empty.summary(),
            storm_replies=self.storm.summary(),
            idle_replies=self.idle.summary(),
        )
        for name in ("idle_empty", "storm", "idle"):
            out.pop(name, None)
        return out


# -- processes -----------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port the kernel just called free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc (0 where /proc is not there)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its descendants (a split ``vigil serve`` is a
    supervisor and two children: the children do the work)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(stat[1])
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(cpu_seconds(p) for p in tree)


def postgres_cpu_seconds() -> float:
    """CPU seconds of every postgres process on the machine (the server is shared: a figure
    for this run is the difference of two readings, other users' queries included)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (entry / "comm").read_text().strip() == "postgres":
                total += cpu_seconds(int(entry.name))
    return total


class Server:
    """One ``vigil serve`` child in its own session (a Ctrl-C reaches only this process,
    which then stops the child itself, so the stop is always the same bounded sequence)."""

    def __init__(
        self, proc: asyncio.subprocess.Process, log_path: Path, base: str, db_url: str
    ) -> None:
        self.proc = proc
        self.log_path = log_path
        self.base = base
        self.db_url = db_url

    @classmethod
    async def start(cls, workdir: Path, env: dict[str, str], port: int) -> Server:
        log_path = workdir / "vigil.log"
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                str(VIGIL),
                "serve",
                "--port",
                str(port),
                cwd=workdir,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(proc, log_path, f"http://127.0.0.1:{port}", env["VIGIL_DATABASE_URL"])

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    async def wait_ready(self, within: float = 60.0) -> None:
        """Poll /healthz (bounded); between polls await the child's exit, so a child that
        dies at start fails at once with its log instead of after the whole bound."""
        deadline = time.monotonic() + within
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(f"{self.base}/healthz") as resp:
                        if resp.status == 200:
                            return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.proc.wait(), 0.1)
                    raise RuntimeError(f"vigil serve exited at start:\n{self.log_tail()}")
        raise RuntimeError(f"vigil serve not ready within {within}s:\n{self.log_tail()}")

    async def stop(self, grace: float = 15.0) -> int | None:
        """SIGTERM, a bounded wait, then SIGKILL; the exit code (None if it would not die)."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.proc.wait(), 5)
        return self.proc.returncode

    def log_errors(self) -> list[str]:
        """ERROR/Traceback lines of the server's log (a lost page usually leaves one)."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [ln[:240] for ln in lines if " ERROR " in ln or ln.startswith("Traceback")]


@contextlib.asynccontextmanager
async def postgres_server() -> AsyncIterator[str]:
    """The PostgreSQL to use: ``$VIGIL_TEST_POSTGRES_URL``'s, else a throwaway cluster
    started with ``.ci/start-postgres`` and stopped (and removed) afterwards."""
    url = os.environ.get(PG_ENV)
    if url:
        yield url
        return
    out = await asyncio.to_thread(
        subprocess.run,
        [str(ROOT / ".ci" / "start-postgres")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    found: dict[str, str] = {}
    for line in out.stdout.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            key, value = words[1].split("=", 1)
            found[key] = value
    datadir = found.get("VIGIL_TEST_PG_DATADIR", "")
    try:
        yield found[PG_ENV]
    finally:
        if datadir:
            await asyncio.to_thread(
                subprocess.run,
                [str(ROOT / ".ci" / "start-postgres"), "--stop", datadir],
                capture_output=True,
                timeout=120,
                check=False,
            )


@contextlib.asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """A database created for this run on ``server_url``'s server and dropped after it, so
    no figure depends on what an earlier run (or a test) left behind."""
    parts = urlsplit(server_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    name = f"vigil_bench_{secrets.token_hex(4)}"
    admin = urlunsplit(parts)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield urlunsplit(parts._replace(path=f"/{name}")).replace(
            "postgresql://", "postgresql+asyncpg://", 1
        )
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


# -- the far ends: page receiver -------------------------------------------------------------


class PageReceiver:
    """The ``notify:`` webhook's far end: the first authentic page of each incident, when."""

    def __init__(self) -> None:
        self.first_page: dict[int, float] = {}  # incident id -> time.monotonic() here
        self.pages = 0
        self.bad = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        ok = verify_signature(
            Secret(WEBHOOK_SECRET),
            request.headers.get("X-Vigil-Timestamp", ""),
            body,
            request.headers.get("X-Vigil-Signature", ""),
            now=datetime.now(UTC),
        )
        if not ok:
            self.bad += 1
            return web.json_response({"error": "bad signature"}, status=401)
        data = json.loads(body)
        if data.get("event") == "page":
            self.pages += 1
            self.first_page.setdefault(int(data["incident"]["id"]), time.monotonic())
        return web.json_response({"ok": True})

    async def __aenter__(self) -> PageReceiver:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


# -- load ----------------------------------------------------------------------------------


def alertmanager_posts(alerts: int, batch: int, groups: int) -> list[tuple[int, bytes]]:
    """(group, body) per post: Alertmanager v4 payloads of ``batch`` firing P1 alerts of one
    group each, groups interleaved so the first ``groups`` posts each open an incident."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    posts: list[tuple[int, bytes]] = []
    sent = 0
    n = 0
    while sent < alerts:
        group = n % groups
        common = {
            "alertname": f"BenchHighErrorRate{group:03d}",
            "service": f"bench-svc-{group:03d}",
            "severity": "critical",
        }
        items = []
        for _ in range(min(batch, alerts - sent)):
            labels = {**common, "instance": f"host-{sent:06d}:9100"}
            items.append(
                {
                    "status": "firing",
                    "labels": labels,
                    "annotations": {"summary": f"5xx ratio above 5% on {common['service']}"},
                    "startsAt": now,
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=errors",
                }
            )
            sent += 1
        body = {
            "receiver": "vigil",
            "status": "firing",
            "alerts": items,
            "groupLabels": {"alertname": common["alertname"], "service": common["service"]},
            "commonLabels": common,
            "commonAnnotations": {},
            "externalURL": "http://127.0.0.1:9093",
            "version": "4",
            "groupKey": f'{{}}:{{alertname="{common["alertname"]}"}}',
            "truncatedAlerts": 0,
        }
        posts.append((group, json.dumps(body).encode()))
        n += 1
    return posts


@dataclass
class Storm:
    """The senders' shared state: the next post to send and what came back."""

    posts: list[tuple[int, bytes]]
    base: str
    quarter: asyncio.Event = field(default_factory=asyncio.Event)
    next_index: int = 0
    alerts_ok: int = 0  # alerts of the posts answered 2xx (committed)
    answered: int = 0
    first_start: float | None = None
    last_ok: float = 0.0
    latencies: list[float] = field(default_factory=list)
    non_2xx: int = 0
    errors: list[str] = field(default_factory=list)
    # incident id -> when the post that opened it was sent (the page may arrive before that
    # post's answer: the ingest awaits its listeners, the Pager's webhook call included)
    opened_at: dict[int, float] = field(default_factory=dict)
    incidents_by_group: dict[int, set[int]] = field(default_factory=dict)

    async def sender(self) -> None:
        """One Alertmanager: one keep-alive connection, the next post as soon as the last
        is answered (Alertmanager sends a group's notification and waits for it)."""
        headers = {"Authorization": f"Bearer {INGEST_TOKEN}", "Content-Type": "application/json"}
        connector = aiohttp.TCPConnector(limit=1)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            while self.next_index < len(self.posts):
                group, body = self.posts[self.next_index]
                self.next_index += 1
                start = time.monotonic()
                if self.first_start is None:
                    self.first_start = start
                try:
                    async with http.post(
                        f"{self.base}/alerts/alertmanager", data=body, headers=headers
                    ) as resp:
                        text = await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status, text = 0, repr(exc).encode()
                end = time.monotonic()
                self.latencies.append((end - start) * 1000)
                self.answered += 1
                if self.answered * 4 >= len(self.posts):
                    self.quarter.set()
                if 200 <= status < 300:
                    self.last_ok = max(self.last_ok, end)
                    self.alerts_ok += body.count(b'"status": "firing"') - 1
                    for result in json.loads(text)["results"]:
                        iid = result["incident_id"]
                        self.incidents_by_group.setdefault(group, set()).add(iid)
                        if result["action"] == "opened":
                            self.opened_at.setdefault(iid, start)
                else:
                    self.non_2xx += 1
                    self.errors.append(f"{status}: {text[:200]!r}")


async def slash_commands(
    slack: SlackStandin, events_url: str, count: int, tag: str, into: Replies
) -> None:
    """``count`` signed ``/incident list`` at once; wait (bounded) for every full answer."""
    urls = {slack.response_url(f"{tag}-{i}"): i for i in range(count)}
    sent_at: dict[str, float] = {}
    into.sent = count
    timeout = aiohttp.ClientTimeout(total=REPLY_WAIT_S)

    async def one(http: aiohttp.ClientSession, url: str) -> None:
        body = slash_command_body(
            "/incident",
            "list",
            user_id=DEFAULT_USER_ID,
            channel_id=DEFAULT_CHANNEL_ID,
            channel_name=DEFAULT_CHANNEL_NAME,
            response_url=url,
        )
        start = time.monotonic()
        sent_at[url] = start
        try:
            resp = await post_signed(http, events_url, body, SIGNING_SECRET)
        except (aiohttp.ClientError, TimeoutError) as exc:
            into.non_2xx += 1
            into.errors.append(repr(exc))
            return
        into.ack_ms.append((time.monotonic() - start) * 1000)
        if resp.status != 200:
            into.non_2xx += 1
            into.errors.append(f"ack HTTP {resp.status}")

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(one(http, url) for url in urls))

    def arrived() -> bool:
        return sum(1 for r in slack.responses if r.url in urls) >= count

    with contextlib.suppress(TimeoutError):
        await slack.wait_for(arrived, timeout=REPLY_WAIT_S)
    seen: set[str] = set()
    for r in slack.responses:
        if r.url in urls and r.url not in seen:
            seen.add(r.url)
            if r.at - sent_at[r.url] <= REPLY_WAIT_S:
                into.reply_ms.append((r.at - sent_at[r.url]) * 1000)
                into.delivered += 1
            if r.text and not into.sample:
                into.sample = r.text.splitlines()[0][:120]


# -- polling the server --------------------------------------------------------------------


async def get_json(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as resp:
        resp.raise_for_status()
        return await resp.json()


async def gauges(http: aiohttp.ClientSession, base: str) -> dict[str, float]:
    """The unlabelled gauges of ``/metrics`` (``vigil_outbox_depth``, ...), by name."""
    async with http.get(f"{base}/metrics") as resp:
        text = await resp.text()
    found = re.findall(r"^(vigil_[a-z_]+) ([0-9.e+-]+)$", text, re.MULTILINE)
    return {name: float(value) for name, value in found}


async def outbox_depth(http: aiohttp.ClientSession, base: str) -> float | None:
    return (await gauges(http, base)).get("vigil_outbox_depth")


async def watch_backlog(
    base: str, db_url: str, every: float, into: list[tuple[float, float, float]]
) -> None:
    """Until cancelled: (seconds since start, ``reactions`` rows, outbox depth) every
    ``every`` s, to see whether pages and Slack messages keep up during the storm. Opt-in
    (``--watch``): each look costs the server a ``/metrics`` request and the database a count.

    The follow-ups are counted in the database itself (a read-only connection: WAL readers
    never wait for the writer): ``vigil_reactions_pending`` is not set by ``/metrics``.
    -1 where the table is not there (a commit before reactions)."""
    pg: Any = None
    sqlite_path = db_url.split(":///", 1)[1] if db_url.startswith("sqlite") else None

    def count_sqlite() -> float:
        try:
            with contextlib.closing(
                sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True, timeout=1)
            ) as conn:
                return float(conn.execute("SELECT count(*) FROM reactions").fetchone()[0])
        except sqlite3.Error:
            return -1.0

    async def count() -> float:
        nonlocal pg
        if sqlite_path is not None:
            return await asyncio.to_thread(count_sqlite)
        try:
            if pg is None:
                pg = await asyncpg.connect(db_url.replace("+asyncpg", "", 1))
            return float(await pg.fetchval("SELECT count(*) FROM reactions"))
        except (asyncpg.PostgresError, OSError):
            return -1.0

    start = time.monotonic()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            while True:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    depth = (await gauges(http, base)).get("vigil_outbox_depth", -1.0)
                    into.append((time.monotonic() - start, await count(), depth))
                await asyncio.sleep(every)
    finally:
        if pg is not None:
            await pg.close()


async def poll_until(
    check: Callable[[], Any], within: float, every: float = 0.25
) -> tuple[bool, float]:
    """Await ``check()`` (truthy = done) every ``every`` s for at most ``within`` s; whether
    it was met and how long it took. Bounded polling of another process's state."""
    start = time.monotonic()
    while True:
        if await check():
            return True, time.monotonic() - start
        if time.monotonic() - start >= within:
            return False, time.monotonic() - start
        await asyncio.sleep(every)


# -- one database --------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    alerts: int
    senders: int
    batch: int
    groups: int
    commands: int
    settle: float
    drain: float
    log_level: str
    profile_dir: Path | None
    py_spy: str | None
    watch: float  # seconds between looks at the backlog during the storm; 0: none


def vigil_yaml(receiver_url: str, workdir: Path) -> str:
    """P1 pages @oncall at once (level 1, by Slack DM and the signed webhook); nothing else
    polls (no host CPU source: it must not open incidents of its own on a busy machine)."""
    return f"""
escalation:
  severities: [P1]
  levels:
    - {{notify: ["{ONCALL}"], wait: 1h}}
notify:
  order: [webhook]
  webhook: {{url: "{receiver_url}"}}
slack:
  alerts_channel: "#{DEFAULT_CHANNEL_NAME}"
  users: {{"{ONCALL}": {DEFAULT_USER_ID}}}
sources:
  system: false
postmortems_dir: {workdir / "postmortems"}
evidence_dir: {workdir / "evidence"}
"""


async def run_database(db: str, url: str, opts: Options) -> DbResult:
    """Start a server on ``url``, measure idle replies, the storm, paging and idle again."""
    result = DbResult(db=db, groups=opts.groups)
    with tempfile.TemporaryDirectory(prefix=f"vigil-bench-{db}-") as tmp:
        workdir = Path(tmp)
        if db == "sqlite":
            url = f"sqlite+aiosqlite:///{workdir / 'vigil.db'}"
        async with SlackStandin() as slack, PageReceiver() as receiver:
            slack.add_channel(DEFAULT_CHANNEL_NAME, channel_id=DEFAULT_CHANNEL_ID)
            slack.add_user(DEFAULT_USER_ID, "oncall")
            (workdir / "vigil.yaml").write_text(vigil_yaml(receiver.url, workdir))
            env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "SLACK_"))}
            env.update(
                VIGIL_DATABASE_URL=url,
                VIGIL_INGEST_TOKEN=INGEST_TOKEN,
                VIGIL_WEBHOOK_SECRET=WEBHOOK_SECRET,
                VIGIL_LOG_LEVEL=opts.log_level,
                SLACK_BOT_TOKEN=slack.bot_token,
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SLACK_API_URL=slack.url,
                PYTHONPATH=os.pathsep.join(
                    p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
                ),
            )
            server = await Server.start(workdir, env, free_port())
            try:
                await server.wait_ready()
                await measure(server, slack, receiver, result, opts)
            finally:
                result.server_exit = await server.stop()
                result.server_log_errors = server.log_errors()
                if opts.profile_dir is not None:
                    with contextlib.suppress(OSError):
                        shutil.copy(server.log_path, opts.profile_dir / f"{db}-vigil.log")
    return result


async def measure(
    server: Server, slack: SlackStandin, receiver: PageReceiver, result: DbResult, opts: Options
) -> None:
    events = f"{server.base}/slack/events"
    base = server.base
    await slash_commands(slack, events, opts.commands, "idle-empty", result.idle_empty)

    posts = alertmanager_posts(opts.alerts, opts.batch, opts.groups)
    result.posts = len(posts)
    result.groups = min(opts.groups, len(posts))  # a group with no post opens nothing
    result.alerts_sent = opts.alerts
    storm = Storm(posts, base)
    result.load_before = os.getloadavg()
    cpu0 = tree_cpu_seconds(server.proc.pid)
    bench0 = _own_cpu()
    pg0 = postgres_cpu_seconds() if result.db == "postgresql" else None

    async def commands_at_a_quarter() -> None:
        await storm.quarter.wait()
        before = len(storm.latencies)
        await slash_commands(slack, events, opts.commands, "storm", result.storm)
        # Whether the storm was still on while they were answered: posts kept completing.
        result.commands_during_storm = len(storm.latencies) - before

    t0 = time.monotonic()
    watcher = (
        asyncio.create_task(watch_backlog(base, server.db_url, opts.watch, result.backlog))
        if opts.watch
        else None
    )
    try:
        async with profiled(server, result, opts, "storm"):
            await asyncio.gather(
                *(storm.sender() for _ in range(opts.senders)), commands_at_a_quarter()
            )
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    storm_end = storm.last_ok or time.monotonic()
    wall = max(storm_end - (storm.first_start or t0), 1e-9)
    result.server_cpu_storm = (tree_cpu_seconds(server.proc.pid) - cpu0) / wall
    result.bench_cpu_storm = (_own_cpu() - bench0) / wall
    if pg0 is not None:
        result.pg_cpu_storm = (postgres_cpu_seconds() - pg0) / wall
    result.load_after = os.getloadavg()
    result.storm_s = wall
    result.alerts_ok = storm.alerts_ok
    result.alerts_per_s = storm.alerts_ok / wall
    result.post_ms = storm.latencies
    result.non_2xx = storm.non_2xx
    result.post_errors = storm.errors

    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        listing = await get_json(http, f"{base}/api/v1/incidents")
        ids = [int(i["id"]) for i in listing["incidents"]]
        p1 = [int(i["id"]) for i in listing["incidents"] if i["severity"] == "P1"]
        result.incidents = len(ids)
        result.p1_incidents = len(p1)

        async def all_paged() -> bool:
            return all(i in receiver.first_page for i in p1)

        _, result.settle_s = await poll_until(all_paged, opts.settle)
        result.paged_webhook = sum(1 for i in p1 if i in receiver.first_page)
        result.page_delay_ms = [
            (receiver.first_page[i] - storm.opened_at[i]) * 1000
            for i in p1
            if i in receiver.first_page and i in storm.opened_at
        ]

        async def drained() -> bool:
            return (await outbox_depth(http, base)) == 0

        ok, took = await poll_until(drained, opts.drain, every=0.5)
        result.outbox_drain_s = took if ok else None
        result.slack_calls = len(slack.calls)

        stored = 0
        count_sum = 0
        on_timeline = 0
        for iid in ids:
            view = await get_json(http, f"{base}/api/v1/incidents/{iid}")
            stored += len(view["alerts"])
            count_sum += sum(int(a["count"]) for a in view["alerts"])
            if iid in p1 and any(e["kind"] == "page" for e in view["timeline"]):
                on_timeline += 1
        result.alerts_stored = stored
        result.alert_count_sum = count_sum
        result.paged_timeline = on_timeline

    first_dm: dict[int, float] = {}  # incident id -> when its first page DM reached Slack
    for call in slack.calls_to("chat.postMessage"):
        channel = str(call.args.get("channel", ""))
        if call.ok and channel.startswith("D"):
            found = re.search(r"#(\d+)", str(call.args.get("text", "")))
            if found:
                first_dm.setdefault(int(found.group(1)), call.at)
    result.paged_dm = sum(1 for i in p1 if i in first_dm)
    result.dm_delay_ms = [
        (first_dm[i] - storm.opened_at[i]) * 1000
        for i in p1
        if i in first_dm and i in storm.opened_at
    ]
    async with profiled(server, result, opts, "idle"):
        await slash_commands(slack, events, opts.commands, "idle", result.idle)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- profiling -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def profiled(
    server: Server, result: DbResult, opts: Options, phase: str
) -> AsyncIterator[None]:
    """py-spy sampling the server through one phase (``--nonblocking``: it never pauses the
    server; ``--threads``: the event loop, aiosqlite's worker and the timer threads apart).
    SIGINT makes py-spy write what it sampled; it is stopped on every way out."""
    if opts.profile_dir is None or opts.py_spy is None:
        yield
        return
    out = opts.profile_dir / f"{result.db}-{phase}.txt"
    result.profiles.append(str(out))
    with (opts.profile_dir / f"{result.db}-{phase}-py-spy.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            opts.py_spy,
            "record",
            "--pid",
            str(server.proc.pid),
            "--rate",
            "100",
            "--nonblocking",
            "--threads",
            "--format",
            "raw",
            "--output",
            str(out),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


def profile_summary(path: Path, top: int = 10) -> str:
    """Where a py-spy raw profile (``--threads``, idle threads not sampled) says the server
    spent its CPU: each busy thread's samples, its top leaf functions (self) and its top
    Vigil (``bot/``) functions by inclusive samples (counted once per stack), as shares of
    that thread's samples. A thread blocked in C (SQLite's busy wait, a socket) is idle to
    py-spy, so lock waits show as missing samples, not as a function: read them against
    the table's server CPU. SQLAlchemy's greenlets appear as stacks of their own under the
    thread, cut off from the coroutine that awaited them."""
    by_thread: dict[str, list[tuple[list[str], int]]] = {}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        frames = [f for f in stack.split(";") if f]
        if not n.isdigit() or len(frames) < 2 or not frames[0].startswith("thread "):
            continue
        by_thread.setdefault(frames[0], []).append((frames[1:], int(n)))
    if not by_thread:
        return f"{path}: no samples"
    out = [f"{path.name}: py-spy at 100 Hz (a busy thread gets 100 samples a second)"]
    ranked = sorted(by_thread.items(), key=lambda kv: -sum(n for _, n in kv[1]))
    for thread, stacks in ranked[:3]:
        count = sum(n for _, n in stacks)
        name = re.sub(r"^thread \(\d+\): ", "", thread)
        out.append(f"  {name}: {count} samples")
        own: Counter[str] = Counter()
        incl: Counter[str] = Counter()
        for frames, k in stacks:
            own[_short(frames[-1])] += k
            for fn in {_short(f) for f in frames if "(bot/" in _short(f)}:
                incl[fn] += k
        out += [f"    self {100 * c / count:5.1f}%  {f}" for f, c in own.most_common(top)]
        out += [f"    incl {100 * c / count:5.1f}%  {f}" for f, c in incl.most_common(top)]
    return "\n".join(out)


def _short(frame: str) -> str:
    """``func (path/to/module.py:123)`` → ``func (module.py)`` so lines of one function
    add up; site-packages paths are cut to the package."""
    match = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not match:
        return frame
    func, path = match.groups()
    path = re.sub(r".*/site-packages/", "", path)
    path = re.sub(r".*/work/main/", "", path)
    path = re.sub(r".*/lib/python3\.\d+/", "stdlib/", path)
    return f"{func} ({path})"


# -- the table -----------------------------------------------------------------------------


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f} ms"


def rows(results: Sequence[DbResult]) -> list[tuple[str, str, list[tuple[str, bool | None]]]]:
    """(figure, target, [(cell, met?) per database]); met None: no target, shown as is."""
    out: list[tuple[str, str, list[tuple[str, bool | None]]]] = []

    def add(name: str, target: str, cells: Iterable[tuple[str, bool | None]]) -> None:
        out.append((name, target, list(cells)))

    add(
        "alerts committed/s",
        f">= {TARGET_RATE:,.0f}",
        ((f"{r.alerts_per_s:,.0f}", r.alerts_per_s >= TARGET_RATE) for r in results),
    )
    add("storm wall time", "", ((f"{r.storm_s:.2f} s", None) for r in results))
    add("post p50", "", ((_ms(pct(r.post_ms, 50)), None) for r in results))
    add(
        "post p99",
        f"< {TARGET_POST_P99_MS:.0f} ms",
        (
            (_ms(pct(r.post_ms, 99)), (pct(r.post_ms, 99) or 1e9) < TARGET_POST_P99_MS)
            for r in results
        ),
    )
    add("posts non-2xx", "0", ((f"{r.non_2xx} of {r.posts}", r.non_2xx == 0) for r in results))
    add(
        "alerts stored / sent",
        "all",
        (
            (
                f"{r.alerts_stored:,} / {r.alerts_sent:,}",
                r.alerts_stored == r.alerts_sent and r.alert_count_sum == r.alerts_sent,
            )
            for r in results
        ),
    )
    add(
        "incidents opened / groups",
        "= groups",
        ((f"{r.incidents} / {r.groups}", r.incidents == r.groups) for r in results),
    )
    add(
        "P1 paged (webhook) / expected",
        "all",
        ((f"{r.paged_webhook} / {r.groups}", r.paged_webhook == r.groups) for r in results),
    )
    add(
        "P1 page on timeline / expected",
        "all",
        ((f"{r.paged_timeline} / {r.groups}", r.paged_timeline == r.groups) for r in results),
    )
    add(
        "P1 page DM in Slack / expected",
        "all",
        ((f"{r.paged_dm} / {r.groups}", r.paged_dm == r.groups) for r in results),
    )
    for label, attr in (
        ("page delay p50 / p99: webhook", "page_delay_ms"),
        ("page delay p50 / p99: Slack DM", "dm_delay_ms"),
    ):
        add(
            label,
            "",
            (
                (f"{_ms(pct(getattr(r, attr), 50))} / {_ms(pct(getattr(r, attr), 99))}", None)
                for r in results
            ),
        )
    for label, attr, limit in (
        ("reply idle, empty", "idle_empty", TARGET_REPLY_IDLE_P99_MS),
        ("reply during storm", "storm", TARGET_REPLY_STORM_P99_MS),
        ("reply idle, after storm", "idle", TARGET_REPLY_IDLE_P99_MS),
    ):
        reps = [getattr(r, attr) for r in results]
        add(f"{label}: p50", "", ((_ms(pct(x.reply_ms, 50)), None) for x in reps))
        add(
            f"{label}: p99",
            f"< {limit:,.0f} ms",
            ((_ms(pct(x.reply_ms, 99)), (pct(x.reply_ms, 99) or 1e9) < limit) for x in reps),
        )
        add(
            f"{label}: delivered <= 30 s",
            "all",
            ((f"{x.delivered} / {x.sent}", x.delivered == x.sent and x.non_2xx == 0) for x in reps),
        )
        add(
            f"{label}: ack p99",
            f"< {SLACK_ACK_S:.0f} s (Slack)",
            (
                (_ms(pct(x.ack_ms, 99)), (pct(x.ack_ms, 99) or 1e9) < SLACK_ACK_S * 1000)
                for x in reps
            ),
        )
    add(
        "posts answered while commands ran",
        "",
        ((f"{r.commands_during_storm}", None) for r in results),
    )
    add(
        "paging settled after storm",
        "",
        ((f"{r.settle_s:.1f} s", None) for r in results),
    )
    add(
        "outbox drained after paging",
        "",
        (
            ("not in bound" if r.outbox_drain_s is None else f"{r.outbox_drain_s:.1f} s", None)
            for r in results
        ),
    )
    add(
        "CPU in storm: server / bench / postgres",
        "",
        (
            (
                f"{r.server_cpu_storm:.2f} / {r.bench_cpu_storm:.2f} / "
                + ("-" if r.pg_cpu_storm is None else f"{r.pg_cpu_storm:.2f}"),
                None,
            )
            for r in results
        ),
    )
    add(
        "load avg 1m before / after storm",
        "",
        ((f"{r.load_before[0]:.2f} / {r.load_after[0]:.2f}", None) for r in results),
    )
    add(
        "server errors in log / exit",
        "",
        ((f"{len(r.server_log_errors)} / {r.server_exit}", None) for r in results),
    )
    return out


def render(results: Sequence[DbResult]) -> str:
    table = rows(results)
    heads = ["figure", "target", *(r.db for r in results)]

    def cell(text: str, met: bool | None) -> str:
        return text if met is None else f"{text} {'met' if met else 'MISSED'}"

    body = [[name, target, *(cell(t, m) for t, m in cells)] for name, target, cells in table]
    widths = [max(len(row[i]) for row in [heads, *body]) for i in range(len(heads))]
    line = "  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(out)


# -- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--alerts", type=int, default=2000, help="alerts in all (default 2000)")
    ap.add_argument("--senders", type=int, default=8)
    ap.add_argument("--batch", type=int, default=10, help="alerts per post")
    ap.add_argument("--groups", type=int, default=50, help="P1 incidents that must open")
    ap.add_argument("--commands", type=int, default=50, help="concurrent slash commands")
    ap.add_argument("--quick", action="store_true", help="500 alerts: a fast check")
    ap.add_argument("--db", default="sqlite,postgresql", help="sqlite,postgresql")
    ap.add_argument("--settle", type=float, default=30.0, help="bound on paging to settle, s")
    ap.add_argument("--drain", type=float, default=180.0, help="bound on the outbox drain, s")
    ap.add_argument("--log-level", default="INFO", help="the server's VIGIL_LOG_LEVEL")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--profile", type=Path, help="py-spy the server through each storm")
    ap.add_argument("--py-spy", default=shutil.which("py-spy"), help="py-spy binary")
    ap.add_argument(
        "--watch", type=float, default=0.0, help="S: sample the backlog every S s in the storm"
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.alerts = min(args.alerts, 500)  # one post per group at the defaults
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    if not dbs or set(dbs) - {"sqlite", "postgresql"}:
        ap.error("--db takes sqlite, postgresql or both")
    args.dbs = dbs
    if args.profile is not None and not args.py_spy:
        ap.error("--profile needs py-spy (--py-spy PATH)")
    return args


async def amain(args: argparse.Namespace) -> int:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:  # SIGTERM unwinds like Ctrl-C: every child stopped on the way out
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    opts = Options(
        alerts=args.alerts,
        senders=args.senders,
        batch=args.batch,
        groups=args.groups,
        commands=args.commands,
        settle=args.settle,
        drain=args.drain,
        log_level=args.log_level,
        profile_dir=args.profile,
        py_spy=args.py_spy,
        watch=args.watch,
    )
    results: list[DbResult] = []
    started = time.monotonic()
    async with contextlib.AsyncExitStack() as stack:
        for db in args.dbs:
            url = ""
            if db == "postgresql":
                server_url = await stack.enter_async_context(postgres_server())
                url = await stack.enter_async_context(fresh_database(server_url))
            print(f"{db}: {opts.alerts} alerts ...", file=sys.stderr, flush=True)
            results.append(await run_database(db, url, opts))
    header = (
        f"{opts.alerts:,} alerts in posts of {opts.batch} by {opts.senders} senders, "
        f"{opts.groups} P1 groups; {opts.commands} concurrent /incident list per measurement; "
        f"{os.cpu_count()} CPUs, took {time.monotonic() - started:.0f} s"
    )
    print(header)
    print(render(results))
    for r in results:
        if r.post_errors or r.server_log_errors or r.storm.errors:
            print(f"\n{r.db}: first errors")
            for e in r.post_errors[:3] + r.storm.errors[:3] + r.server_log_errors[:5]:
                print(f"  {e}")
    for r in results:
        if r.backlog:
            print(f"\n{r.db}: in the storm, seconds: reactions rows / outbox depth")
            cells = [f"{t:.0f}s {p:.0f}/{o:.0f}" for t, p, o in r.backlog]
            for i in range(0, len(cells), 8):
                print("  " + "  ".join(cells[i : i + 8]))
    if args.profile is not None:
        for r in results:
            for path in r.profiles:
                print()
                print(profile_summary(Path(path)))
    if args.json is not None:
        payload = {
            "run": header,
            "targets": {
                "alerts_per_s": TARGET_RATE,
                "post_p99_ms": TARGET_POST_P99_MS,
                "reply_idle_p99_ms": TARGET_REPLY_IDLE_P99_MS,
                "reply_storm_p99_ms": TARGET_REPLY_STORM_P99_MS,
            },
            "results": [r.summary() for r in results],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    met = all(m is not False for _, _, cells in rows(results) for _, m in cells)
    return 0 if met else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(amain(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
