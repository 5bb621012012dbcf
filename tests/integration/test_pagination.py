"""No silent cuts: every list pages with a cursor and says when there is more.

What a user notices: ``GET /api/v1/incidents?all=true`` on a busy week no longer stops at 50
without a word; it answers ``total`` and a ``next_cursor`` that walks the rest exactly once,
even while new incidents keep arriving; ``/incident list`` and ``vigil incidents`` say
"Showing 50 of 52" and end with the command that shows the rest; a bad ``limit`` or
``cursor`` is a 400 naming it. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.cli.parser import parser as _parser
from bot.cli.verbs import incidents as incident_cli
from bot.config.load import load_settings
from bot.core.errors import ValidationError
from bot.core.secret import Secret
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.integration.procs import BIN, clean_env
from tests.support import FakeClock

Client = TestClient[Any, Any]
Json = dict[str, Any]
INCIDENTS = "/api/v1/incidents"
README = Path(__file__).resolve().parents[2] / "README.md"


async def get(client: Client, path: str, **params: str) -> tuple[int, Json]:
    resp = await client.get(path, params=params)
    body: Json = await resp.json()
    return resp.status, body


async def open_many(vigil: Vigil, clock: FakeClock, severities: str) -> list[int]:
    """One incident per letter of ``severities`` ("1123" opens P1, P1, P2, P3), in order."""
    ids = []
    for n, sev in enumerate(severities):
        view = await vigil.incidents.open(
            title=f"incident {n}", actor="@alice", severity=f"P{sev}", service=f"svc{n}"
        )
        ids.append(view.id)
        clock.advance(minutes=1)
    return ids


async def walk(client: Client, limit: int, **params: str) -> tuple[list[list[int]], set[int]]:
    """Every page of a list, following ``next_cursor``; the ids of each page, and the
    totals the pages reported."""
    pages, totals, cursor = [], set(), None
    while True:
        query = {**params, "limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        status, body = await get(client, INCIDENTS, **query)
        assert status == 200, body
        pages.append([i["id"] for i in body["incidents"]])
        totals.add(body["total"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages, totals
        assert len(pages) < 50, "next_cursor never ran out"


# --- GET /api/v1/incidents ------------------------------------------------------------------


async def test_the_open_list_walks_every_incident_once_in_order_a_page_at_a_time(
    client: Client, vigil: Vigil, clock: FakeClock
) -> None:
    ids = await open_many(vigil, clock, "3124112")
    await vigil.incidents.resolve(ids[3], actor="@alice")  # the P4: not open any more
    _, whole = await get(client, INCIDENTS)
    expected = [ids[i] for i in (5, 4, 1, 6, 2, 0)]  # P1s newest first, then P2s, then the P3
    assert [i["id"] for i in whole["incidents"]] == expected
    assert (whole["total"], whole["next_cursor"]) == (6, None)

    pages, totals = await walk(client, 4)
    assert pages == [expected[:4], expected[4:]]
    assert totals == {6}
    pages, _ = await walk(client, 1)  # a cursor on every severity boundary
    assert pages == [[i] for i in expected]


async def test_all_is_newest_first_and_a_cursor_is_stable_while_incidents_arrive(
    client: Client, vigil: Vigil, clock: FakeClock
) -> None:
    ids = await open_many(vigil, clock, "12341")
    status, first = await get(client, INCIDENTS, all="true", limit="2")
    assert status == 200
    assert [i["id"] for i in first["incidents"]] == [ids[4], ids[3]]
    assert first["total"] == 5

    newer = await open_many(vigil, clock, "11")  # land on top of the list between two pages
    status, second = await get(
        client, INCIDENTS, all="true", limit="2", cursor=first["next_cursor"]
    )
    assert status == 200
    assert [i["id"] for i in second["incidents"]] == [ids[2], ids[1]]  # no repeat, no skip
    assert second["total"] == 7
    _, third = await get(client, INCIDENTS, all="true", limit="2", cursor=second["next_cursor"])
    assert [i["id"] for i in third["incidents"]] == [ids[0]]
    assert third["next_cursor"] is None
    _, top = await get(client, INCIDENTS, all="true", limit="2")
    assert [i["id"] for i in top["incidents"]] == newer[::-1]


async def test_list_items_keep_their_fields_and_alerts_and_leave_the_timeline_to_the_detail(
    client: Client,
) -> None:
    labels = {"alertname": "HighErrorRate", "service": "pay"}
    alerts = [{"title": "5xx", "labels": {**labels, "pod": p}, "value": 0.07} for p in "ab"]
    resp = await client.post("/alerts/generic", json={"alerts": alerts})
    assert resp.status == 200, await resp.json()
    _, body = await get(client, INCIDENTS)
    [item] = body["incidents"]
    assert {a["labels"]["pod"] for a in item["alerts"]} == {"a", "b"}
    assert "timeline" not in item
    _, detail = await get(client, f"{INCIDENTS}/{item['id']}")
    assert detail["timeline"]
    assert {k: v for k, v in detail.items() if k != "timeline"} == item


async def test_the_default_page_is_50_and_says_there_is_more(
    client: Client, vigil: Vigil, clock: FakeClock
) -> None:
    await open_many(vigil, clock, "2" * 52)
    _, body = await get(client, INCIDENTS, all="true")
    assert (len(body["incidents"]), body["total"]) == (50, 52)
    _, rest = await get(client, INCIDENTS, all="true", cursor=body["next_cursor"])
    assert (len(rest["incidents"]), rest["next_cursor"]) == (2, None)


@pytest.mark.parametrize("limit", ["0", "201", "-1", "1.5", "ten", "", "9" * 30])
async def test_a_bad_limit_is_a_400_naming_it(client: Client, limit: str) -> None:
    status, body = await get(client, INCIDENTS, limit=limit)
    assert status == 400
    assert set(body) == {"error", "field", "message"}
    assert body["field"] == "limit"
    assert "1 to 200" in body["message"]


def _forged(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not-a-cursor",
        "%%%",
        "W10",  # []
        _forged("open", "P9", 3),
        _forged("open", "P1", "3"),
        _forged("open", "P1", 2**40),
        _forged("open", "P1", True),
        _forged("all", 3),  # the all list's cursor on the open list
        "x" * 5000,
    ],
)
async def test_a_bad_cursor_is_a_400_naming_it(client: Client, cursor: str) -> None:
    status, body = await get(client, INCIDENTS, cursor=cursor)
    assert status == 400
    assert set(body) == {"error", "field", "message"}
    assert body["field"] == "cursor"


async def test_a_cursor_of_the_open_list_is_refused_on_the_all_list(
    client: Client, vigil: Vigil, clock: FakeClock
) -> None:
    await open_many(vigil, clock, "123")
    _, page = await get(client, INCIDENTS, limit="1")
    status, body = await get(client, INCIDENTS, all="true", cursor=page["next_cursor"])
    assert (status, body["field"]) == (400, "cursor")
    assert "another list" in body["message"]


# --- /incident list and vigil incidents --------------------------------------------------------


async def test_incident_list_says_showing_n_of_total_and_how_to_see_the_rest(
    vigil: Vigil, clock: FakeClock
) -> None:
    ids = await open_many(vigil, clock, "1" + "3" * 51)
    reply = await vigil.commands.run_incident("list", actor="@alice")
    lines = reply.text.splitlines()
    assert reply.ephemeral
    assert lines[0] == "Showing 50 of 52 open, most severe first:"
    assert lines[1].startswith(f"🔴 P1 #{ids[0]} incident 0")
    assert len(lines) == 52
    more = re.fullmatch(r"More: `/incident list --cursor (\S+)`", lines[-1])
    assert more, lines[-1]

    rest = await vigil.commands.run_incident(f"list --cursor {more[1]}", actor="@alice")
    assert rest.text.splitlines() == [
        "Showing 2 of 52 open, most severe first:",
        f"🟡 P3 #{ids[2]} incident 2 · triggered",
        f"🟡 P3 #{ids[1]} incident 1 · triggered",
    ]


async def test_incident_list_says_nothing_about_pages_when_it_is_whole(
    vigil: Vigil, clock: FakeClock
) -> None:
    await open_many(vigil, clock, "21")
    reply = await vigil.commands.run_incident("list --all", actor="@alice")
    assert reply.text.splitlines()[0] == "Recent incidents:"
    assert "Showing" not in reply.text
    assert "More:" not in reply.text


async def test_incident_list_refuses_a_bad_cursor_privately(vigil: Vigil) -> None:
    reply = await vigil.commands.run_incident("list --cursor nonsense", actor="@alice")
    assert reply.ephemeral
    assert reply.text.startswith("⚠️ cursor: is not a cursor Vigil handed out")


async def test_vigil_incidents_pages_like_the_chat_and_keeps_its_options(
    vigil: Vigil, clock: FakeClock
) -> None:
    ids = await open_many(vigil, clock, "123")
    args = _parser().parse_args(["incidents", "--all", "--limit", "2"])
    text = await incident_cli.run(args, vigil.incidents)
    lines = text.splitlines()
    assert lines[0] == "Showing 2 of 3 incidents, newest first:"
    more = re.fullmatch(r"More: (vigil incidents --all --limit 2 --cursor (\S+))", lines[-1])
    assert more, lines[-1]
    rest = await incident_cli.run(_parser().parse_args(more[1].split()[1:]), vigil.incidents)
    assert rest.splitlines()[1:] == [f"🔴 P1 #{ids[0]} incident 0 · triggered"]
    with pytest.raises(ValidationError, match="cursor"):
        await incident_cli.run(
            _parser().parse_args(["incidents", "--cursor", more[2]]), vigil.incidents
        )


def test_vigil_incidents_prints_the_page_and_exits_1_naming_a_bad_cursor(
    tmp_path: Path,
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"

    async def seed() -> None:
        clock = FakeClock()
        vigil = await Vigil.create(load_settings(None, {"VIGIL_DATABASE_URL": db}), clock=clock)
        try:
            await open_many(vigil, clock, "12")
        finally:
            await vigil.close()

    asyncio.run(seed())

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 (our own entry point, fixed arguments)
            [str(BIN / "vigil"), "incidents", *args],
            cwd=tmp_path,
            env=clean_env(VIGIL_DATABASE_URL=db),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    cut = run("--limit", "1")
    assert cut.returncode == 0, cut.stderr
    lines = cut.stdout.splitlines()
    assert lines[:2] == [
        "Showing 1 of 2 open, most severe first:",
        "🔴 P1 #1 incident 0 · triggered",
    ]
    assert lines[2].startswith("More: vigil incidents --limit 1 --cursor ")
    bad = run("--all", "--cursor", lines[2].rsplit(" ", 1)[1])
    assert (bad.returncode, bad.stdout) == (1, "")
    assert bad.stderr.startswith("vigil: cursor: belongs to another list")
    assert run("--limit", "0").returncode == 2  # argparse's usage error


# --- GET /api/v1/schedules/{name}/overrides ----------------------------------------------------

SCHEDULES = """
schedules:
  ml-oncall:
    tz: UTC
    layers:
      - {rotation: weekly, handoff: "2026-11-23T09:00", participants: ["@maya"]}
  data-oncall:
    tz: UTC
    layers:
      - {rotation: daily, handoff: "2026-11-23T09:00", participants: ["@ana"]}
