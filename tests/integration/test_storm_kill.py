"""A storm of P1 alerts, slash commands, and kill -9 at random moments: no P1 goes unpaged.

A real ``vigil serve`` (SQLite file, or PostgreSQL) pages through a signed webhook and
answers Slack slash commands (the Slack stand-in is its Web API and its ``response_url``).
Eight senders post Alertmanager payloads of ten P1 alerts each, as Alertmanager does:
a post that fails (the process is dead, or answered 5xx) is posted again until it is
accepted. The process is killed with SIGKILL three times at seeded random moments of the
storm and started again on the same database. Then a last burst of alerts and 20 signed
``/incident list`` commands arrive at once.

What a user must see at the end: every incident paged at each escalation step exactly
once in Vigil's record (one "Paged" entry per person and level, one ``pages`` row), every
page received by the webhook (at least once: a process killed between the webhook's answer
and its own note of it sends that page again on restart, which is what the webhook's
incident key is for), and every slash command answered at its ``response_url``.

Real processes keep real time: level 1 waits 3 s before level 2 is paged. Every wait is
bounded and awaits an event or polls a process; nothing sleeps to win a race.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.conftest import postgres_url
from tests.integration.procs import BIN, Child, clean_env, free_port, running
from tests.page_receiver import SECRET, receiver
from tests.slack_signing import post_signed, slash_command_body
from tests.slack_standin import SlackStandin

SIGNING_SECRET = "storm-signing-secret"
GROUPS = 24  # services, hence incidents, in the storm
LAST_GROUPS = 6  # more incidents in the last burst, beside the slash commands
SENDERS = 8
ALERTS_PER_POST = 10
POSTS = 48  # posts of the storm (each alert is repeated a few times, as Alertmanager does)
KILLS = 3
COMMANDS = 20


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def serve_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"
    return await postgres_url()


async def notify_in_flight(url: str) -> int:
    """Webhook pages the killed process had claimed and not yet noted as sent: each may
    have reached the webhook and will be sent again after the restart (at least once)."""
    query = "SELECT count(*) FROM reactions WHERE follower = 'page-notify' AND attempts > 0"
    if url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(url.split("///", 1)[1], timeout=10)) as db:
            return int(db.execute(query).fetchone()[0])
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return int(await conn.fetchval(query))
    finally:
        await conn.close()


def am_post(rng: random.Random, groups: range, post: int) -> dict[str, Any]:
    """One Alertmanager v4 webhook of ten firing P1 alerts (ServiceDown, critical)."""
    alerts = []
    for n in range(ALERTS_PER_POST):
        group = rng.choice(list(groups))
        alerts.append(
            {
                "status": "firing",
                "labels": {
                    "alertname": "ServiceDown",
                    "service": f"svc-{group:02d}",
                    "instance": f"pod-{n}",
                    "severity": "critical",
                },
                "annotations": {"summary": f"svc-{group:02d} is down"},
                "startsAt": "2026-12-05T02:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example/graph",
                "fingerprint": f"{group:08x}{n:08x}",
            }
        )
    return {
        "version": "4",
        "groupKey": f"storm-{post}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "vigil",
        "groupLabels": {},
        "commonLabels": {"alertname": "ServiceDown"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example",
        "alerts": alerts,
    }


class Bot:
    """The one ``vigil serve`` of the moment; restarted after each kill."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path, self.env = tmp_path, env
        self.base = ""
        self.child: Child | None = None
        self.starts = 0
        self.up = asyncio.Event()

    async def start(self) -> None:
        self.starts += 1
        port = free_port()
        name = f"vigil-{self.starts}"
        argv = [str(BIN / "vigil"), "serve", "--port", str(port)]
        log = self.tmp_path / f"{name}.log"
        self._cm = running(name, argv, log_path=log, cwd=self.tmp_path, env=self.env)
        self.child = await self._cm.__aenter__()
        self.base = f"http://127.0.0.1:{port}"
        await self.child.wait_http(f"{self.base}/healthz", within=60)
        self.up.set()

    async def kill(self) -> None:
        assert self.child is not None
        self.up.clear()
        self.child.proc.send_signal(signal.SIGKILL)
        assert await self.child.exited_within(10), self.child.describe()
        await self._cm.__aexit__(None, None, None)

    def describe(self) -> str:
        return self.child.describe() if self.child is not None else "not started"

    async def stop(self) -> None:
        if self.child is not None and self.child.returncode is None:
            await self._cm.__aexit__(None, None, None)


async def post_until_accepted(http: aiohttp.ClientSession, bot: Bot, body: dict[str, Any]) -> None:
    """What Alertmanager does: post again until a 2xx. A post that failed because the
    process was killed waits for the restart (``bot.up`` is cleared before the kill)."""
    while True:
        await bot.up.wait()
        try:
            async with http.post(f"{bot.base}/alerts/alertmanager", json=body) as resp:
                if resp.status == 200:
                    return
                assert resp.status >= 500, await resp.text()  # never a 4xx for a good post
        except (aiohttp.ClientError, TimeoutError):
            pass  # killed mid-post: the process is gone


