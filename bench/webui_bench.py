"""The web view's incident table with 10,000 incidents: is a page under 200 ms?

Run: ``PYTHONPATH=. .venv/bin/python bench/webui_bench.py [--incidents 10000] [--requests 20]
[--database-url postgresql+asyncpg://…]`` (SQLite in a temporary directory by default).

Stores ``--incidents`` incidents (a quarter open, P1 to P4, services and models, two alerts
each, one with a ``version`` label, an opened entry, a page for one in ten, a Slack card
for one in five, and 200 muted alerts still firing) with bulk inserts, then times
``GET /incidents`` over real HTTP (aiohttp's test server on 127.0.0.1, the whole app) for
several views, ``--requests`` each after one warm-up: the open list, every incident newest
first, a deep page, a text search sorted by age, and a severity and time filter. Prints
p50 and p99 (the slowest of 20 is the p99 of 20) in milliseconds against the 200 ms goal.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert

from bot.chat.slack.tables import SlackCard
from bot.config.load import load_settings
from bot.incidents.intake.fingerprint import group_key
from bot.runtime.app import Vigil
from bot.store.tables import Alert, Incident, Page, TimelineEvent

GOAL_MS = 200.0
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
STATES = ("triggered", "acknowledged", "resolved", "resolved")
VIEWS = {
    "open list": "/incidents",
    "all, newest first": "/incidents?state=all",
    "all, page 150": "/incidents?state=all&page=150",
    "text search, by age": "/incidents?state=all&q=latency&sort=-age",
    "P1+P2, last 3 days": "/incidents?state=all&severity=P1&severity=P2&since=3d",
}


def _rows(n: int) -> dict[str, list[dict[str, Any]]]:
    incidents, alerts, events, pages, cards = [], [], [], [], []
    for i in range(1, n + 1):
        at = NOW - timedelta(minutes=n - i)
        service = f"svc-{i % 40}" if i % 2 else None
        model = None if service else f"model-{i % 25}"
        labels = {
            "alertname": f"Latency{i % 7}",
            "service" if service else "model": service or model,
        }
        key = group_key({k: str(v) for k, v in labels.items()})
        state = STATES[i % 4]
        incidents.append(
            {
                "id": i,
                "title": f"High latency on {service or model} #{i}",
                "severity": f"P{i % 4 + 1}",
                "severity_reason": "p99 latency above 2 s",
                "severity_source": "policy",
                "state": state,
                "commander": "@alice" if i % 3 else None,
                "group_key": key,
                "open_key": None if state == "resolved" else f"{i:064d}",
                "service": service,
                "model": model,
                "created_by": "alertmanager",
                "created_at": at,
                "updated_at": at,
                "acknowledged_at": None,
                "contained_at": None,
                "resolved_at": at if state == "resolved" else None,
                "cleared_at": None,
            }
        )
        for k in range(2):
            alabels = {**labels, "instance": f"host-{k}"} | ({"version": "v3"} if model else {})
            alerts.append(_alert(i, f"{i:012x}{k:04x}", alabels, at))
        events.append(
            {
                "incident_id": i,
                "at": at,
                "kind": "opened",
                "actor": "alertmanager",
                "text": "Opened by an alert",
                "data": {"group_key": key},
            }
        )
        if i % 10 == 0:
            pages.append(
                {
                    "incident_id": i,
                    "step": 0,
                    "level": 1,
                    "target": "@bob",
                    "channel": "console",
                    "sent_at": at,
                }
            )
        if i % 5 == 0:
            cards.append({"incident_id": i, "channel": "C0123", "ts": f"{i}.1", "posted_at": at})
    for m in range(200):
        muted = _alert(
            None,
            f"m{m:015x}",
            {"alertname": "Latency1", "service": "svc-1", "instance": f"m{m}"},
            NOW,
        )
        muted["muted_by"] = [{"kind": "silence", "silence": "s1"}]
        alerts.append(muted)
    return {
        "incidents": incidents,
        "alerts": alerts,
        "events": events,
        "pages": pages,
        "cards": cards,
    }


def _alert(incident: int | None, fp: str, labels: dict[str, str], at: datetime) -> dict[str, Any]:
    return {
        "incident_id": incident,
        "fingerprint": fp[:16],
        "source": "alertmanager",
        "status": "firing",
        "title": "latency",
        "labels": labels,
        "annotations": {},
        "value": 2.5,
        "severity_hint": None,
        "generator_url": None,
        "starts_at": at,
        "ends_at": None,
        "first_seen": at,
        "last_seen": at,
        "count": 1,
        "muted_by": None,
    }


async def run(n: int, requests: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        settings = dataclasses.replace(
            load_settings(None, {"VIGIL_DATABASE_URL": url}),
            postmortems_dir=Path(tmp) / "pm",
            evidence_dir=Path(tmp) / "ev",
        )
        vigil = await Vigil.create(settings, clock=lambda: NOW, drive_timers=False)
        try:
            rows = _rows(n)
            started = time.perf_counter()
            async with vigil.db.session() as s, s.begin():
                for table, key in (
                    (Incident, "incidents"),
                    (Alert, "alerts"),
                    (TimelineEvent, "events"),
                    (Page, "pages"),
                    (SlackCard, "cards"),
                ):
                    batch = rows[key]
                    for at in range(0, len(batch), 2000):
                        chunk = batch[at : at + 2000]
                        await s.exec(insert(table), params=chunk)  # type: ignore[call-overload]
            took_s = time.perf_counter() - started
            print(f"stored {n:,} incidents in {took_s:.1f} s ({url.split(':')[0]})")
            async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
                print(
                    f"{'view':<22} {'rows':>5} {'p50 ms':>8} {'p99 ms':>8}  goal {GOAL_MS:.0f} ms"
                )
                for name, path in VIEWS.items():
                    resp = await client.get(path)
                    html = await resp.text()
                    assert resp.status == 200, html[:500]
                    took = []
                    for _ in range(requests):
                        t0 = time.perf_counter()
                        resp = await client.get(path)
                        await resp.read()
                        took.append((time.perf_counter() - t0) * 1000)
                    took.sort()
                    p50 = statistics.median(took)
                    p99 = took[min(len(took) - 1, round(0.99 * (len(took) - 1)))]
                    shown = html.count('<td><a href="/incidents/')
                    verdict = "ok" if p99 < GOAL_MS else "OVER"
                    print(f"{name:<22} {shown:>5} {p50:8.1f} {p99:8.1f}  {verdict}")
        finally:
            await vigil.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(run(args.incidents, args.requests, args.database_url))


if __name__ == "__main__":
    main()
