"""A real Alertmanager, as a child process on 127.0.0.1, notifying Vigil over HTTP.

Alerts go in through Alertmanager's own API (``POST /api/v2/alerts``); Alertmanager groups
them, calls its webhook receiver (Vigil's ``/alerts/alertmanager`` on the test server) and
we await Vigil's notifier for the committed change. Nothing sleeps to wait for an alert.

Needs ``/usr/bin/prometheus-alertmanager`` (Debian: ``apt-get install
prometheus-alertmanager``). Without it these tests skip, saying so; with ``CI=true`` they
fail instead, so CI can never pass without having run them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.core.secret import Secret
from bot.incidents.intake.fingerprint import fingerprint
from bot.incidents.reactions.changes import Change
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.integration.alertmanager_proc import alertmanager_binary, rfc3339
from tests.integration.procs import Child, free_port, running

AM_NAME = "prometheus-alertmanager"
TEST_BUDGET = 60.0  # seconds for one whole test, start-up and teardown included
WAIT = 20.0  # seconds to await one notification from Alertmanager
TOKEN = "e2e-ingest-token-5c2f"


# --- Vigil's side: the test server, with a recorder of what Alertmanager sent -------------


@dataclass
class Post:
    """One webhook call Alertmanager made to Vigil, and Vigil's answer."""

    authorization: str | None
    status: int
    body: dict[str, Any]


@dataclass
class Recorder:
    """Every committed incident change and every webhook post, awaitable without sleeping."""

    changes: list[Change] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    _news: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def on_change(self, change: Change) -> None:
        async with self._news:
            self.changes.append(change)
            self._news.notify_all()

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        response = await handler(request)
        if request.path == "/alerts/alertmanager":
            raw = await request.read()  # aiohttp keeps the body the handler already read
            async with self._news:
                self.posts.append(
                    Post(request.headers.get("Authorization"), response.status, _json(raw))
                )
                self._news.notify_all()
        return response

    async def change(self, match: Callable[[Change], bool], what: str, am: AM) -> Change:
        """Await the first change that ``match``es (at most WAIT seconds)."""
        await self.until(lambda: any(match(c) for c in self.changes), what, am)
        return next(c for c in self.changes if match(c))

    async def post(self, match: Callable[[Post], bool], what: str, am: AM) -> Post:
        """Await the first webhook post that ``match``es, as recorded once it was answered."""
        await self.until(lambda: any(match(p) for p in self.posts), what, am)
        return next(p for p in self.posts if match(p))

    async def until(self, ready: Callable[[], bool], what: str, am: AM) -> None:
        """Await ``ready()`` turning true after a change or a post (at most WAIT seconds)."""

        async def wait() -> None:
            async with self._news:
                await self._news.wait_for(ready)

        try:
            await asyncio.wait_for(wait(), WAIT)
        except TimeoutError:
            seen = [(c.kind, c.incident.id, c.text) for c in self.changes]
            posts = [
                (p.status, p.body.get("status"), p.body.get("groupKey")) for p in self.posts[-6:]
            ]
            pytest.fail(
                f"no {what} within {WAIT}s; changes {seen}; {len(self.posts)} posts, the last "
                f"{posts}; {am.child.describe()}"
            )


def _json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# --- Alertmanager's side -------------------------------------------------------------------


@dataclass
class AM:
    """A running Alertmanager and an HTTP session to its API."""

    child: Child
    base: str
    http: aiohttp.ClientSession

    async def post_alerts(self, *alerts: dict[str, Any]) -> None:
        async with self.http.post(f"{self.base}/api/v2/alerts", json=list(alerts)) as resp:
            assert resp.status == 200, f"Alertmanager refused the alerts: {await resp.text()}"

    async def alerts(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.base}/api/v2/alerts") as resp:
            assert resp.status == 200
            data: list[dict[str, Any]] = await resp.json()
            return data


def am_config(
    vigil_url: str,
    *,
    group_by: list[str] | None = None,
    group_wait: str = "0s",
    token: str | None = None,
    unauthenticated_route: bool = False,
) -> dict[str, Any]:
    """One route to a webhook receiver at ``vigil_url``; optionally a token-less second one."""

    def webhook(credentials: str | None) -> dict[str, Any]:
        hook: dict[str, Any] = {"url": vigil_url, "send_resolved": True}
        if credentials is not None:
            hook["http_config"] = {"authorization": {"credentials": credentials}}
        return hook

    route: dict[str, Any] = {
        "receiver": "vigil",
        "group_by": group_by or ["alertname", "service"],
        "group_wait": group_wait,
        "group_interval": "1s",
        "repeat_interval": "1h",
    }
    receivers = [{"name": "vigil", "webhook_configs": [webhook(token)]}]
    if unauthenticated_route:
        route["routes"] = [{"receiver": "vigil-no-token", "matchers": ['auth="none"']}]
        receivers.append({"name": "vigil-no-token", "webhook_configs": [webhook(None)]})
    return {"route": route, "receivers": receivers}


StartAM = Callable[[dict[str, Any]], Awaitable[AM]]


