"""Every alert cleared: nobody is paged any more, and the incident resolves by itself after
its quiet period unless an alert fires again (then: same incident, paging resumes). Alerts
that come back after the incident was resolved open a new one that names the first.

Pure timing is the FakeClock and ``run_due`` here (the process-level journey with a real
Alertmanager is ``tests/acceptance``)."""

from __future__ import annotations

from pathlib import Path

from bot.config.load import load_settings
from bot.ingest.generic import parse_generic
from bot.oncall.settings import OncallSettings
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.support import FakeClock, paged_vigil


async def _post(vigil: Vigil, clock: FakeClock, status: str = "firing", instance: str = "a") -> int:
    body = {
        "title": "Accuracy below SLA on fraud-scorer",
        "labels": {
            "alertname": "ModelAccuracyBelowSLA",
            "model": "fraud-scorer",
            "sla": "0.9",
            "instance": instance,
        },
        "value": 0.71,
        "status": status,
    }
    [outcome] = await vigil.ingestor.ingest(parse_generic(body, now=clock()))
    assert outcome.incident_id is not None
    return outcome.incident_id


async def _lines(vigil: Vigil, n: int) -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in (await vigil.incidents.get(n)).timeline]


async def test_all_cleared_stops_paging_and_resolves_after_the_quiet_period(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _post(vigil, clock)
    await _post(vigil, clock, instance="b")
    assert [who for who, _, _ in chat.pages] == ["@alice"]

    clock.advance(minutes=1)
    await _post(vigil, clock, "resolved")  # one of two: still firing, escalation goes on
    assert (await vigil.incidents.get(n)).cleared_at is None
    clock.advance(minutes=1)
    assert await _post(vigil, clock, "resolved", instance="b") == n
    view = await vigil.incidents.get(n)
    assert view.cleared_at == clock()
    kind, text = (await _lines(vigil, n))[-2]
    assert kind == "alert_resolved"
    assert text.endswith(
        f"Every alert of #{n} has cleared; it resolves by itself at 02:07 UTC (5 min quiet) "
        "unless an alert fires again"
    ), text
    assert (await _lines(vigil, n))[-1] == (
        "escalation",
        "Escalation stopped: every alert cleared (it resumes if one fires again).",
    )
    assert "it resolves by itself at 02:07 UTC" in chat.announced[-2]
    assert "escalation stopped: every alert cleared" in chat.announced[-1]

    clock.advance(minutes=4, seconds=59)  # @bob was due at 02:05: nobody is paged
    await vigil.timers.run_due(clock())
    assert [who for who, _, _ in chat.pages] == ["@alice"]
    assert (await vigil.incidents.get(n)).state == "triggered"

    clock.advance(seconds=1)
    await vigil.timers.run_due(clock())
    view = await vigil.incidents.get(n)
    assert view.state == "resolved"
    assert [e.text for e in view.timeline if e.kind == "state"] == [
        "Resolved by vigil: every alert cleared at 02:02 UTC and none fired again for 5 min"
    ]
    clock.advance(hours=1)
    await vigil.timers.run_due(clock())
    assert [who for who, _, _ in chat.pages] == ["@alice"]


async def test_a_flap_within_the_quiet_period_is_the_same_incident_and_pages_again(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _post(vigil, clock)
    clock.advance(minutes=1)
    await _post(vigil, clock, "resolved")
    clock.advance(minutes=2)
    assert await _post(vigil, clock) == n  # back within 5 min: the same incident
    view = await vigil.incidents.get(n)
    assert view.cleared_at is None
    assert (
        "refiring",
        "Firing again 2 min after every alert had cleared: same incident; "
        "the escalation resumes and it will not resolve by itself.",
    ) in await _lines(vigil, n)
    assert [who for who, _, _ in chat.pages] == ["@alice", "@alice"]  # nobody had acked

    clock.advance(minutes=10)  # past the quiet period: still open, and escalating
    await vigil.timers.run_due(clock())
    view = await vigil.incidents.get(n)
    assert view.state == "triggered"
    assert [who for who, _, _ in chat.pages] == ["@alice", "@alice", "@bob"]


async def test_an_acknowledged_incident_resolves_by_itself_without_pages(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _post(vigil, clock)
    await vigil.incidents.acknowledge(n, actor="@alice")
    await _post(vigil, clock, "resolved")
    clock.advance(minutes=1)
    await _post(vigil, clock)  # a flap while acknowledged: @alice is on it, no page
    await _post(vigil, clock, "resolved")
    clock.advance(minutes=5)
    await vigil.timers.run_due(clock())
    assert (await vigil.incidents.get(n)).state == "resolved"
    assert [who for who, _, _ in chat.pages] == ["@alice"]


async def test_alerts_back_after_the_resolve_open_a_new_incident_naming_the_first(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, _chat = await paged_vigil(make_vigil, oncall)
    first = await _post(vigil, clock)
    await _post(vigil, clock, "resolved")
    clock.advance(minutes=5)
    await vigil.timers.run_due(clock())
    assert (await vigil.incidents.get(first)).state == "resolved"
    clock.advance(minutes=15)
    second = await _post(vigil, clock)
    assert second != first
    opened = (await _lines(vigil, second))[0]
    assert opened == (
        "opened",
        "Opened by an alert from generic: Accuracy below SLA on fraud-scorer. The same "
        f"alerts were incident #{first}, resolved 15 min ago: it came back.",
    )


async def test_auto_resolve_off_leaves_the_resolve_to_a_person(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock, tmp_path: Path
) -> None:
    (tmp_path / "off.yaml").write_text("auto_resolve: {P2: off}\n")
    incidents = load_settings(tmp_path / "off.yaml", {}).incidents
    vigil, chat = await paged_vigil(make_vigil, oncall, incidents=incidents)
    n = await _post(vigil, clock)
    await _post(vigil, clock, "resolved")
    assert (await _lines(vigil, n))[-2][1].endswith(
        f"Every alert of #{n} has cleared; when you are satisfied, /incident resolve {n}"
    )
    clock.advance(hours=2)
    await vigil.timers.run_due(clock())
    assert (await vigil.incidents.get(n)).state == "triggered"
    assert [who for who, _, _ in chat.pages] == ["@alice"]  # and no more pages