"""
AUTH = {"Authorization": "Bearer sched-token"}


def calendar(*days: int, uid: str = "swap") -> bytes:
    events = "".join(
        f"BEGIN:VEVENT\nDTSTAMP:20261120T000000Z\nUID:{uid}-{d}@team\n"
        f"DTSTART:202612{d:02d}T090000Z\nDTEND:202612{d:02d}T170000Z\n"
        f"SUMMARY:On call: @kim\nEND:VEVENT\n"
        for d in days
    )
    cal = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{events}END:VCALENDAR\n"
    return cal.replace("\n", "\r\n").encode()


@pytest.fixture
async def scheduled(make_vigil: MakeVigil, tmp_path: Path) -> AsyncIterator[Client]:
    (tmp_path / "vigil.yaml").write_text(SCHEDULES)
    oncall = load_settings(tmp_path / "vigil.yaml", {}).oncall
    vigil = await make_vigil(oncall=oncall, api_token=Secret("sched-token"))
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as c:
        yield c


async def overrides(client: Client, name: str = "ml-oncall", **params: str) -> tuple[int, Json]:
    resp = await client.get(f"/api/v1/schedules/{name}/overrides", params=params, headers=AUTH)
    body: Json = await resp.json()
    return resp.status, body


async def test_overrides_page_by_start_and_a_cursor_survives_an_import(
    scheduled: Client,
) -> None:
    url = "/api/v1/schedules/ml-oncall/overrides"
    resp = await scheduled.post(url, data=calendar(3, 5, 7, 9), headers=AUTH)
    assert resp.status == 200, await resp.json()
    status, first = await overrides(scheduled, limit="2")
    assert status == 200
    assert [o["start"][:10] for o in first["overrides"]] == ["2026-12-03", "2026-12-05"]
    assert (first["schedule"], first["total"]) == ("ml-oncall", 4)

    resp = await scheduled.post(url, data=calendar(1, 6, uid="late"), headers=AUTH)
    assert resp.status == 200
    _, second = await overrides(scheduled, limit="2", cursor=first["next_cursor"])
    assert [o["start"][:10] for o in second["overrides"]] == ["2026-12-06", "2026-12-07"]
    _, third = await overrides(scheduled, limit="2", cursor=second["next_cursor"])
    assert [o["start"][:10] for o in third["overrides"]] == ["2026-12-09"]
    assert (third["total"], third["next_cursor"]) == (6, None)


async def test_overrides_refuse_a_bad_limit_or_another_schedules_cursor(
    scheduled: Client,
) -> None:
    url = "/api/v1/schedules/ml-oncall/overrides"
    assert (await scheduled.post(url, data=calendar(3, 5), headers=AUTH)).status == 200
    _, page = await overrides(scheduled, limit="1")
    for name, params, field in (
        ("ml-oncall", {"limit": "0"}, "limit"),
        ("ml-oncall", {"cursor": "junk"}, "cursor"),
        ("ml-oncall", {"cursor": _forged("overrides:ml-oncall", "soon", "later", "x")}, "cursor"),
        ("data-oncall", {"cursor": page["next_cursor"]}, "cursor"),
    ):
        status, body = await overrides(scheduled, name, **params)
        assert (status, body["field"]) == (400, field), body
        assert set(body) == {"error", "field", "message"}


# --- the README's examples ---------------------------------------------------------------------


def readme_examples() -> list[tuple[str, Json]]:
    """The (request path, answer) pairs of the README's "Lists" examples: each ``curl`` line
    followed by the JSON block that shows its answer."""
    text = README.read_text()
    section = text[text.index("### Lists: limit and cursor") :]
    section = section[: section.index("\n## ")]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.DOTALL)
    pairs, path = [], None
    for lang, body in blocks:
        if lang == "sh":
            [url] = re.findall(r"'http://127\.0\.0\.1:8080(/[^']+)'", body)
            path = url
        elif lang == "json" and path is not None:
            pairs.append((path, json.loads(body)))
            path = None
    return pairs


async def test_the_readme_list_examples_answer_what_the_readme_shows(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    examples = readme_examples()
    assert len(examples) >= 2
    vigil = await make_vigil(api_token=Secret("t0ken"))
    await open_many(vigil, clock, "213")
    await vigil.incidents.resolve(1, actor="@alice")
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        for path, shown in examples:
            resp = await client.get(path, headers={"Authorization": "Bearer t0ken"})
            body = await resp.json()
            assert resp.status == (400 if "error" in shown else 200), (path, body)
            assert set(body) == set(shown), path
            for key, value in shown.items():
                if key == "incidents":  # the README abridges each incident
                    assert len(body[key]) == len(value), path
                    for mine, theirs in zip(body[key], value, strict=True):
                        assert theirs.items() <= mine.items(), path
                else:
                    assert body[key] == value, (path, key)