@pytest.fixture
async def start_alertmanager(tmp_path: Path) -> AsyncIterator[StartAM]:
    """Start Alertmanager with a config; every one started is stopped at teardown."""
    binary = alertmanager_binary()
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        )

        started: list[AM] = []

        async def start(config: dict[str, Any]) -> AM:
            home = tmp_path / f"alertmanager-{len(started)}"
            home.mkdir()
            (home / "am.yml").write_text(yaml.safe_dump(config))
            port = free_port()
            child = await stack.enter_async_context(
                running(
                    AM_NAME,
                    [
                        binary,
                        f"--web.listen-address=127.0.0.1:{port}",
                        "--cluster.listen-address=",
                        f"--storage.path={home}",
                        f"--config.file={home / 'am.yml'}",
                    ],
                    log_path=home / "alertmanager.log",
                    cwd=home,
                )
            )
            base = f"http://127.0.0.1:{port}"
            await child.wait_http(f"{base}/-/ready", within=15)
            started.append(AM(child, base, http))
            return started[-1]

        yield start


@pytest.fixture
async def serve() -> AsyncIterator[
    Callable[[Vigil], Awaitable[tuple[TestClient[Any, Any], Recorder]]]
]:
    """Serve a Vigil on 127.0.0.1 with a Recorder attached (notifier and webhook posts)."""
    async with AsyncExitStack() as stack:

        async def start(vigil: Vigil) -> tuple[TestClient[Any, Any], Recorder]:
            recorder = Recorder()
            vigil.notifier.subscribe(recorder.on_change)
            app = vigil.web_app()
            app.middlewares.append(recorder.middleware)
            client = TestClient(TestServer(app, host="127.0.0.1"))
            await stack.enter_async_context(client)
            return client, recorder

        yield start


def alert(
    labels: dict[str, str],
    *,
    annotations: dict[str, str] | None = None,
    starts_at: datetime,
    ends_at: datetime,
) -> dict[str, Any]:
    """A postable alert for Alertmanager's API; ``ends_at`` in the past means resolved."""
    return {
        "labels": labels,
        "annotations": annotations or {},
        "startsAt": rfc3339(starts_at),
        "endsAt": rfc3339(ends_at),
        "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=job%3Aerrors%3Aratio5m",
    }


# --- the tests -----------------------------------------------------------------------------


async def test_firing_then_resolved_through_a_real_alertmanager(
    vigil: Vigil, serve: Any, start_alertmanager: StartAM
) -> None:
    async with asyncio.timeout(TEST_BUDGET):
        client, rec = await serve(vigil)
        am = await start_alertmanager(am_config(str(client.make_url("/alerts/alertmanager"))))
        labels = {
            "alertname": "HighErrorRate",
            "service": "payments-e2e",
            "severity": "warning",  # the policy (error rate 7.5% > 5%) must win: P1
            "env": "e2e",
        }
        annotations = {"summary": "5xx ratio at 7.5% on payments-e2e", "value": "0.075"}
        now = datetime.now(UTC)
        firing = alert(
            labels,
            annotations=annotations,
            starts_at=now - timedelta(minutes=2),
            ends_at=now + timedelta(minutes=5),
        )
        await am.post_alerts(firing)

        opened = await rec.change(lambda c: c.kind == "opened", "'opened' change", am)
        resp = await client.get(f"/api/v1/incidents/{opened.incident.id}")
        assert resp.status == 200
        incident = await resp.json()
        assert incident["title"] == annotations["summary"]
        assert incident["severity"] == "P1"
        assert incident["severity_source"] == "policy"
        assert incident["severity_reason"].startswith("P1: error rate 7.5% > 5%"), incident
        assert incident["service"] == "payments-e2e"
        assert incident["state"] == "triggered"
        assert incident["created_by"] == "alertmanager"
        [stored] = incident["alerts"]
        [am_alert] = await am.alerts()
        # The change is published inside Vigil's handler; the post is recorded after it.
        sent = (await rec.post(lambda p: p.status == 200, "answered firing post", am)).body
        assert sent["version"] == "4"
        assert sent["groupKey"] == '{}:{alertname="HighErrorRate", service="payments-e2e"}'
        assert stored["fingerprint"] == am_alert["fingerprint"] == sent["alerts"][0]["fingerprint"]
        assert stored["fingerprint"] == fingerprint(labels)  # Vigil computes Alertmanager's hash
        assert stored["labels"] == labels
        assert stored["annotations"] == annotations
        assert stored["status"] == "firing"
        assert stored["source"] == "alertmanager"
        assert stored["value"] == 0.075
        assert stored["generator_url"] == firing["generatorURL"]
        assert stored["starts_at"] == firing["startsAt"]
        assert stored["ends_at"] is None  # a firing alert's endsAt is only a projected expiry

        resolved_at = datetime.now(UTC) - timedelta(seconds=1)
        await am.post_alerts(
            alert(
                labels,
                annotations=annotations,
                starts_at=now - timedelta(minutes=2),
                ends_at=resolved_at,
            )
        )
        change = await rec.change(
            lambda c: c.kind == "cleared" and c.text.startswith("Alert cleared"),  # all clear
            "'Alert cleared' change",
            am,
        )
        assert change.incident.id == opened.incident.id
        assert change.actor == "alertmanager"
        incident = await (await client.get(f"/api/v1/incidents/{opened.incident.id}")).json()
        [stored] = incident["alerts"]
        assert stored["status"] == "resolved"
        assert stored["ends_at"] == rfc3339(resolved_at)
        resolved_lines = [e for e in incident["timeline"] if e["kind"] == "alert_resolved"]
        assert len(resolved_lines) == 1, incident["timeline"]
        assert resolved_lines[0]["text"].startswith(f"Alert cleared: {annotations['summary']}")
        assert resolved_lines[0]["data"]["fingerprints"] == [stored["fingerprint"]]
        # The incident stays open for the quiet period (it resolves by itself after it).
        assert incident["state"] == "triggered"
        assert incident["cleared_at"] is not None
        await rec.post(lambda p: p.body.get("status") == "resolved", "resolved post", am)
        assert [p.status for p in rec.posts] == [200, 200]
        assert [p.body["status"] for p in rec.posts] == ["firing", "resolved"]


