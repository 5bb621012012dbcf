"""A service's errors climb, a responder fixes it from Slack, the post-mortem counts it all.

The whole first-incident journey with ``vigil serve`` as a process on the real clock: an
exporter's error ratio is scraped by a real Prometheus, which Vigil polls as the README
shows; the P1 pages @oncall by Slack DM (the stand-in speaks Slack's Web API); the
responder presses the DM's Acknowledge button (a signed interaction) and runs
``/rollback fraud-scorer --incident N`` (a signed slash command), which puts v1 back and
contains the incident; the exporter's errors fall, the alert clears, the incident resolves
itself after the quiet period, and the post-mortem draft gives the time to contain. Short
``for`` and intervals come from ``vigil.yaml`` and a rules file, never from patched code.

Needs ``/usr/bin/prometheus``; skips without it, fails under ``CI=true``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.conftest import postgres_url
from tests.integration.procs import BIN, clean_env, free_port, running, until, vigil_model
from tests.integration.test_prometheus_e2e import READY_WITHIN, _prometheus_binary
from tests.slack_signing import (
    DEFAULT_CHANNEL_ID,
    DEFAULT_CHANNEL_NAME,
    DEFAULT_USER_ID,
    block_action_body,
    post_signed,
    slash_command_body,
)
from tests.slack_standin import SlackStandin

BUDGET = 120.0
MODEL = "fraud-scorer"
SIGNING = "outage-journey-signing-secret"


@dataclass
class Exporter:
    """What the service exports: its error ratio, changed by the test."""

    error_ratio: float = 0.075
    scrapes: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def metrics(self, request: web.Request) -> web.Response:
        self.scrapes += 1
        text = (
            "# TYPE http_requests_errors_ratio gauge\n"
            f'http_requests_errors_ratio{{service="payments"}} {self.error_ratio}\n'
        )
        return web.Response(text=text, content_type="text/plain", charset="utf-8")


@dataclass
class Prom:
    base: str
    exporter: Exporter


@pytest.fixture
async def prometheus(tmp_path: Path) -> AsyncIterator[Prom]:
    """A real Prometheus scraping the test's exporter every second; both stopped after."""
    binary = _prometheus_binary()
    exporter = Exporter()
    app = web.Application()
    app.router.add_get("/metrics", exporter.metrics)
    async with TestServer(app, host="127.0.0.1") as server:
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [
                {
                    "job_name": "payments",
                    "static_configs": [{"targets": [f"127.0.0.1:{server.port}"]}],
                }
            ],
        }
        (tmp_path / "prom.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        argv = [
            binary,
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={tmp_path / 'prom-data'}",
            f"--config.file={tmp_path / 'prom.yml'}",
        ]
        async with running("prometheus", argv, log_path=tmp_path / "prom.log", cwd=tmp_path) as p:
            base = f"http://127.0.0.1:{port}"
            await p.wait_http(f"{base}/-/ready", within=READY_WITHIN)
            yield Prom(base, exporter)


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_errors_scraped_by_prometheus_paged_acked_rolled_back_cleared_and_counted(
    prometheus: Prom, tmp_path: Path, database: str
) -> None:
    db_url = (
        await postgres_url()
        if database == "postgres"
        else f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"
    )
    for args in (
        ("register", MODEL, "v1", "--stage", "stable"),
        ("register", MODEL, "v2", "--stage", "shadow"),
        ("promote", MODEL, "v2"),
    ):
        done = vigil_model(db_url, *args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "fast.yaml").write_text(
        yaml.safe_dump({"rules": [{"name": "error-rate-high", "for": "1s"}]})
    )
    config = {
        "rules_dir": "rules",
        "sources": {
            "interval": "1s",
            "system": False,
            "prometheus": {
                "url": prometheus.base,
                "queries": {"error_rate": "http_requests_errors_ratio"},
            },
        },
        "escalation": {
            "severities": ["P1"],
            "levels": [
                {"notify": ["@oncall"], "wait": "1h"},
                {"notify": ["@lead"], "wait": "1h"},
            ],
        },
        "slack": {
            "alerts_channel": f"#{DEFAULT_CHANNEL_NAME}",
            "users": {"@oncall": DEFAULT_USER_ID, "@lead": "U0LEAD0001"},
        },
        "auto_resolve": "3s",
        "timer_poll": "1s",
    }
    (tmp_path / "vigil.yaml").write_text(yaml.safe_dump(config))

    async with SlackStandin() as slack:
        slack.add_channel(DEFAULT_CHANNEL_NAME, channel_id=DEFAULT_CHANNEL_ID)
        slack.add_user(DEFAULT_USER_ID, "oncall")
        slack.add_user("U0LEAD0001", "lead")
        env = clean_env(
            VIGIL_DATABASE_URL=db_url,
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SIGNING,
            SLACK_API_URL=slack.url,
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        argv = [str(BIN / "vigil"), "serve", "--port", str(port)]
        async with (
            asyncio.timeout(BUDGET),
            running("serve", argv, log_path=tmp_path / "serve.log", cwd=tmp_path, env=env) as vigil,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http,
        ):
            await vigil.wait_http(f"{base}/healthz", within=60)

            async def api(path: str) -> Any:
                async with http.get(f"{base}{path}") as resp:
                    assert resp.status == 200, await resp.text()
                    return await resp.json()

            async def opened() -> list[dict[str, Any]]:
                return list((await api("/api/v1/incidents"))["incidents"])

            [summary] = await until(vigil, opened)
            n = int(summary["id"])
            assert summary["severity"] == "P1", summary
            assert summary["title"].startswith("error rate 7.5% > 1%"), summary

            def dms() -> list[Any]:
                return [
                    c
                    for c in slack.calls_to("chat.postMessage")
                    if c.ok and str(c.args.get("channel", "")).startswith("D")
                ]

            [dm] = await slack.wait_for(dms, timeout=30)
            assert f"#{n}" in str(dm.args["text"]), dm.args
            [ack] = [
                e
                for block in dm.args.get("blocks") or []
                for e in block.get("elements", [])
                if e.get("action_id") == "vigil_ack"
            ]

            # The responder presses Acknowledge in the DM.
            press = block_action_body("vigil_ack", ack["value"], response_url=slack.response_url())
            assert (await post_signed(http, f"{base}/slack/events", press, SIGNING)).status == 200

            async def state(*wanted: str) -> dict[str, Any] | None:
                body: dict[str, Any] = await api(f"/api/v1/incidents/{n}")
                return body if body["state"] in wanted else None

            await until(vigil, lambda: state("acknowledged"))

            # ... and rolls the model back, naming the incident; Slack asks to confirm.
            asked = slack.response_url()
            rollback = slash_command_body(
                "/rollback", f"{MODEL} --incident {n}", response_url=asked
            )
            assert (
                await post_signed(http, f"{base}/slack/events", rollback, SIGNING)
            ).status == 200
            [question] = await slack.wait_for(lambda: slack.responses_to(asked), timeout=30)
            assert question.text == f"Roll back {MODEL}: replace v2 with v1?", question.text
            [confirm] = [
                e
                for block in question.blocks
                for e in block.get("elements", [])
                if e.get("action_id") == "vigil_rollback_confirm"
            ]
            press = block_action_body(
                "vigil_rollback_confirm", confirm["value"], response_url=slack.response_url()
            )
            assert (await post_signed(http, f"{base}/slack/events", press, SIGNING)).status == 200
            body = await until(vigil, lambda: state("contained"))
            steps = [e["text"] for e in body["timeline"] if e["kind"] == "playbook"]
            assert steps, body["timeline"]

            # The errors fall: the alert clears and the incident resolves itself.
            prometheus.exporter.error_ratio = 0.001
            body = await until(vigil, lambda: state("resolved"))
            [resolved] = [
                e["text"]
                for e in body["timeline"]
                if e["kind"] == "state" and e["text"].startswith("Resolved")
            ]
            assert resolved.startswith("Resolved by vigil: every alert cleared at "), resolved
            assert len(dms()) == 1, "paged again after the ack"

            async def draft() -> str | None:
                path = tmp_path / "var" / "postmortems" / f"incident-{n}-postmortem.md"
                return path.read_text() if path.exists() else None

            text = await until(vigil, draft)
            [row] = [line for line in text.splitlines() if line.startswith("| Time to contain")]
            assert "—" not in row, row
