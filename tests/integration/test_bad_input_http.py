"""Bad input on every route that takes input: a 4xx naming the field, nothing stored.

A probe of ``vigil serve``'s HTTP API found inputs that answered 500 (or, on PostgreSQL, 503
with ``Retry-After``: Alertmanager would retry such an alert for ever and never store it):
integers of thousands of digits, ``10^400`` written as an integer, lone UTF-16 surrogates
(``"\\ud800"``) and NUL characters in text, NaN importances, superscript digits in ids and
query numbers, and an ``Authorization`` header that is not UTF-8. Each case here is sent, as
the raw bytes a sender would put on the wire, to the real app on a 127.0.0.1 port, on SQLite
and on PostgreSQL; the answer must be a 4xx JSON body naming the field, and every table of
the database, the pushed samples and the model monitor must be as they were.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.config.load import SourcesSettings, load_settings
from bot.core.errors import refused_value
from bot.monitoring.store import ReferenceStore
from bot.quality.profile import build_profile
from bot.runtime.app import Vigil
from bot.store.db import Database
from tests.conftest import MakeVigil
from tests.pagerduty_standin import signature
from tests.support import FakeClock

Client = TestClient[Any, Any]

INGEST, API, PD_SECRET = "ingest-t0ken", "api-t0ken", "pd-webhook-secret"
MODEL = "fraud-scorer"
YAML = f"""
heartbeats:
  nightly: {{every: 1d}}
models:
  {MODEL}: {{accuracy_sla: 0.9}}
notify:
  pagerduty: {{url: "http://127.0.0.1:9/never-called"}}
schedules:
  ml-oncall:
    tz: Europe/Berlin
    layers:
      - {{rotation: weekly, handoff: "2026-11-23T09:00", participants: ["@maya", "@sam"]}}
