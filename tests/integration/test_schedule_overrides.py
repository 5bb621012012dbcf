"""Schedule overrides imported from iCalendar, stored in the database, over real HTTP.

What a person notices: after ``POST /api/v1/schedules/ml-oncall/overrides`` (or ``vigil
schedule import``) the schedule says someone else is on call inside the override, on every
replica, and the ``.ics`` feed shows it; importing the same file again changes nothing; a
bad file is refused naming the event and property, with nothing stored.
"""

from __future__ import annotations

import argparse
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar
from sqlalchemy import text
from sqlmodel import col, select

from bot.chat.backend import RecordingBackend
from bot.cli.parser import parser as vigil_parser
from bot.cli.verbs import schedule as schedule_cli
from bot.config.load import load_settings
from bot.core.errors import NotFoundError, ValidationError
from bot.core.secret import Secret
from bot.oncall.schedules.ical import read_entries
from bot.oncall.schedules.layers import on_call
from bot.oncall.schedules.tables import ScheduleOverrideRow
from bot.oncall.status import oncall_answer
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.integration.procs import BIN, clean_env
from tests.support import FakeClock

Client = TestClient[Any, Any]
TOKEN = "sched-t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
URL = "/api/v1/schedules/ml-oncall/overrides"

YAML = """
schedules:
  ml-oncall:
    tz: Europe/Berlin
    layers:
      - name: primary
        rotation: weekly
        handoff: "2026-11-23T09:00"
        participants: ["@maya", "@sam"]
    overrides:
      - {person: "@lee", start: "2026-11-24T00:00", end: "2026-11-24T06:00"}
  data-oncall:
    tz: Europe/Berlin
    layers:
      - {rotation: daily, handoff: "2026-11-23T09:00", participants: ["@ana"]}
"""
# @kim covers Wed 25 Nov 18:00 to Thu 26 Nov 08:00 in Berlin (CET, UTC+1).
SWAP = "DTSTART;TZID=Europe/Berlin:20261125T180000\nDTEND;TZID=Europe/Berlin:20261126T080000\n"
INSIDE = datetime(2026, 11, 25, 20, tzinfo=UTC)


def ics(*events: str) -> bytes:
    """A calendar of ``(uid, lines)`` events; each line ends with ``\\n``."""
    body = "".join(f"BEGIN:VEVENT\nDTSTAMP:20261120T000000Z\n{e}END:VEVENT\n" for e in events)
    cal = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{body}END:VCALENDAR\n"
    return cal.replace("\n", "\r\n").encode()


KIM = ics(f"UID:swap-1@team\n{SWAP}SUMMARY:On call: @kim\n")


@pytest.fixture
async def vigil(make_vigil: MakeVigil, tmp_path: Path) -> Vigil:
    (tmp_path / "vigil.yaml").write_text(YAML)
    oncall = load_settings(tmp_path / "vigil.yaml", {}).oncall
    return await make_vigil(oncall=oncall, api_token=Secret(TOKEN))


@pytest.fixture
async def client(vigil: Vigil) -> AsyncIterator[Client]:
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as c:
        yield c


async def post(client: Client, data: bytes, url: str = URL, **params: str) -> tuple[int, Any]:
    headers = {**AUTH, "Content-Type": "text/calendar"}
    resp = await client.post(url, data=data, headers=headers, params=params)
    return resp.status, await resp.json()


async def stored(vigil: Vigil) -> list[tuple[str, str, str, datetime, datetime]]:
    """Every row of the table, whatever the book would load."""
    row = ScheduleOverrideRow
    query = select(row.schedule, row.uid, row.person, row.start, row.end).order_by(col(row.uid))
    async with vigil.db.session() as s:
        return [tuple(r) for r in (await s.exec(query)).all()]  # type: ignore[misc]


async def who(vigil: Vigil, at: datetime = INSIDE, schedule: str = "ml-oncall") -> str | None:
    now = on_call((await vigil.schedule_book.current())[schedule], at)
    return None if now is None else now.person


# --------------------------------------------------------------------------- the story


