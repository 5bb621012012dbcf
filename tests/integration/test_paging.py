"""Paging with escalation, as the person on call meets it: paged, escalated, stopped by an ack,
and still on time after a restart. Time is the FakeClock; timers run through ``run_due``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.load import load_settings
from bot.core.errors import ValidationError
from bot.ingest.generic import parse_generic
from bot.oncall.settings import OncallSettings
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.support import FakeClock, paged_vigil


async def _accuracy_alert(vigil: Vigil, clock: FakeClock, value: float = 0.71) -> int:
    alerts = parse_generic(
        {
            "title": "Accuracy below SLA on fraud-scorer",
            "labels": {"alertname": "ModelAccuracyBelowSLA", "model": "fraud-scorer", "sla": "0.9"},
            "value": value,
        },
        now=clock(),
    )
    [outcome] = await vigil.ingestor.ingest(alerts)
    assert outcome.incident_id is not None
    return outcome.incident_id


async def test_a_p2_pages_level_one_then_escalates_to_level_two(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    assert [(who, i) for who, i, _ in chat.pages] == [("@alice", n)]
    first = chat.pages[0][2].splitlines()[0]
    assert first == (
        f"🟠 P2 #{n} Accuracy below SLA on fraud-scorer — you are paged (level 1). "
        f"Acknowledge: /incident ack {n}; otherwise @bob is paged at 02:05Z"
    )
    assert chat.announced[0].startswith(f"🟠 P2 #{n} opened")  # the news comes before the page

    clock.advance(minutes=4, seconds=59)
    await vigil.timers.run_due(clock())
    assert len(chat.pages) == 1

    clock.advance(seconds=1)
    await vigil.timers.run_due(clock())
    assert [who for who, _, _ in chat.pages] == ["@alice", "@bob"]
    pages = [e.text for e in (await vigil.incidents.get(n)).timeline if e.kind == "page"]
    assert pages == [
        "Paged @alice (level 1, round 1) via recording",
        "Paged @bob (level 2, round 1) via recording",
    ]


async def test_acknowledging_stops_the_escalation(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    clock.advance(minutes=2)
    await vigil.commands.run_incident(f"ack {n}", actor="@alice")
    assert [t for t in await vigil.timers.pending() if t.kind == "escalate"] == []
    clock.advance(hours=1)
    assert await vigil.timers.run_due(clock()) == 0
    assert [who for who, _, _ in chat.pages] == ["@alice"]
    texts = [e.text for e in (await vigil.incidents.get(n)).timeline]
    assert "Escalation stopped: acknowledged by @alice" in texts


async def test_escalation_survives_a_restart_and_pages_each_level_once(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    first, chat = await paged_vigil(make_vigil, oncall)
    await _accuracy_alert(first, clock)
    await first.close()  # the process stops with level 2 pending

    clock.advance(minutes=7)  # it was down when level 2 fell due
    second, chat2 = await paged_vigil(make_vigil, oncall)
    assert await second.timers.run_due(clock()) == 1
    assert [who for who, _, _ in chat.pages] == ["@alice"]
    assert [who for who, _, _ in chat2.pages] == ["@bob"]  # late, once, and not @alice again
    assert await second.timers.run_due(clock()) == 0


async def test_nobody_acknowledging_exhausts_the_escalation_and_says_so(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, _chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    for minutes in (5, 10):
        clock.advance(minutes=minutes)
        await vigil.timers.run_due(clock())
    last = (await vigil.incidents.get(n)).timeline[-1]
    assert last.text.startswith(f"Nobody acknowledged #{n} after 2 level(s) and 15 min")
    assert [t for t in await vigil.timers.pending() if t.kind == "escalate"] == []


async def test_a_p3_does_not_page_until_it_becomes_p2(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    await vigil.commands.run_incident("new Cache hit rate low --sev P3", actor="@dave")
    assert chat.pages == []
    await vigil.commands.run_incident("sev 1 P2", actor="@dave")
    assert [who for who, _, _ in chat.pages] == ["@alice"]


BY_SEVERITY = """
escalation_policies:
  default:
    levels:
      - {notify: ["@alice"], wait: 10m}
      - {notify: ["@bob"], wait: 10m}
  critical:
    levels:
      - {notify: ["@carol"], wait: 1m}
      - {notify: ["@dave"], wait: 1m}
routes:
  - {match: {severity: P1}, policy: critical}
  - {policy: default}
severity_paging:
  P3: {action: post}
"""


async def test_a_severity_change_mid_escalation_pages_by_the_new_severitys_policy(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    (tmp_path / "routes.yaml").write_text(BY_SEVERITY)
    oncall = load_settings(tmp_path / "routes.yaml", {}).oncall
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)  # P2: the default policy pages @alice
    clock.advance(minutes=1)

    reply = await vigil.commands.run_incident(f"sev {n} P1", actor="@bob")
    assert reply.incident is not None
    assert reply.incident.severity == "P1"
    assert [who for who, _, _ in chat.pages] == ["@alice", "@carol"]  # P1's policy, at once
    assert chat.pages[-1][2].startswith(f"🔴 P1 #{n} ")
    clock.advance(minutes=1)
    await vigil.timers.run_due(clock())
    assert [who for who, _, _ in chat.pages] == ["@alice", "@carol", "@dave"]  # 1 min, not 10

    await vigil.commands.run_incident(f"sev {n} P3", actor="@bob")  # P3 posts only
    clock.advance(hours=1)
    await vigil.timers.run_due(clock())
    assert [who for who, _, _ in chat.pages] == ["@alice", "@carol", "@dave"]
    timeline = (await vigil.incidents.get(n)).timeline
    assert [e.text for e in timeline if e.kind == "severity"][1:] == [
        "Severity P2 → P1 set by @bob",
        "Severity P1 → P3 set by @bob",
    ]
    assert timeline[-1].text == "Severity now P3: P3 posts to the channel only; nobody is paged."


async def test_without_a_chat_backend_the_page_is_recorded_as_undelivered(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil = await make_vigil(oncall=oncall)
    n = await _accuracy_alert(vigil, clock)
    pages = [e.text for e in (await vigil.incidents.get(n)).timeline if e.kind == "page"]
    assert pages == [
        "@alice was NOT paged (level 1, round 1): no chat backend is connected and no notify: "
        "channel is configured; set up slack: or notify: in vigil.yaml"
    ]


async def test_escalate_pages_the_next_level_now_even_after_an_ack(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    await vigil.commands.run_incident(f"ack {n}", actor="@alice")
    await vigil.pager.escalate(n, actor="@alice")
    assert [who for who, _, _ in chat.pages] == ["@alice", "@bob"]
    texts = [e.text for e in (await vigil.incidents.get(n)).timeline]
    assert "Escalated by @alice: paging level 2 now" in texts
    with pytest.raises(ValidationError, match="every level of the policy has been paged"):
        await vigil.pager.escalate(n, actor="@alice")


async def test_incident_escalate_command_pages_the_next_level_and_refuses_past_the_last(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    reply = await vigil.commands.run_incident(f"escalate {n}", actor="@alice")
    assert not reply.ephemeral
    assert "escalated by @alice: the next level is paged now" in reply.text
    assert [who for who, _, _ in chat.pages] == ["@alice", "@bob"]
    refused = await vigil.commands.run_incident(f"escalate {n}", actor="@alice")
    assert refused.ephemeral
    assert "every level of the policy has been paged" in refused.text
    unknown = await vigil.commands.run_incident("escalate 999", actor="@alice")
    assert unknown.ephemeral
    assert "999" in unknown.text
