"""Heartbeats from batch jobs, over real HTTP, through the rules to incidents, on both databases.

A job posts ``/api/v1/heartbeats/<name>`` after each run; the rule runner, ticked by hand on
the fake clock, opens an incident when a run is late, empty, has a changed schema or labels
that lag too much, and resolves it when a good run comes. The state is in the database, so a
restarted Vigil still notices a job that never came.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config.load import Settings, SourcesSettings
from bot.core.secret import Secret
from bot.heartbeats.check import OVERDUE, ROWS
from bot.heartbeats.spec import parse_heartbeats
from bot.heartbeats.store import HeartbeatStore
from bot.runtime.app import Vigil
from bot.runtime.checks import check_rules
from bot.sources.base import SourceUnavailable, poll
from bot.sources.heartbeats import HeartbeatSource
from bot.store.db import Database
from tests.conftest import MakeVigil
from tests.support import FakeClock

Client = TestClient[Any, Any]
Json = dict[str, Any]
NO_HOST = SourcesSettings(system=False)
SPECS = parse_heartbeats(
    {
        "fraud-scoring": {
            "every": "1h",
            "grace": "10m",
            "max_label_delay": "6h",
            "labels": {"model": "fraud-scorer", "team": "risk"},
        },
        "features": {"every": "1d", "schema_hash": "aaaa", "labels": {"service": "features"}},
    },
    "vigil.yaml",
)
FRAUD = "/api/v1/heartbeats/fraud-scoring"


@asynccontextmanager
async def serve(vigil: Vigil) -> AsyncIterator[Client]:
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as c:
        yield c


async def beat(client: Client, path: str = FRAUD, body: object = None, **kw: Any) -> Json:
    resp = (
        await client.post(path, json=body, **kw)
        if body is not None
        else await client.post(path, **kw)
    )
    answer: Json = await resp.json()
    assert resp.status == 200, answer
    return answer


async def incidents(client: Client) -> list[Json]:
    resp = await client.get("/api/v1/incidents", params={"all": "true"})
    assert resp.status == 200
    found: list[Json] = (await resp.json())["incidents"]
    return found


async def detail(client: Client, incident_id: int) -> Json:
    resp = await client.get(f"/api/v1/incidents/{incident_id}")
    assert resp.status == 200
    body: Json = await resp.json()
    return body


async def actions(vigil: Vigil, clock: FakeClock, *, minutes: float = 1) -> list[str]:
    """Advance the clock (a new poll's samples are newer than the last) and tick once."""
    clock.advance(minutes=minutes)
    return [o.action for o in await vigil.rules_runner.tick(clock())]


@pytest.fixture
async def watched(make_vigil: MakeVigil) -> Vigil:
    """A Vigil with two heartbeats configured and no host sources."""
    return await make_vigil(sources=NO_HOST, heartbeats=SPECS)


async def test_a_run_with_zero_rows_opens_an_incident_naming_the_heartbeat(
    watched: Vigil, clock: FakeClock
) -> None:
    async with serve(watched) as client:
        answer = await beat(client, body={"rows": 0, "schema_hash": "v1"})
        assert answer["problems"] == ["0 rows"]
        assert answer["name"] == "fraud-scoring"
        assert answer["received_at"] == "2026-11-24T02:00:00Z"
        assert answer["next_due"] == "2026-11-24T03:00:00Z"
        assert answer["late_after"] == "2026-11-24T03:10:00Z"
        assert answer["beats"] == 1

        assert await actions(watched, clock) == ["opened"]
        [incident] = await incidents(client)
        assert incident["severity"] == "P3"
        assert "HeartbeatZeroRows" in incident["severity_reason"]
        assert incident["title"] == "rows in the last run 0 < 1 on heartbeat fraud-scoring"
        [alert] = (await detail(client, incident["id"]))["alerts"]
        assert alert["labels"]["heartbeat"] == "fraud-scoring"
        assert alert["labels"]["team"] == "risk"
        assert await actions(watched, clock) == []  # still firing: nothing new

        assert (await beat(client, body={"rows": 5120, "schema_hash": "v1"}))["problems"] == []
        assert await actions(watched, clock) == ["resolved"]
        timeline = (await detail(client, incident["id"]))["timeline"]
        assert "rows in the last run 5120, no longer < 1" in " | ".join(e["text"] for e in timeline)


async def test_a_job_that_stops_is_late_and_its_next_run_resolves_it(
    watched: Vigil, clock: FakeClock
) -> None:
    async with serve(watched) as client:
        assert await actions(watched, clock, minutes=0) == []  # Vigil knows it from now on
        assert await actions(watched, clock, minutes=70) == []  # every + grace: not yet late
        assert await actions(watched, clock) == ["opened"]
        [incident] = await incidents(client)
        assert incident["severity"] == "P3"
        assert incident["title"] == "last run overdue by 1m > 0s on heartbeat fraud-scoring"
        [alert] = (await detail(client, incident["id"]))["alerts"]
        assert alert["labels"]["alertname"] == "HeartbeatLate"
        assert alert["labels"]["heartbeat"] == "fraud-scoring"

        assert (await beat(client))["problems"] == []  # an empty body is a plain beat
        assert await actions(watched, clock) == ["resolved"]

        # and it is late again one interval (plus grace) after that run
        assert await actions(watched, clock, minutes=69) == []
        assert await actions(watched, clock, minutes=1) == ["refired"]  # the incident is open


async def test_a_changed_schema_fires_and_the_expected_one_resolves_it(
    watched: Vigil, clock: FakeClock
) -> None:
    async with serve(watched) as client:
        assert (await beat(client, body={"rows": 10, "schema_hash": "v1"}))["problems"] == []
        assert await actions(watched, clock) == []  # the first hash is learned, not a change
        answer = await beat(client, body={"rows": 10, "schema_hash": "v2"})
        assert answer["problems"] == ["schema changed: expected v1, got v2"]
        assert await actions(watched, clock) == ["opened"]
        [incident] = await incidents(client)
        assert incident["title"] == (
            "data schema changed (not the expected schema hash) on heartbeat fraud-scoring"
            " — expected v1, got v2"
        )
        assert incident["severity"] == "P3"
        assert (await beat(client, body={"rows": 10, "schema_hash": "v1"}))["problems"] == []
        assert await actions(watched, clock) == ["resolved"]


async def test_a_pinned_schema_is_expected_from_the_first_run(
    watched: Vigil, clock: FakeClock
) -> None:
    async with serve(watched) as client:
        path = "/api/v1/heartbeats/features"
        answer = await beat(client, path, {"schema_hash": "bbbb"})
        assert answer["problems"] == ["schema changed: expected aaaa, got bbbb"]
        assert await actions(watched, clock) == ["opened"]
        [incident] = await incidents(client)
        assert incident["title"].endswith("on heartbeat features — expected aaaa, got bbbb")
        assert (await beat(client, path, {"schema_hash": "aaaa"}))["problems"] == []
        assert await actions(watched, clock) == ["resolved"]


async def test_label_delay_over_the_limit_fires(watched: Vigil, clock: FakeClock) -> None:
    async with serve(watched) as client:
        assert (await beat(client, body={"label_delay_seconds": 3 * 3600}))["problems"] == []
        assert await actions(watched, clock) == []
        answer = await beat(client, body={"label_delay_seconds": 8 * 3600})
        assert answer["problems"] == ["label delay 8h over the 6h limit"]
        assert await actions(watched, clock) == ["opened"]
        [incident] = await incidents(client)
        assert incident["title"] == "label delay 8h > 6h on heartbeat fraud-scoring"
        assert incident["severity"] == "P3"
        [alert] = (await detail(client, incident["id"]))["alerts"]
        assert alert["labels"]["alertname"] == "LabelDelayHigh"
    [status] = [s for s in check_rules(watched.settings) if s.rule.name == "heartbeat-label-delay"]
    assert status.on
    assert status.subjects == ("fraud-scoring",)


async def test_an_unknown_name_is_404_listing_the_configured_ones(client: Client) -> None:
    # the `client` fixture's Vigil has no heartbeats configured at all
    resp = await client.post("/api/v1/heartbeats/nightly", json={"rows": 1})
    body = await resp.json()
    assert resp.status == 404
    assert (body["error"], body["field"]) == ("not_found", "name")
    assert "no heartbeats are configured" in body["message"]
    assert "heartbeats:" in body["message"]


async def test_an_unknown_name_names_the_configured_ones(watched: Vigil) -> None:
    async with serve(watched) as client:
        resp = await client.post("/api/v1/heartbeats/fraud", json={"rows": 1})
        body = await resp.json()
    assert resp.status == 404
    assert body["field"] == "name"
    assert "configured: features, fraud-scoring" in body["message"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b'{"rows": -3}', "rows"),
        (b'{"rows": 3, "schema": "x"}', "schema"),
        (b'{"timestamp": "2026-11-24T09:00:00Z"}', "timestamp"),
        (b"[1]", "payload"),
        (b"null", "payload"),
        (b"{not json", "body"),
    ],
)
async def test_a_bad_body_is_400_naming_the_field_and_nothing_is_stored(
    watched: Vigil, clock: FakeClock, data: bytes, field: str
) -> None:
    async with serve(watched) as client:
        resp = await client.post(FRAUD, data=data, headers={"Content-Type": "application/json"})
        body = await resp.json()
        assert resp.status == 400, body
        assert body["field"] == field
    states = await HeartbeatStore(watched.db).states(["fraud-scoring"], clock())
    assert states["fraud-scoring"].beats == 0
    assert states["fraud-scoring"].last_beat_at is None