async def test_an_import_changes_who_is_on_call_and_importing_again_changes_nothing(
    vigil: Vigil, client: Client
) -> None:
    assert await who(vigil) == "@maya"
    status, body = await post(client, KIM)
    assert status == 200, body
    assert body["counts"] == {
        "added": 1,
        "updated": 0,
        "unchanged": 0,
        "removed": 0,
        "kept": 0,
        "skipped": 0,
    }
    [swap] = body["overrides"]
    assert (swap["person"], swap["start"], swap["end"]) == (
        "@kim",
        "2026-11-25T17:00:00Z",
        "2026-11-26T07:00:00Z",
    )
    assert (swap["uid"], swap["source"], swap["imported_by"]) == ("swap-1@team", "api", "api")
    assert await who(vigil) == "@kim"
    assert await who(vigil, INSIDE + timedelta(hours=12)) == "@maya"  # after the swap
    answer = oncall_answer((await vigil.schedule_book.current())["ml-oncall"], INSIDE)
    assert answer.startswith("@kim is on call for ml-oncall until Thu 26 Nov 08:00 CET")
    assert "Via override (imported from api)." in answer

    status, again = await post(client, KIM)
    assert status == 200
    assert (again["changed"], again["counts"]["unchanged"], again["counts"]["added"]) == (
        False,
        1,
        0,
    )
    assert len(await stored(vigil)) == 1
    listed = await client.get(URL, headers=AUTH)
    assert listed.status == 200
    assert [o["person"] for o in (await listed.json())["overrides"]] == ["@kim"]


async def test_a_second_replica_sees_the_import_at_once(
    vigil: Vigil, client: Client, make_vigil: MakeVigil
) -> None:
    other = await make_vigil(oncall=vigil.settings.oncall)  # the same database
    assert await who(other) == "@maya"
    assert (await post(client, KIM))[0] == 200
    assert await who(other) == "@kim"


async def test_the_ics_feed_shows_the_imported_override_and_reads_back_the_same(
    vigil: Vigil, client: Client
) -> None:
    assert (await post(client, KIM))[0] == 200
    resp = await client.get("/api/v1/schedules/ml-oncall.ics", headers=AUTH)
    assert resp.status == 200
    feed = await resp.read()
    [event] = [e for e in Calendar.from_ical(feed).events if "@kim" in str(e["SUMMARY"])]
    assert (event.start, event.end) == (
        datetime(2026, 11, 25, 17, tzinfo=UTC),
        datetime(2026, 11, 26, 7, tzinfo=UTC),
    )
    assert "imported from api" in str(event["DESCRIPTION"])
    schedule = vigil.schedule_book.configured["ml-oncall"]
    back = [e.override for e in read_entries(feed, schedule=schedule) if e.override]
    assert [(o.start, o.end) for o in back if o.person == "@kim"] == [(event.start, event.end)]


async def test_an_import_wins_over_vigil_yaml_and_the_later_import_over_the_earlier(
    vigil: Vigil, client: Client, clock: FakeClock
) -> None:
    three_am = datetime(2026, 11, 24, 2, tzinfo=UTC)  # inside @lee's override from vigil.yaml
    assert await who(vigil, three_am) == "@lee"
    span = "DTSTART:20261124T010000Z\nDTEND:20261124T040000Z\n"
    assert (await post(client, ics(f"UID:k\n{span}SUMMARY:@kim\n")))[0] == 200
    assert await who(vigil, three_am) == "@kim"
    clock.advance(minutes=5)
    assert (await post(client, ics(f"UID:n\n{span}SUMMARY:@noor\n"), source="b.ics"))[0] == 200
    assert await who(vigil, three_am) == "@noor"


async def test_an_updated_export_moves_the_swap_and_a_cancelled_event_removes_one(
    vigil: Vigil, client: Client
) -> None:
    first = ics(
        f"UID:swap-1@team\n{SWAP}SUMMARY:@kim\n",
        "UID:swap-2@team\nDTSTART:20261127T170000Z\nDTEND:20261128T070000Z\nSUMMARY:@sam\n",
    )
    assert (await post(client, first, source="team.ics"))[0] == 200
    later = SWAP.replace("20261125T180000", "20261125T200000")
    second = ics(
        f"UID:swap-1@team\n{later}SUMMARY:@kim\n",
        "UID:swap-2@team\nSTATUS:CANCELLED\nDTSTART:20261127T170000Z\n"
        "DTEND:20261128T070000Z\nSUMMARY:@sam\n",
    )
    status, body = await post(client, second, source="team.ics")
    assert status == 200, body
    assert (body["counts"]["updated"], body["counts"]["removed"]) == (1, 1)
    assert body["overrides"][0]["start"] == "2026-11-25T19:00:00Z"
    assert [r[1] for r in await stored(vigil)] == ["swap-1@team"]
    # 19:00 in Berlin was @kim's before the update; the swap now starts at 20:00.
    assert await who(vigil, INSIDE - timedelta(hours=2)) == "@maya"
    assert await who(vigil) == "@kim"


