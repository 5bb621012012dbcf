"""Routing as the on-call engineer meets it: which policy pages for which model, what each
severity does by default (P1 fast, P3 only in working hours, P4 never), groups, the Escalate
button on a quiet incident, and a restart that keeps the routed plan. Time is the FakeClock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.chat.backend import RecordingBackend
from bot.config.load import load_settings
from bot.core.errors import ValidationError
from bot.oncall.settings import OncallSettings
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.support import FakeClock

ROUTED = """
groups:
  ml-leads: ["@maya", "@sam"]
escalation_policies:
  ml:
    levels:
      - {notify: ["@priya"], wait: 10m}
      - {notify: ["group:ml-leads"], wait: 30m}
  default:
    levels:
      - {notify: ["@alice"], wait: 20m}
      - {notify: ["@bob"], wait: 20m}
routes:
  - {match: {model: "fraud-*"}, policy: ml}
  - {match: {service: "staging-*"}, policy: none}
working_hours: {days: mon-fri, from: "09:00", to: "18:00", tz: Europe/Berlin}
"""
TUESDAY_3AM_BERLIN = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
TUESDAY_NOON_BERLIN = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)


@pytest.fixture
def oncall(tmp_path: Path) -> OncallSettings:
    path = tmp_path / "vigil.yaml"
    path.write_text(ROUTED)
    return load_settings(path, {}).oncall


async def _vigil(make_vigil: MakeVigil, oncall: OncallSettings) -> tuple[Vigil, RecordingBackend]:
    vigil = await make_vigil(oncall=oncall)
    chat = RecordingBackend()
    vigil.attach(chat)
    return vigil, chat


async def _open(vigil: Vigil, text: str) -> int:
    reply = await vigil.commands.run_incident(f"new {text}", actor="@dave")
    assert reply.incident is not None, reply.text
    return reply.incident.id


def _paged(chat: RecordingBackend) -> list[str]:
    return [who for who, _, _ in chat.pages]


async def _escalation_lines(vigil: Vigil, n: int) -> list[str]:
    return [e.text for e in (await vigil.incidents.get(n)).timeline if e.kind == "escalation"]


async def test_a_p1_on_a_fraud_model_pages_the_ml_policy_and_escalates_after_five_minutes(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await _vigil(make_vigil, oncall)
    n = await _open(vigil, "Fraud scores all zero --sev P1 --model fraud-scorer")
    assert _paged(chat) == ["@priya"]
    [started] = await _escalation_lines(vigil, n)
    assert started.startswith(
        "P1 pages now: policy ml (routes[0] (model=fraud-*)); no level waits over 5 min. "
        "Level 1: @priya now; level 2: group:ml-leads after 5 min without ack;"
    )
    clock.advance(minutes=4, seconds=59)
    await vigil.timers.run_due(clock())
    assert _paged(chat) == ["@priya"]  # the policy says 10 min; a P1 waits 5 at most
    clock.advance(seconds=1)
    await vigil.timers.run_due(clock())
    assert _paged(chat) == ["@priya", "@maya", "@sam"]  # the group, member by member


async def test_other_services_page_the_default_policy_and_staging_pages_nobody(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await _vigil(make_vigil, oncall)
    await _open(vigil, "Checkout down --sev P2 --service checkout")
    assert _paged(chat) == ["@alice"]
    staging = await _open(vigil, "Staging checkout down --sev P1 --service staging-eu")
    assert _paged(chat) == ["@alice"]
    assert await _escalation_lines(vigil, staging) == [
        "P1: routes[1] (service=staging-*) says post only, so nobody is paged."
    ]
    clock.advance(minutes=15)  # P2: the default policy's 20 min level is capped at 15
    await vigil.timers.run_due(clock())
    assert _paged(chat) == ["@alice", "@bob"]


async def test_a_p4_posts_only_and_a_p3_at_night_waits_for_working_hours(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    clock.now = TUESDAY_3AM_BERLIN
    vigil, chat = await _vigil(make_vigil, oncall)
    quiet = await _open(vigil, "Typo in a dashboard --sev P4 --service checkout")
    night = await _open(vigil, "Nightly batch slow --sev P3 --service batch")
    assert _paged(chat) == []
    assert await _escalation_lines(vigil, quiet) == []  # a P4 is plain: no extra line
    [later] = await _escalation_lines(vigil, night)
    assert later == (
        "P3 pages in working hours (Mon-Fri 09:00-18:00 Europe/Berlin) and it is outside them "
        "now: posted to the channel; policy default pages at Tue 24 Nov 09:00 CET (in 6 h) "
        "unless someone acknowledges first."
    )
    clock.now = datetime(2026, 11, 24, 7, 59, tzinfo=UTC)
    await vigil.timers.run_due(clock())
    assert _paged(chat) == []
    clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    await vigil.timers.run_due(clock())
    assert _paged(chat) == ["@alice"]
    assert (await _escalation_lines(vigil, night))[-1].startswith(
        "Working hours began. P3 pages now: policy default (no route matched). Level 1: @alice"
    )
    await vigil.timers.run_due(clock())
    assert _paged(chat) == ["@alice"]  # once


async def test_a_p3_acknowledged_before_working_hours_pages_nobody(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    clock.now = TUESDAY_3AM_BERLIN
    vigil, chat = await _vigil(make_vigil, oncall)
    n = await _open(vigil, "Nightly batch slow --sev P3 --service batch")
    await vigil.commands.run_incident(f"ack {n}", actor="@night-owl")
    clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    await vigil.timers.run_due(clock())
    assert _paged(chat) == []


async def test_a_p3_in_working_hours_pages_at_once(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    clock.now = TUESDAY_NOON_BERLIN
    vigil, chat = await _vigil(make_vigil, oncall)
    await _open(vigil, "Nightly batch slow --sev P3 --service batch")
    assert _paged(chat) == ["@alice"]


async def test_a_p3_raised_to_p1_at_night_pages_now(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    clock.now = TUESDAY_3AM_BERLIN
    vigil, chat = await _vigil(make_vigil, oncall)
    n = await _open(vigil, "Batch slow --sev P3 --service batch")
    await vigil.commands.run_incident(f"sev {n} P1", actor="@dave")
    assert _paged(chat) == ["@alice"]
    clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # the working-hours page is not sent
    await vigil.timers.run_due(clock())
    assert _paged(chat).count("@alice") == 1


async def test_escalate_on_a_p4_pages_level_one_of_its_routed_policy(
    make_vigil: MakeVigil, oncall: OncallSettings
) -> None:
    vigil, chat = await _vigil(make_vigil, oncall)
    n = await _open(vigil, "Fraud feature null rate up --sev P4 --model fraud-scorer")
    reply = await vigil.commands.run_incident(f"escalate {n}", actor="@dave")
    assert not reply.ephemeral
    assert _paged(chat) == ["@priya"]
    await vigil.commands.run_incident(f"escalate {n}", actor="@dave")
    assert _paged(chat) == ["@priya", "@maya", "@sam"]
    with pytest.raises(ValidationError, match="every level of the policy has been paged"):
        await vigil.pager.escalate(n, actor="@dave")


async def test_escalate_where_nothing_routes_says_why_nobody_can_be_paged(
    make_vigil: MakeVigil, oncall: OncallSettings
) -> None:
    vigil, chat = await _vigil(make_vigil, oncall)
    n = await _open(vigil, "Staging flaky --sev P2 --service staging-us")
    reply = await vigil.commands.run_incident(f"escalate {n}", actor="@dave")
    assert reply.ephemeral
    assert "routes[1] (service=staging-*) says post only, so there is nobody to page" in (
        reply.text
    )
    assert _paged(chat) == []


async def test_a_restart_pages_the_next_level_of_the_routed_policy_once(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    first, chat = await _vigil(make_vigil, oncall)
    await _open(first, "Fraud scores all zero --sev P2 --model fraud-scorer")
    assert _paged(chat) == ["@priya"]
    await first.close()
    second, chat2 = await _vigil(make_vigil, oncall)
    clock.advance(minutes=10)  # ml's level 1 waits 10 min (under the P2 cap of 15)
    await second.timers.run_due(clock())
    await second.timers.run_due(clock())
    assert _paged(chat2) == ["@maya", "@sam"]


async def test_repage_after_a_hold_continues_the_step_numbers_and_pages_once(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await _vigil(make_vigil, oncall)
    n = await _open(vigil, "Checkout down --sev P2 --service checkout")
    assert await vigil.pager.hold(n)
    clock.advance(minutes=30)
    await vigil.timers.run_due(clock())
    assert _paged(chat) == ["@alice"]  # held: level 2 is not paged
    assert await vigil.pager.repage(n, reason="Snooze over.")
    assert _paged(chat) == ["@alice", "@alice"]
    clock.advance(minutes=15)
    await vigil.timers.run_due(clock())
    await vigil.timers.run_due(clock())
    assert _paged(chat) == ["@alice", "@alice", "@bob"]
    steps = [e.data["step"] for e in (await vigil.incidents.get(n)).timeline if e.kind == "page"]
    assert steps == [0, 1, 2]


async def test_repage_of_an_acknowledged_incident_pages_nobody_and_says_who_has_it(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await _vigil(make_vigil, oncall)
    n = await _open(vigil, "Checkout down --sev P2 --service checkout")
    await vigil.commands.run_incident(f"ack {n}", actor="@alice")
    assert not await vigil.pager.repage(n, reason="Snooze over.")
    clock.advance(hours=2)
    await vigil.timers.run_due(clock())
    assert _paged(chat) == ["@alice"]
    assert (await _escalation_lines(vigil, n))[-1] == (
        f"Snooze over. #{n} is acknowledged by @alice, so nobody is paged."
    )


async def test_raising_a_snoozed_incident_pages_nobody_until_the_snooze_ends(
    make_vigil: MakeVigil, oncall: OncallSettings
) -> None:
    vigil, chat = await _vigil(make_vigil, oncall)
    n = await _open(vigil, "Checkout slow --sev P4 --service checkout")
    await vigil.commands.run_incident(f"snooze {n} 2h", actor="@dave")
    await vigil.commands.run_incident(f"sev {n} P1", actor="@dave")
    assert _paged(chat) == []
    assert (await _escalation_lines(vigil, n))[-1] == (
        f"P1, but snoozed: nobody is paged until the snooze ends (/incident snooze {n} off "
        "ends it now)."
    )
    await vigil.commands.run_incident(f"snooze {n} off", actor="@dave")
    assert _paged(chat) == ["@alice"]


async def test_a_snooze_ending_on_a_p4_says_nobody_is_paged_and_a_p3_at_night_waits(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    clock.now = TUESDAY_3AM_BERLIN
    vigil, chat = await _vigil(make_vigil, oncall)
    quiet = await _open(vigil, "Typo in a dashboard --sev P4 --service checkout")
    night = await _open(vigil, "Nightly batch slow --sev P3 --service batch")
    for n in (quiet, night):
        await vigil.commands.run_incident(f"snooze {n} 1h", actor="@dave")
    clock.advance(hours=1)
    await vigil.timers.run_due(clock())
    assert _paged(chat) == []
    assert (await _escalation_lines(vigil, quiet))[-1] == (
        "Snooze over. P4 posts to the channel only; nobody is paged."
    )
    assert (await _escalation_lines(vigil, night))[-1].startswith(
        "Snooze over. P3 pages in working hours (Mon-Fri 09:00-18:00 Europe/Berlin) and it is "
        "outside them now"
    )
    clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    await vigil.timers.run_due(clock())
    assert _paged(chat) == ["@alice"]