async def incidents(http: aiohttp.ClientSession, bot: Bot) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = ""
    while True:
        url = f"{bot.base}/api/v1/incidents?all=true&limit=200" + (
            f"&cursor={cursor}" if cursor else ""
        )
        async with http.get(url) as resp:
            body = await resp.json()
        out.extend(body["incidents"])
        cursor = body.get("next_cursor") or ""
        if not cursor:
            return out


async def timeline_pages(http: aiohttp.ClientSession, bot: Bot, n: int) -> Counter[str]:
    async with http.get(f"{bot.base}/api/v1/incidents/{n}") as resp:
        body = await resp.json()
    return Counter(e["text"].split(" (")[0] for e in body["timeline"] if e["kind"] == "page")


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandin]:
    async with SlackStandin() as standin:
        standin.add_channel("incidents", channel_id="C0INCIDNT")
        yield standin


async def test_a_storm_with_kills_pages_every_p1_once_per_step_and_answers_every_command(
    tmp_path: Path, serve_db: str, slack: SlackStandin
) -> None:
    rng = random.Random(14)  # seeded: the kill moments repeat run to run
    async with receiver() as rec:
        (tmp_path / "vigil.yaml").write_text(
            f"""
escalation:
  levels:
    - {{notify: ["@alice"], wait: 3s}}
    - {{notify: ["@bob"], wait: 1h}}
notify:
  order: [webhook]
  webhook: {{url: "{rec.url}"}}
timer_poll: 1s
"""
        )
        env = clean_env(
            VIGIL_DATABASE_URL=serve_db,
            VIGIL_WEBHOOK_SECRET=SECRET,
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack.url,
        )
        bot = Bot(tmp_path, env)
        timeout = aiohttp.ClientTimeout(total=10)
        try:
            async with asyncio.timeout(300), aiohttp.ClientSession(timeout=timeout) as http:
                await bot.start()
                storm = [am_post(rng, range(GROUPS), p) for p in range(POSTS)]
                queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
                for body in storm:
                    queue.put_nowait(body)
                accepted = 0
                in_flight = 0  # webhook pages claimed, maybe sent, not yet noted at a kill
                progress = asyncio.Event()

                async def sender() -> None:
                    nonlocal accepted
                    while not queue.empty():
                        body = queue.get_nowait()
                        await post_until_accepted(http, bot, body)
                        accepted += 1
                        progress.set()

                senders = [asyncio.create_task(sender()) for _ in range(SENDERS)]
                kill_at = sorted(rng.sample(range(4, POSTS - 4), KILLS))
                for k in kill_at:  # kill as the k-th post is accepted: its follow-ups in flight
                    while accepted < k:
                        progress.clear()
                        await progress.wait()
                    await bot.kill()
                    in_flight += await notify_in_flight(serve_db)
                    await bot.start()
                await asyncio.gather(*senders)

                # The last burst: more P1s and 20 slash commands at once, no kill.
                last = [
                    am_post(rng, range(GROUPS, GROUPS + LAST_GROUPS), POSTS + p) for p in range(4)
                ]
                urls = [slack.response_url(f"cmd{i}") for i in range(COMMANDS)]

                async def command(url: str) -> int:
                    body = slash_command_body("/incident", "list", response_url=url)
                    resp = await post_signed(http, f"{bot.base}/slack/events", body, SIGNING_SECRET)
                    return resp.status

                acks = await asyncio.gather(
                    *(command(u) for u in urls),
                    *(post_until_accepted(http, bot, b) for b in last),
                )
                assert acks[:COMMANDS] == [200] * COMMANDS

                total = GROUPS + LAST_GROUPS
                found = await incidents(http, bot)
                assert len(found) == total, [i["title"] for i in found]
                assert {i["severity"] for i in found} == {"P1"}
                ids = [int(i["id"]) for i in found]  # PostgreSQL's ids have gaps (retries)
                expected = {(i, p) for i in ids for p in ("@alice", "@bob")}
                deadline = asyncio.get_running_loop().time() + 90
                while not expected <= set(rec.by_incident):
                    missing = sorted(expected - set(rec.by_incident))
                    left = deadline - asyncio.get_running_loop().time()
                    assert left > 0, f"never paged: {missing}; {bot.describe()}"
                    rec.changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(rec.changed.wait(), min(left, 1))
                await slack.wait_for(lambda: all(slack.responses_to(u) for u in urls), 30)

                for n in ids:
                    assert await timeline_pages(http, bot, n) == Counter(
                        {"Paged @alice": 1, "Paged @bob": 1}
                    ), n
                # At least once at the webhook; a second copy only for a page in flight at a kill.
                assert all(rec.by_incident[key] >= 1 for key in expected)
                assert sum(rec.by_incident.values()) - len(expected) <= in_flight
                for url in urls:
                    [answer] = slack.responses_to(url)
                    assert "P1" in answer.text, answer.text
                # Nothing left owed, as /metrics says (the worker updates it every second).
                while True:
                    async with http.get(f"{bot.base}/metrics") as resp:
                        metrics = await resp.text()
                    if "\nvigil_reactions_pending 0.0" in metrics:
                        break
                    assert bot.child is not None
                    await bot.child.exited_within(0.2)  # a bounded poll of the process
        finally:
            await bot.stop()