async def test_overrides_missing_from_a_later_file_stay_unless_replace(
    vigil: Vigil, client: Client
) -> None:
    both = ics(
        f"UID:swap-1@team\n{SWAP}SUMMARY:@kim\n",
        "UID:swap-2@team\nDTSTART:20261127T170000Z\nDTEND:20261128T070000Z\nSUMMARY:@sam\n",
    )
    assert (await post(client, both, source="team.ics"))[0] == 200
    status, merged = await post(client, KIM, source="team.ics")
    assert [o["uid"] for o in merged["kept"]] == ["swap-2@team"]
    assert len(await stored(vigil)) == 2
    status, replaced = await post(client, KIM, source="team.ics", replace="true")
    assert status == 200
    assert [o["uid"] for o in replaced["removed"]] == ["swap-2@team"]
    assert [r[1] for r in await stored(vigil)] == ["swap-1@team"]


# ----------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("data", "params", "field", "says"),
    [
        (b"not a calendar", {}, "ics", "not an iCalendar file"),
        (
            ics(f"UID:ok\n{SWAP}SUMMARY:@kim\n", "UID:bad\nDTSTART:20261127T170000Z\nSUMMARY:@x\n"),
            {},
            "events[1].DTEND",
            "missing",
        ),
        (ics(f"UID:r\n{SWAP}SUMMARY:@kim\nRRULE:FREQ=WEEKLY\n"), {}, "events[0].RRULE", "recur"),
        (
            ics(f"UID:d\n{SWAP}SUMMARY:@kim\nX-VIGIL-SCHEDULE:data-oncall\n"),
            {},
            "events[0].X-VIGIL-SCHEDULE",
            "belongs to schedule 'data-oncall'",
        ),
        (ics(f"UID:n\n{SWAP}SUMMARY:Kim covers\n"), {}, "events[0].SUMMARY", "no person"),
        (KIM, {"replace": "maybe"}, "replace", "true or false"),
        (KIM, {"source": " "}, "source", "characters"),
    ],
)
async def test_a_bad_post_is_400_naming_the_field_and_stores_nothing(
    vigil: Vigil, client: Client, data: bytes, params: dict[str, str], field: str, says: str
) -> None:
    assert (await post(client, KIM))[0] == 200
    before = await stored(vigil)
    status, body = await post(client, data, **params)
    assert status == 400, body
    assert (body["error"], body["field"]) == ("invalid", field)
    assert says in body["message"]
    assert await stored(vigil) == before
    assert await who(vigil) == "@kim"


async def test_an_unknown_schedule_is_404_naming_it_and_the_known_ones(client: Client) -> None:
    status, body = await post(client, KIM, url="/api/v1/schedules/ml/overrides")
    assert status == 404
    assert body["field"] == "name"
    assert "'ml'" in body["message"]
    assert "data-oncall, ml-oncall" in body["message"]
    listed = await client.get("/api/v1/schedules/ml/overrides", headers=AUTH)
    assert listed.status == 404


async def test_without_the_api_token_nothing_is_read_or_stored(
    vigil: Vigil, client: Client
) -> None:
    resp = await client.post(URL, data=KIM, headers={"Authorization": "Bearer nope"})
    assert resp.status == 401
    assert (await resp.json())["field"] == "Authorization"
    assert TOKEN not in await resp.text()
    assert (await client.get(URL)).status == 401
    assert await stored(vigil) == []


