"""``/incident oncall``: who is on call now, until when, who is next, how pages escalate."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar

from bot.chat.backend import RecordingBackend
from bot.config.load import Settings, load_settings
from bot.core.errors import ConfigError
from bot.core.secret import Secret
from bot.ingest.generic import parse_generic
from tests.conftest import MakeVigil
from tests.support import FakeClock

ONCALL_YAML = """
rotations:
  ml-oncall:
    participants: ["@alice", "@bob"]
    shift: 1w
    handoff: "2026-11-23T09:00"
    tz: Europe/Berlin
escalation:
  levels:
    - {notify: ["rotation:ml-oncall"], wait: 5m}
    - {notify: ["@carol"], wait: 10m}
"""


def _settings(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "vigil.yaml"
    path.write_text(text)
    return load_settings(path, {})


async def test_oncall_names_the_person_their_shift_end_and_the_escalation(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday, 03:00 in Berlin
    vigil = await make_vigil(oncall=_settings(tmp_path, ONCALL_YAML).oncall)
    reply = await vigil.commands.run_incident("oncall", actor="@dave")
    assert reply.ephemeral
    lines = reply.text.splitlines()
    assert lines[0] == ("📟 @alice is on call for ml-oncall until Mon 30 Nov 09:00 CET; next: @bob")
    assert lines[1] == (
        "Paging: P1 pages at once, no level waits over 5 min; P2 pages at once, no level "
        "waits over 15 min; P3 pages in working hours (Mon-Fri 09:00-17:00 UTC); P4 posts to "
        "the channel only; policy default pages."
    )
    assert lines[2].startswith("Policy default: Level 1: rotation:ml-oncall now; level 2: @carol ")


async def test_oncall_with_a_rotations_name_answers_for_that_rotation(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    text = ONCALL_YAML + SCHEDULE_YAML.split("escalation:")[0].replace("ml-oncall", "infra")
    vigil = await make_vigil(oncall=_settings(tmp_path, text).oncall)
    reply = await vigil.commands.run_incident("oncall ml-oncall", actor="@dave")
    assert reply.ephemeral
    assert reply.text == "@alice is on call for ml-oncall until Mon 30 Nov 09:00 CET; next: @bob"
    unknown = await vigil.commands.run_incident("oncall ml", actor="@dave")
    assert unknown.text == "Nothing on call is named 'ml'. Schedules: infra. Rotations: ml-oncall."


async def test_oncall_without_a_policy_says_nobody_is_paged(make_vigil: MakeVigil) -> None:
    vigil = await make_vigil()
    reply = await vigil.commands.run_incident("oncall", actor="@dave")
    assert reply.text.startswith("No escalation policy is configured, so nobody is paged.")


def test_an_escalation_level_naming_an_unknown_rotation_is_refused(tmp_path: Path) -> None:
    text = ONCALL_YAML.replace('"rotation:ml-oncall"', '"rotation:ml-on-call"')
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, text)
    assert caught.value.key == "escalation.levels[0].notify[0]"
    assert "rotation:ml-on-call names nothing under `rotations:` (known: ml-oncall)" in str(
        caught.value
    )


def test_escalation_levels_keep_their_order(tmp_path: Path) -> None:
    settings = _settings(tmp_path, ONCALL_YAML)
    again = dataclasses.replace(settings, port=9)
    policy = again.oncall.routing.policies["default"]
    assert [lvl.targets for lvl in policy.levels] == [
        ("rotation:ml-oncall",),
        ("@carol",),
    ]


SCHEDULE_YAML = """
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
escalation:
  levels:
    - {notify: ["schedule:ml-oncall"], wait: 5m}
    - {notify: ["@carol"], wait: 10m}