async def test_a_large_body_is_refused(watched: Vigil) -> None:
    async with serve(watched) as client:
        resp = await client.post(FRAUD, json={"schema_hash": "a" * 20_000})
        assert resp.status == 413
        assert (await resp.json())["field"] == "body"


async def test_beats_need_the_ingest_token_when_one_is_set(make_vigil: MakeVigil) -> None:
    vigil = await make_vigil(sources=NO_HOST, heartbeats=SPECS, ingest_token=Secret("s3cret"))
    async with serve(vigil) as client:
        resp = await client.post(FRAUD, json={"rows": 1})
        assert resp.status == 401
        resp = await client.post("/api/v1/heartbeats/nope", json={"rows": 1})
        assert resp.status == 401  # no telling strangers which names exist
        answer = await beat(client, body={"rows": 1}, headers={"Authorization": "Bearer s3cret"})
        assert answer["beats"] == 1


async def test_concurrent_beats_all_count(watched: Vigil, clock: FakeClock) -> None:
    async with serve(watched) as client:
        answers = await asyncio.gather(*(beat(client, body={"rows": n}) for n in range(1, 11)))
    assert sorted(a["beats"] for a in answers) == list(range(1, 11))
    state = (await HeartbeatStore(watched.db).states(["fraud-scoring"], clock()))["fraud-scoring"]
    assert state.beats == 10