async def test_one_alertmanager_group_with_two_services_opens_two_incidents(
    vigil: Vigil, serve: Any, start_alertmanager: StartAM
) -> None:
    async with asyncio.timeout(TEST_BUDGET):
        client, rec = await serve(vigil)
        # Alertmanager groups by alertname only; Vigil groups by alertname and service.
        # group_wait 1s with startsAt "now" lets both alerts go out in the group's first post.
        am = await start_alertmanager(
            am_config(
                str(client.make_url("/alerts/alertmanager")),
                group_by=["alertname"],
                group_wait="1s",
            )
        )
        now = datetime.now(UTC)
        services = ("checkout", "search")
        await am.post_alerts(
            *(
                alert(
                    {"alertname": "ServiceDown", "service": s, "severity": "critical"},
                    annotations={"summary": f"{s} is not answering"},
                    starts_at=now,
                    ends_at=now + timedelta(minutes=5),
                )
                for s in services
            )
        )
        await rec.until(
            lambda: sum(c.kind == "opened" for c in rec.changes) >= 2, "two 'opened' changes", am
        )
        await rec.until(
            lambda: sum(len(p.body.get("alerts", [])) for p in rec.posts) >= 2,
            "posts carrying both alerts",
            am,
        )
        opened = [c.incident for c in rec.changes if c.kind == "opened"]
        assert sorted(i.service or "" for i in opened) == list(services)
        assert len({i.id for i in opened}) == 2
        assert {p.body["groupKey"] for p in rec.posts} == {'{}:{alertname="ServiceDown"}'}
        assert sum(len(p.body["alerts"]) for p in rec.posts) == 2
        assert all(p.status == 200 for p in rec.posts)
        listed = await (await client.get("/api/v1/incidents")).json()
        by_service = {i["service"]: i for i in listed["incidents"]}
        assert set(by_service) == set(services)
        for s in services:
            incident = by_service[s]
            assert incident["severity"] == "P1", incident["severity_reason"]
            assert incident["title"] == f"{s} is not answering"
            assert [a["labels"]["service"] for a in incident["alerts"]] == [s]


async def test_bearer_token_from_alertmanager_http_config(
    make_vigil: MakeVigil, serve: Any, start_alertmanager: StartAM
) -> None:
    async with asyncio.timeout(TEST_BUDGET):
        vigil = await make_vigil(ingest_token=Secret(TOKEN))
        client, rec = await serve(vigil)
        am = await start_alertmanager(
            am_config(
                str(client.make_url("/alerts/alertmanager")),
                token=TOKEN,
                unauthenticated_route=True,  # alerts labelled auth="none" go without a token
            )
        )
        now = datetime.now(UTC)

        def labelled(service: str, **extra: str) -> dict[str, Any]:
            return alert(
                {"alertname": "InputDrift", "model": "fraud-scorer", "service": service, **extra},
                annotations={"summary": f"drift on {service}", "value": "0.31"},
                starts_at=now - timedelta(minutes=1),
                ends_at=now + timedelta(minutes=5),
            )

        await am.post_alerts(labelled("tokenless", auth="none"))
        refused = await rec.post(lambda p: p.status == 401, "401 for the token-less receiver", am)
        assert refused.authorization is None
        assert refused.body["receiver"] == "vigil-no-token"

        await am.post_alerts(labelled("with-token"))
        opened = await rec.change(lambda c: c.kind == "opened", "'opened' change", am)
        accepted = await rec.post(lambda p: p.status == 200, "accepted post", am)
        assert accepted.authorization == f"Bearer {TOKEN}"
        assert accepted.body["receiver"] == "vigil"
        assert opened.incident.service == "with-token"
        assert opened.incident.severity == "P3", opened.incident.severity_reason
        # The refused alert left nothing behind.
        incidents = await vigil.incidents.list(include_closed=True)
        assert [i.service for i in incidents] == ["with-token"]
        assert all(p.authorization is None for p in rec.posts if p.status == 401)