"""


async def test_oncall_schedule_names_the_override_until_when_and_who_is_next(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 03:00 in Berlin, inside @lee's cover
    vigil = await make_vigil(oncall=_settings(tmp_path, SCHEDULE_YAML).oncall)
    reply = await vigil.commands.run_incident("oncall ml-oncall", actor="@dave")
    assert reply.ephemeral
    first = reply.text.splitlines()[0]
    assert first.startswith("@lee is on call for ml-oncall until Tue 24 Nov 06:00 CET")
    assert first.endswith("next: @maya.")
    everything = await vigil.commands.run_incident("oncall", actor="@dave")
    assert everything.text.startswith("📟 @lee is on call for ml-oncall")
    assert "level 1: schedule:ml-oncall now" in everything.text.lower()
    unknown = await vigil.commands.run_incident("oncall ml", actor="@dave")
    assert unknown.text == "Nothing on call is named 'ml'. Schedules: ml-oncall. Rotations: none."


async def test_a_page_to_a_schedule_reaches_whoever_it_says_is_on_call(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    vigil = await make_vigil(oncall=_settings(tmp_path, SCHEDULE_YAML).oncall)
    chat = RecordingBackend()
    vigil.attach(chat)
    alert = {"title": "fraud-scorer down", "labels": {"alertname": "ServiceDown", "service": "x"}}
    [outcome] = await vigil.ingestor.ingest(parse_generic(alert, now=clock()))
    assert [who for who, _, _ in chat.pages] == ["@lee"]  # the override, not the layer
    assert outcome.incident_id is not None


def test_an_escalation_level_naming_an_unknown_schedule_is_refused(tmp_path: Path) -> None:
    text = SCHEDULE_YAML.replace('"schedule:ml-oncall"', '"schedule:ml"')
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, text)
    assert caught.value.key == "escalation.levels[0].notify[0]"
    assert "schedule:ml names nothing under `schedules:` (known: ml-oncall)" in str(caught.value)


def test_a_name_used_by_a_rotation_and_a_schedule_is_refused(tmp_path: Path) -> None:
    text = ONCALL_YAML.replace("escalation:", SCHEDULE_YAML.split("escalation:")[0] + "escalation:")
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, text)
    assert caught.value.key == "schedules.ml-oncall"


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_feed_example() -> tuple[str, str]:
    """The README's command that fetches a schedule's feed: its header and its path."""
    [line] = [
        ln for ln in README.read_text().splitlines() if ln.startswith("curl ") and ".ics" in ln
    ]
    [header] = re.findall(r'-H "([^"]+)"', line)
    [path] = re.findall(r"'http://127\.0\.0\.1:8080(/[^']+)'", line)
    return header, path


async def test_the_readme_feed_example_works_and_the_feed_needs_the_api_token(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    settings = _settings(tmp_path, SCHEDULE_YAML)
    vigil = await make_vigil(oncall=settings.oncall, api_token=Secret("t0ken-for-the-feed"))
    header, path = readme_feed_example()
    name, _, value = header.partition(": ")
    assert (name, value) == ("Authorization", "Bearer $VIGIL_API_TOKEN")
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        shown = await client.get(path, headers={name: "Bearer t0ken-for-the-feed"})
        assert shown.status == 200
        assert shown.headers["Content-Type"].startswith("text/calendar")
        assert "On call: @lee (ml-oncall)" in await shown.text()
        bare = await client.get(path)  # what a calendar app subscribing by URL sends
        assert bare.status == 401
        in_url = await client.get(path + "&token=t0ken-for-the-feed")
        assert in_url.status == 401  # as the README says: never in the URL


async def test_a_schedule_is_served_as_an_icalendar_feed(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    vigil = await make_vigil(oncall=_settings(tmp_path, SCHEDULE_YAML).oncall)
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        resp = await client.get("/api/v1/schedules/ml-oncall.ics", params={"days": "14"})
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/calendar")
        cal = Calendar.from_ical(await resp.read())
        events = [c for c in cal.walk("VEVENT")]
        people = [str(e["SUMMARY"]) for e in events]
        assert "On call: @lee (ml-oncall)" in people  # the override is in the feed
        assert "On call: @maya (ml-oncall)" in people
        starts = [e.decoded("DTSTART") for e in events]
        assert starts == sorted(starts)
        missing = await client.get("/api/v1/schedules/ml.ics")
        assert missing.status == 404
        assert "ml-oncall" in (await missing.json())["message"]
        bad = await client.get("/api/v1/schedules/ml-oncall.ics", params={"days": "-1"})
        assert (bad.status, (await bad.json())["field"]) == (400, "days")