async def test_a_calendar_over_the_body_limit_is_413(vigil: Vigil, make_vigil: MakeVigil) -> None:
    small = await make_vigil(
        oncall=vigil.settings.oncall, api_token=Secret(TOKEN), max_body_bytes=len(KIM) - 1
    )
    async with TestClient(TestServer(small.web_app(), host="127.0.0.1")) as c:
        status, body = await post(c, KIM)
    assert (status, body["field"]) == (413, "body")
    assert await stored(vigil) == []


async def test_a_storage_failure_is_503_with_a_retry(vigil: Vigil, client: Client) -> None:
    async with vigil.db.engine.begin() as conn:
        await conn.execute(text("DROP TABLE schedule_overrides"))
    resp = await client.post(URL, data=KIM, headers=AUTH)
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "5"
    assert "retry" in (await resp.json())["message"]
    feed = await client.get("/api/v1/schedules/ml-oncall.ics", headers=AUTH)
    assert feed.status == 503


async def test_an_event_long_over_is_skipped_with_the_reason(vigil: Vigil, client: Client) -> None:
    old = "UID:old\nDTSTART:20261101T170000Z\nDTEND:20261102T070000Z\nSUMMARY:@kim\n"
    status, body = await post(client, ics(old, f"UID:new\n{SWAP}SUMMARY:@kim\n"))
    assert status == 200
    assert body["skipped"] == [
        {"field": "events[0]", "uid": "old", "reason": "already over (ended 2026-11-02T07:00:00Z)"}
    ]
    assert [r[1] for r in await stored(vigil)] == ["new"]


# ----------------------------------------------------------------------- the CLI, in process


def cli(*argv: str) -> argparse.Namespace:
    return vigil_parser().parse_args(["schedule", *argv])


async def test_cli_import_says_what_changed_then_who_is_on_call(
    vigil: Vigil, clock: FakeClock, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 11, 25, 18, tzinfo=UTC)  # 19:00 in Berlin
    path = tmp_path / "swaps.ics"
    path.write_bytes(KIM)
    book, now = vigil.schedule_book, clock()
    out = await schedule_cli.run(
        cli("import", "ml-oncall", str(path)), book, who="cli:alice", now=now
    )
    assert out.splitlines() == [
        "Imported swaps.ics into ml-oncall: 1 added.",
        "  added    @kim  Wed 25 Nov 18:00 → Thu 26 Nov 08:00 CET",
        "Now: @kim is on call for ml-oncall until Thu 26 Nov 08:00 CET (in 13h); next: @maya.",
    ]
    again = await schedule_cli.run(cli("import", "ml-oncall", str(path)), book, who="x", now=now)
    assert again.splitlines()[0] == (
        "Nothing changed in ml-oncall: the override in swaps.ics was already imported."
    )
    listing = await schedule_cli.run(cli("overrides", "ml-oncall"), book, who="x", now=now)
    assert listing.splitlines()[0] == "ml-oncall: 1 imported override, by start:"
    assert "by cli:alice" in listing
    assert listing.endswith("uid swap-1@team")
    gone = await schedule_cli.run(cli("remove", "ml-oncall", "swap-1@team"), book, who="x", now=now)
    assert gone.splitlines()[0] == (
        "Removed @kim's override of ml-oncall (Wed 25 Nov 18:00 → Thu 26 Nov 08:00 CET)."
    )
    assert await stored(vigil) == []


# ----------------------------------------------------------------------- the CLI, a real process