"""

HUGE = "1" + "0" * 5000  # past Python's 4,300-digit limit on int(str)
BIG = "1" + "0" * 400  # 10^400: an integer no float can hold
SURROGATE = '"x\\ud800"'  # a lone surrogate: no UTF-8 encoding exists
NUL = '"x\\u0000y"'  # PostgreSQL text cannot hold it


@dataclass(frozen=True)
class Case:
    """One bad request and the field its answer must name (``status``: 400 unless said)."""

    name: str
    method: str
    path: str
    body: str | bytes = ""
    field: str = ""
    status: int = 400
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    sign: bool = False  # a PagerDuty signature over the body


def generic(title: str = '"Drift on fraud-scorer"', **fields: str) -> str:
    parts = {
        "title": title,
        "labels": '{"alertname": "InputDrift", "model": "fraud-scorer"}',
        **fields,
    }
    return "{" + ", ".join(f'"{k}": {v}' for k, v in parts.items()) + "}"


def alertmanager(alert: str = "", top: str = "") -> str:
    base = (
        '"status": "firing", "labels": {"alertname": "HighErrorRate", "service": "payments"},'
        ' "startsAt": "2026-11-24T21:23:33Z"'
    )
    return f'{{"version": "4", {top} "alerts": [{{{base}{alert}}}]}}'


def samples(value: str = "0.5", label: str = '"a"') -> str:
    return (
        f'{{"samples": [{{"metric": "queue_depth", "value": {value}, '
        f'"labels": {{"queue": {label}}}}}]}}'
    )


def predictions(channel: str = '"web"', row_id: str = '"r1"', importances: str = "") -> str:
    extra = f', "importances": {{"income": {importances}}}' if importances else ""
    row = (
        f'{{"id": {row_id}, "features": {{"income": 50.0, "channel": {channel}}}, '
        f'"prediction": "ok", "confidence": 0.9}}'
    )
    return f'{{"rows": [{row}]{extra}}}'


def pd_event(summary: str = '"Maya Lin"', key: str = '"vigil:1"') -> str:
    return (
        '{"event": {"id": "01E", "event_type": "incident.acknowledged", '
        '"resource_type": "incident", "occurred_at": "2026-11-24T02:03:04Z", '
        f'"agent": {{"type": "user_reference", "summary": {summary}}}, '
        f'"data": {{"id": "Q2K", "type": "incident", "incident_key": {key}}}}}}}'
    )


def beat(**fields: str) -> str:
    return "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"


CALENDAR = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
    b"UID:swap-1\r\nDTSTAMP:20261120T000000Z\r\nDTSTART:20261125T180000Z\r\n"
    b"DTEND:20261126T080000Z\r\nSUMMARY:On call: @kim\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
GEN, AM = "/alerts/generic", "/alerts/alertmanager"
SAMPLES, BEAT = "/api/v1/samples", "/api/v1/heartbeats/nightly"
PRED, LABELS = f"/api/v1/models/{MODEL}/predictions", f"/api/v1/models/{MODEL}/labels"
PD, OVERRIDES = "/api/v1/pagerduty/webhook", "/api/v1/schedules/ml-oncall/overrides"

CASES: dict[str, list[Case]] = {
    "generic alerts": [
        Case("huge integer", "POST", GEN, generic(value=HUGE), "value"),
        Case("10^400 value", "POST", GEN, generic(value=BIG), "value"),
        Case(
            "huge integer in a list",
            "POST",
            GEN,
            f'{{"alerts": [{generic(value=HUGE)}]}}',
            "alerts[0].value",
        ),
        Case("surrogate title", "POST", GEN, generic(title=SURROGATE), "title"),
        Case("NUL title", "POST", GEN, generic(title=NUL), "title"),
        Case("surrogate source", "POST", GEN, generic(source=SURROGATE), "source"),
        Case(
            "NUL annotation",
            "POST",
            GEN,
            generic(annotations=f'{{"runbook": {NUL}}}'),
            "annotations.runbook",
        ),
        Case(
            "surrogate label",
            "POST",
            GEN,
            generic(labels=f'{{"alertname": "InputDrift", "model": {SURROGATE}}}'),
            "labels.model",
        ),
    ],
    "alertmanager": [
        Case(
            "surrogate alertname",
            "POST",
            AM,
            alertmanager(', "annotations": {"summary": ' + SURROGATE + "}"),
            "alerts[0].annotations.summary",
        ),
        Case(
            "NUL annotation",
            "POST",
            AM,
            alertmanager(', "annotations": {"description": ' + NUL + "}"),
            "alerts[0].annotations.description",
        ),
        Case(
            "NUL generator URL",
            "POST",
            AM,
            alertmanager(f', "generatorURL": {NUL}'),
            "alerts[0].generatorURL",
        ),
        Case(
            "huge truncatedAlerts",
            "POST",
            AM,
            alertmanager(top=f'"truncatedAlerts": {HUGE},'),
            "truncatedAlerts",
        ),
    ],
    "samples": [
        Case("huge integer", "POST", SAMPLES, samples(HUGE), "samples[0].value"),
        Case("10^400 value", "POST", SAMPLES, samples(BIG), "samples[0].value"),
        Case("NaN value", "POST", SAMPLES, samples("NaN"), "samples[0].value"),
        Case(
            "surrogate label", "POST", SAMPLES, samples(label=SURROGATE), "samples[0].labels.queue"
        ),
    ],
    "predictions": [
        Case("NaN importance", "POST", PRED, predictions(importances="NaN"), "importances.income"),
        Case(
            "infinite importance",
            "POST",
            PRED,
            predictions(importances="Infinity"),
            "importances.income",
        ),
        Case("10^400 importance", "POST", PRED, predictions(importances=BIG), "importances.income"),
        Case("huge importance", "POST", PRED, predictions(importances=HUGE), "importances.income"),
        Case(
            "surrogate category",
            "POST",
            PRED,
            predictions(channel=SURROGATE),
            "rows[0].features.channel",
        ),
        Case("huge row id", "POST", PRED, predictions(row_id=HUGE), "rows[0].id"),
    ],
    "labels": [
        Case(
            "surrogate label",
            "POST",
            LABELS,
            f'{{"rows": [{{"id": "r1", "label": {SURROGATE}}}]}}',
            "rows[0].label",
        ),
        Case(
            "huge id",
            "POST",
            LABELS,
            f'{{"rows": [{{"id": {HUGE}, "label": "ok"}}]}}',
            "rows[0].id",
        ),
    ],
    "heartbeats": [
        Case("surrogate schema hash", "POST", BEAT, beat(schema_hash=SURROGATE), "schema_hash"),
        Case("NUL schema hash", "POST", BEAT, beat(schema_hash=NUL), "schema_hash"),
        Case("huge rows", "POST", BEAT, beat(rows=HUGE), "rows"),
        Case(
            "10^400 label delay", "POST", BEAT, beat(label_delay_seconds=BIG), "label_delay_seconds"
        ),
    ],
    "pagerduty webhook": [
        Case(
            "surrogate agent",
            "POST",
            PD,
            pd_event(summary=SURROGATE),
            "event.agent.summary",
            sign=True,
        ),
        Case("NUL agent", "POST", PD, pd_event(summary=NUL), "event.agent.summary", sign=True),
        Case("huge number", "POST", PD, pd_event(summary=HUGE), "event.agent.summary", sign=True),
        Case(
            "superscript incident key",
            "POST",
            PD,
            pd_event(key='"vigil:\\u00b2"'),
            status=200,
            sign=True,
        ),
    ],
    "schedule overrides": [
        Case("NUL source", "POST", OVERRIDES + "?source=a%00b", CALENDAR, "source"),
        Case(
            "NUL in the calendar",
            "POST",
            OVERRIDES,
            CALENDAR.replace(b"UID:swap-1", b"UID:swap\x001"),
            "events[0].UID",
        ),
        Case("NUL uid", "DELETE", OVERRIDES + "/a%00b", field="uid"),
    ],
    "incident API": [
        Case("superscript id", "GET", "/api/v1/incidents/%C2%B2", field="id"),
        Case("huge id", "GET", "/api/v1/incidents/" + HUGE, field="id"),
        Case(
            "superscript days", "GET", "/api/v1/schedules/ml-oncall.ics?days=%C2%B2", field="days"
        ),
        Case("huge days", "GET", "/api/v1/schedules/ml-oncall.ics?days=" + HUGE, field="days"),
    ],
}

ROUTES: list[
    tuple[str, str, str | bytes]
] = [  # every route that takes a token, with a body it would otherwise accept
    ("POST", GEN, generic()),
    ("POST", AM, alertmanager()),
    ("POST", SAMPLES, samples()),
    ("POST", PRED, predictions()),
    ("POST", LABELS, '{"rows": [{"id": "r1", "label": "ok"}]}'),
    ("POST", BEAT, beat(rows="1")),
    ("GET", f"/api/v1/models/{MODEL}/quality", ""),
    ("GET", "/api/v1/incidents", ""),
    ("GET", "/api/v1/incidents/1", ""),
    ("GET", "/api/v1/schedules/ml-oncall.ics", ""),
    ("GET", OVERRIDES, ""),
    ("POST", OVERRIDES, CALENDAR),
    ("DELETE", OVERRIDES + "/swap-1", ""),
]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any = field(default=None)


async def send(
    client: Client, method: str, path: str, body: str | bytes, headers: dict[str, bytes]
) -> Answer:
    """One request written byte for byte (aiohttp's client would refuse a header that is
    not UTF-8, and re-encode a body), answered on a connection of its own."""
    data = body.encode() if isinstance(body, str) else body
    head = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close"]
    head.append(b"Content-Length: %d" % len(data))
    head += [name.encode() + b": " + value for name, value in headers.items()]
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    try:
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + data)
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
    top, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *lines = top.decode("latin-1").split("\r\n")
    parsed = dict(line.split(": ", 1) for line in lines)
    answer = Answer(int(status_line.split()[1]), parsed)
    if parsed.get("Content-Type", "").startswith("application/json"):
        answer.body = json.loads(payload)
    return answer


def auth_for(method: str, path: str) -> dict[str, bytes]:
    ingest = method == "POST" and not path.startswith("/api/v1/schedules")
    token = INGEST if ingest else API
    return {"Authorization": f"Bearer {token}".encode()}


async def stored(vigil: Vigil, clock: FakeClock) -> Any:
    """Every row of every table, the pushed samples and what the model monitor holds."""
    if vigil.db.is_sqlite:
        listing = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        listing = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    rows: dict[str, list[str]] = {}
    async with vigil.db.engine.connect() as conn:
        for (table,) in (await conn.execute(text(listing))).all():
            every = text(f'SELECT * FROM "{table}"')  # noqa: S608 (names from the catalogue)
            result = await conn.execute(every)
            rows[table] = sorted(repr(tuple(r)) for r in result.all())
    await vigil.models.refresh(MODEL)
    watched = vigil.models.monitor.watched(MODEL)
    window = vigil.models.monitor.snapshot(MODEL, clock())
    monitor = (window.n_rows, window.n_rejected, watched.importances)  # the panes: rows above
    return rows, await vigil.pushed.collect(clock()), monitor


@pytest.fixture
async def vigil(make_vigil: MakeVigil, settings: Any, tmp_path: Path, clock: FakeClock) -> Vigil:
    """Every input route on: tokens, a heartbeat, a watched model, PagerDuty's webhook and a
    schedule."""
    (tmp_path / "vigil.yaml").write_text(YAML)
    env = {
        "VIGIL_DATABASE_URL": settings.database_url,
        "VIGIL_PAGERDUTY_ROUTING_KEY": "R" * 32,
        "VIGIL_PAGERDUTY_WEBHOOK_SECRET": PD_SECRET,
        "VIGIL_INGEST_TOKEN": INGEST,
        "VIGIL_API_TOKEN": API,
    }
    loaded = load_settings(tmp_path / "vigil.yaml", env)
    vigil = await make_vigil(
        oncall=loaded.oncall,
        notify=loaded.notify,
        heartbeats=loaded.heartbeats,
        sources=SourcesSettings(system=False),
        ingest_token=loaded.ingest_token,
        api_token=loaded.api_token,
    )
    profile = build_profile(
        {"income": [40.0 + i % 20 for i in range(200)], "channel": ["web", "app"] * 100},
        prediction=["ok", "fraud"] * 100,
        confidence=[0.9] * 200,
    )
    await ReferenceStore(vigil.db).save(
        MODEL, "v1", profile, source="reference.csv", actor="test", now=clock()
    )
    await vigil.models.sync()
    return vigil


@pytest.fixture
async def client(vigil: Vigil) -> AsyncIterator[Client]:
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as c:
        yield c


@pytest.mark.parametrize("group", list(CASES))
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    group: str, client: Client, vigil: Vigil, clock: FakeClock
) -> None:
    wrong: list[str] = []
    for case in CASES[group]:
        headers = auth_for(case.method, case.path)
        if case.sign:
            data = case.body.encode() if isinstance(case.body, str) else case.body
            headers = {"X-PagerDuty-Signature": signature(data, PD_SECRET).encode()}
        before = await stored(vigil, clock)
        answer = await send(client, case.method, case.path, case.body, headers)
        if (answer.status, (answer.body or {}).get("field", "")) != (case.status, case.field):
            wrong.append(f"{case.name}: {answer.status} {answer.body}")
        if await stored(vigil, clock) != before:
            wrong.append(f"{case.name}: something was stored")
    assert not wrong, "\n".join(wrong)


async def test_an_authorization_header_that_is_not_utf8_is_401_everywhere(
    client: Client, vigil: Vigil, clock: FakeClock
) -> None:
    wrong: list[str] = []
    bad = {"Authorization": b"Bearer \xff\xfe" + INGEST.encode()}
    for method, path, body in ROUTES:
        before = await stored(vigil, clock)
        answer = await send(client, method, path, body, bad)
        if (answer.status, (answer.body or {}).get("field")) != (401, "Authorization"):
            wrong.append(f"{method} {path}: {answer.status} {answer.body}")
        elif answer.headers.get("WWW-Authenticate") != 'Bearer realm="vigil"':
            wrong.append(f"{method} {path}: no WWW-Authenticate")
        if await stored(vigil, clock) != before:
            wrong.append(f"{method} {path}: something was stored")
    signed = {"X-PagerDuty-Signature": b"v1=\xff\xfe"}
    answer = await send(client, "POST", PD, pd_event(), signed)
    if (answer.status, (answer.body or {}).get("field")) != (401, "X-PagerDuty-Signature"):
        wrong.append(f"POST {PD}: {answer.status} {answer.body}")
    assert not wrong, "\n".join(wrong)


async def test_a_value_the_database_refuses_is_not_a_temporary_failure(vigil: Vigil) -> None:
    """Should a refused value ever reach the database, the answer is a 4xx (never retried),
    and only a database that cannot be reached is a 503 to retry."""
    refused = ["x\ud800"] + ([] if vigil.db.is_sqlite else ["x\x00y"])
    for value in refused:
        with pytest.raises((SQLAlchemyError, UnicodeError)) as caught:
            async with vigil.db.engine.connect() as conn:
                await conn.execute(text("SELECT :v"), {"v": value})
        assert refused_value(caught.value) is not None, repr(caught.value)
    locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    assert refused_value(locked) is None
    if not vigil.db.is_sqlite:
        gone = Database("postgresql+asyncpg://vigil@127.0.0.1:9/vigil")  # nothing listens
        try:
            with pytest.raises((SQLAlchemyError, OSError)) as caught:
                async with gone.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            assert refused_value(caught.value) is None, repr(caught.value)
        finally:
            await gone.dispose()