async def test_an_older_run_reported_late_does_not_replace_the_newer_one(
    watched: Vigil, clock: FakeClock
) -> None:
    async with serve(watched) as client:
        await beat(client, body={"rows": 7})
        older = (clock() - timedelta(minutes=30)).isoformat()
        answer = await beat(client, body={"rows": 0, "timestamp": older})
        assert answer["problems"] == ["0 rows"]
        assert answer["next_due"] == "2026-11-24T03:00:00Z"  # from the newer run
    state = (await HeartbeatStore(watched.db).states(["fraud-scoring"], clock()))["fraud-scoring"]
    assert (state.beats, state.last_rows, state.last_beat_at) == (2, 7, clock())
    assert await actions(watched, clock) == []  # the newest run had rows


async def test_the_state_survives_a_restart(settings: Settings, clock: FakeClock) -> None:
    configured = dataclasses.replace(settings, sources=NO_HOST, heartbeats=SPECS)
    first = await Vigil.create(configured, clock=clock, drive_timers=False)
    try:
        async with serve(first) as client:
            await beat(client, "/api/v1/heartbeats/features", {"rows": 0, "schema_hash": "aaaa"})
        assert await actions(first, clock, minutes=0) == ["opened"]  # zero rows on features
    finally:
        await first.close()

    clock.advance(minutes=71)  # fraud-scoring never ran: late by now, if Vigil remembers
    second = await Vigil.create(configured, clock=clock, drive_timers=False)
    try:
        outcomes = await second.rules_runner.tick(clock())
        assert sorted(o.action for o in outcomes) == ["opened", "repeated"]
        async with serve(second) as client:
            titles = sorted(i["title"] for i in await incidents(client))
    finally:
        await second.close()
    assert len(titles) == 2
    assert titles == [
        "last run overdue by 1m > 0s on heartbeat fraud-scoring",
        "rows in the last run 0 < 1 on heartbeat features",
    ]


async def test_the_source_reads_samples_and_says_why_it_cannot(
    watched: Vigil, clock: FakeClock, tmp_path: Path
) -> None:
    source = HeartbeatSource(HeartbeatStore(watched.db), SPECS)
    samples = await source.collect(clock())
    assert {(s.metric, s.labels["heartbeat"]) for s in samples} == {
        (OVERDUE, "fraud-scoring"),
        (OVERDUE, "features"),
    }
    async with serve(watched) as client:
        await beat(client, body={"rows": 3})
    samples = await source.collect(clock())
    assert {s.metric for s in samples} == {OVERDUE, ROWS}
    assert all(s.at == clock() for s in samples)

    empty = Database(f"sqlite+aiosqlite:///{tmp_path / 'unmigrated.db'}")  # no tables
    try:
        broken = HeartbeatSource(HeartbeatStore(empty), SPECS)
        with pytest.raises(SourceUnavailable) as caught:
            await broken.collect(clock())
        assert "heartbeats" in caught.value.reason
        _, status = await poll(broken, clock())
        assert not status.is_up
    finally:
        await empty.dispose()