def vigil_schedule(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``vigil schedule ARGS`` to completion as ``alice``, on a SQLite file in ``tmp_path``."""
    (tmp_path / "vigil.yaml").write_text(YAML)
    return subprocess.run(  # noqa: S603 (our own entry point, fixed arguments)
        [str(BIN / "vigil"), "schedule", "--config", str(tmp_path / "vigil.yaml"), *args],
        cwd=tmp_path,
        env=clean_env(
            VIGIL_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'v.db'}",
            USER="alice",
            LOGNAME="alice",
        ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_vigil_schedule_import_prints_the_summary_and_refuses_in_one_line(
    tmp_path: Path,
) -> None:
    # The child runs on the wall clock, so the swap is placed from now (read, never slept on).
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    span = f"DTSTART:{start:%Y%m%dT%H%M%SZ}\nDTEND:{start + timedelta(hours=6):%Y%m%dT%H%M%SZ}\n"
    path = tmp_path / "swaps.ics"
    path.write_bytes(ics(f"UID:swap-9@team\n{span}SUMMARY:On call: @kim\n"))

    done = vigil_schedule(tmp_path, "import", "ml-oncall", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == "Imported swaps.ics into ml-oncall: 1 added."
    assert lines[1].startswith("  added    @kim  ")
    assert lines[-1].startswith("Now: ")

    listed = vigil_schedule(tmp_path, "overrides", "ml-oncall")
    assert "@kim" in listed.stdout
    assert "from swaps.ics, by cli:alice" in listed.stdout

    broken = tmp_path / "broken.ics"
    broken.write_bytes(ics(f"UID:x\n{span}SUMMARY:Kim covers\n"))
    refused = vigil_schedule(tmp_path, "import", "ml-oncall", str(broken))
    assert refused.returncode == 1
    assert refused.stderr.startswith("vigil: events[0].SUMMARY: no person ('Kim covers')")
    assert refused.stderr.count("\n") == 1


async def test_cli_refusals_name_the_schedule_or_the_file(vigil: Vigil, tmp_path: Path) -> None:
    book, now = vigil.schedule_book, vigil.clock()
    with pytest.raises(ValidationError) as unknown:
        await schedule_cli.run(cli("import", "ml", str(tmp_path)), book, who="x", now=now)
    assert (
        unknown.value.message
        == "schedule: no schedule named 'ml'; schedules: data-oncall, ml-oncall"
    )
    missing = str(tmp_path / "nowhere.ics")
    with pytest.raises(ValidationError) as unread:
        await schedule_cli.run(cli("import", "ml-oncall", missing), book, who="x", now=now)
    assert unread.value.message == f"FILE: cannot read {missing}: No such file or directory"
    with pytest.raises(NotFoundError, match="no imported override with UID 'nope'"):
        await schedule_cli.run(cli("remove", "ml-oncall", "nope"), book, who="x", now=now)


async def test_a_page_inside_an_imported_override_goes_to_the_person_covering(
    make_vigil: MakeVigil, tmp_path: Path, clock: FakeClock
) -> None:
    """The point of importing a swap: the page at 21:00 wakes @kim, not @maya."""
    (tmp_path / "vigil.yaml").write_text(
        YAML + 'escalation:\n  levels: [{notify: ["schedule:ml-oncall"], wait: 5m}]\n'
    )
    oncall = load_settings(tmp_path / "vigil.yaml", {}).oncall
    vigil = await make_vigil(oncall=oncall, api_token=Secret(TOKEN))
    chat = RecordingBackend()
    vigil.attach(chat)
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        status, body = await post(client, KIM)
    assert status == 200, body
    clock.now = INSIDE
    reply = await vigil.commands.run_incident("new Fraud scores zero --sev P1", actor="@dave")
    assert reply.incident is not None
    assert [who for who, _, _ in chat.pages] == ["@kim"]


async def test_incident_oncall_names_the_person_from_an_imported_override(
    vigil: Vigil, client: Client, clock: FakeClock
) -> None:
    status, _ = await post(client, KIM)
    assert status == 200
    clock.now = INSIDE
    reply = await vigil.commands.run_incident("oncall ml-oncall", actor="@dave")
    assert reply.text.startswith("@kim is on call for ml-oncall until Thu 26 Nov 08:00 CET")


async def test_deleting_an_override_over_http_gives_the_shift_back(
    vigil: Vigil, client: Client
) -> None:
    status, _ = await post(client, KIM)
    assert status == 200
    assert await who(vigil) == "@kim"
    wrong = await client.delete(f"{URL}/no-such-uid", headers=AUTH)
    assert wrong.status == 404
    body = await wrong.json()
    assert body["field"] == "uid"
    assert "vigil schedule overrides ml-oncall" in body["message"]
    assert (await client.delete(f"{URL}/swap-1@team")).status == 401  # no token: kept
    assert await who(vigil) == "@kim"
    gone = await client.delete(f"{URL}/swap-1@team", headers=AUTH)
    assert gone.status == 200
    assert (await gone.json())["removed"]["person"] == "@kim"
    assert await who(vigil) == "@maya"
