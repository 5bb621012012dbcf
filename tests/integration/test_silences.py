"""Silences, maintenance windows and inhibition through the real intake, database and timers:
a muted alert is stored and shown but opens nothing and pages nobody, and pages the moment
its mute ends if it still fires. Time is the FakeClock and ``run_due`` (the process-level
journey with Slack is ``tests/acceptance/test_silence_journey.py``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient, TestServer

from bot.ingest.generic import parse_generic
from bot.oncall.settings import OncallSettings
from bot.runtime.app import Vigil
from bot.silences.matchers import Matcher
from bot.silences.spec import SilenceSpec
from bot.silences.windows import Window
from tests.conftest import MakeVigil
from tests.support import FakeClock, paged_vigil


async def _post(
    vigil: Vigil,
    clock: FakeClock,
    *,
    alertname: str = "LatencyHigh",
    service: str = "payments",
    status: str = "firing",
    severity: str = "critical",
) -> tuple[int | None, str]:
    body = {
        "title": f"{alertname} on {service}",
        "labels": {"alertname": alertname, "service": service, "severity": severity},
        "status": status,
    }
    [outcome] = await vigil.ingestor.ingest(parse_generic(body, now=clock()))
    return outcome.incident_id, outcome.action


def _spec(clock: FakeClock, minutes: float = 60, **over: object) -> SilenceSpec:
    fields: dict[str, object] = {
        "matchers": (Matcher("service", "payments"),),
        "starts_at": clock(),
        "ends_at": clock() + timedelta(minutes=minutes),
        "created_by": "alice",
        "comment": "db migration",
    }
    fields.update(over)
    return SilenceSpec(**fields)  # type: ignore[arg-type]


async def test_a_silenced_alert_pages_nobody_and_pages_when_the_silence_ends_while_it_fires(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    silence = await vigil.silences.create(_spec(clock))

    assert await _post(vigil, clock) == (None, "muted")
    clock.advance(minutes=1)
    assert await _post(vigil, clock) == (None, "muted")  # a repeat: counted, still muted
    assert chat.pages == []
    assert (await vigil.incidents.page(include_closed=True)).total == 0
    [alert] = await vigil.silences.firing()
    assert alert.count == 2
    assert alert.muted_by is not None
    assert alert.muted_by[0]["id"] == silence.id

    clock.advance(minutes=44)  # 15 min before the end: the channel is reminded
    await vigil.timers.run_due(clock())
    assert any(
        n.startswith(f"Silence {silence.short_id} ends in 15 min: 1 firing alert(s) under it")
        for n in chat.notices
    ), chat.notices
    clock.advance(minutes=15)
    await vigil.timers.run_due(clock())
    [(who, incident_id, _)] = chat.pages
    assert who == "@alice"
    view = await vigil.incidents.get(incident_id)
    assert view.state == "triggered"
    assert view.service == "payments"
    assert any("has ended and 1 alert(s) it held still fire" in n for n in chat.notices)
    assert [a for a in await vigil.silences.firing() if a.incident_id is None] == []


async def test_an_alert_resolved_while_silenced_is_not_released(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    await vigil.silences.create(_spec(clock, minutes=30))
    assert await _post(vigil, clock) == (None, "muted")
    assert await _post(vigil, clock, status="resolved") == (None, "resolved")
    clock.advance(minutes=31)
    await vigil.timers.run_due(clock())
    assert chat.pages == []
    assert (await vigil.incidents.page(include_closed=True)).total == 0


async def test_expiring_a_silence_early_releases_what_it_held_at_once(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    silence = await vigil.silences.create(_spec(clock))
    await _post(vigil, clock)
    other = await _post(vigil, clock, service="search")  # not matched: pages as usual
    assert other[1] == "opened"
    assert [p[1] for p in chat.pages] == [other[0]]
    ended = await vigil.silences.expire(silence.short_id, "bob")
    assert ended.expired_by == "bob"
    assert ended.state(clock()) == "expired"
    await vigil.timers.run_due(clock())
    assert len(chat.pages) == 2
    assert (await vigil.incidents.get(chat.pages[1][1])).service == "payments"


async def test_a_p1_mutes_its_symptoms_which_join_its_timeline_and_page_once_it_resolves(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    p1, _ = await _post(vigil, clock, alertname="PaymentsDown", severity="critical")
    assert p1 is not None
    assert (await vigil.incidents.get(p1)).severity == "P1"
    pages = len(chat.pages)

    symptom = await _post(vigil, clock, alertname="QueueBacklog", severity="warning")
    assert symptom == (None, "muted")
    assert len(chat.pages) == pages  # a symptom: no page
    timeline = (await vigil.incidents.get(p1)).timeline
    assert timeline[-1].kind == "alert_muted"
    assert timeline[-1].text == (
        "Firing, muted (nobody paged): QueueBacklog on payments; "
        f"inhibited by #{p1} (rule p1-mutes-symptoms)"
    )
    # critical alerts of the same service are not symptoms: they still page
    db_down, action = await _post(vigil, clock, alertname="DbDown")
    assert action == "opened"
    assert db_down is not None

    await vigil.incidents.resolve(p1, actor="alice")
    await vigil.timers.run_due(clock())
    still = [a.muted_by for a in await vigil.silences.firing() if a.incident_id is None]
    assert [r[0]["incident"] for r in still if r] == [db_down]  # the other P1 mutes it now
    await vigil.incidents.resolve(db_down, actor="alice")
    await vigil.timers.run_due(clock())
    opened = [a for a in await vigil.silences.firing() if a.title == "QueueBacklog on payments"]
    assert [a.incident_id is not None for a in opened] == [True]


async def test_a_silence_for_an_incident_expires_once_it_stayed_resolved(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, _chat = await paged_vigil(make_vigil, oncall)
    n, _ = await _post(vigil, clock)
    assert n is not None
    silence = await vigil.silences.create(
        _spec(clock, minutes=240, incident_id=n, expire_on_resolve=True)
    )
    assert (await vigil.incidents.get(n)).timeline[-1].kind == "silenced"
    await vigil.incidents.resolve(n, actor="alice")
    clock.advance(minutes=10)
    assert await _post(vigil, clock) == (None, "muted")  # a flap: still silenced
    clock.advance(minutes=20)
    await vigil.timers.run_due(clock())  # it fired 20 min ago: not yet
    assert (await vigil.silences.get(silence.id)).state(clock()) == "active"
    await _post(vigil, clock, status="resolved")
    clock.advance(minutes=31)
    await vigil.timers.run_due(clock())
    ended = await vigil.silences.get(silence.id)
    assert ended.state(clock()) == "expired"
    assert ended.expired_by == f"vigil (incident #{n} stayed resolved for 30 min)"


async def test_an_unused_silence_expires(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    silence = await vigil.silences.create(
        _spec(clock, minutes=600, expire_unused=timedelta(hours=2))
    )
    clock.advance(hours=1)
    await _post(vigil, clock)  # used at 03:00: counts from there
    clock.advance(hours=1)
    await vigil.timers.run_due(clock())
    assert (await vigil.silences.get(silence.id)).state(clock()) == "active"
    clock.advance(hours=1)
    await vigil.timers.run_due(clock())
    assert (await vigil.silences.get(silence.id)).state(clock()) == "expired"
    assert any("expired: it muted nothing for 2 h" in n for n in chat.notices), chat.notices


async def test_a_maintenance_window_hushes_and_announces_its_end(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    window = Window(
        name="db-migration",
        tz=ZoneInfo("Europe/Berlin"),
        start=datetime(2026, 11, 24, 2, 30),  # 01:30 UTC; the clock starts at 02:00 UTC
        duration=timedelta(hours=1),
        services=("payments",),
    )
    vigil, chat = await paged_vigil(make_vigil, oncall, maintenance=(window,))
    assert await _post(vigil, clock) == (None, "muted")
    [alert] = await vigil.silences.firing()
    assert alert.muted_by is not None
    assert alert.muted_by[0]["name"] == "db-migration"
    clock.advance(minutes=30)
    await vigil.timers.run_due(clock())
    assert len(chat.pages) == 1
    assert any(n.startswith("Maintenance window db-migration has ended") for n in chat.notices)


async def test_a_muted_alert_is_answered_muted_and_counted(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    await vigil.silences.create(_spec(clock))
    body = {"title": "Latency on payments", "labels": {"alertname": "L", "service": "payments"}}
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        resp = await client.post("/alerts/generic", json=body)
        assert resp.status == 200
        answer = await resp.json()
        assert answer["incidents"] == []
        assert [r["action"] for r in answer["results"]] == ["muted"]
        text = await (await client.get("/metrics")).text()
    assert 'vigil_alerts_muted_total{format="generic"} 1.0' in text
    assert chat.pages == []
