"""Pages through PagerDuty and e-mail from a running Vigil, and acknowledgements both ways.

A P2 opened by an alert pages level 1 through the chat backend and through ``notify:``'s
channels: PagerDuty (a local stand-in of the Events API v2) takes it with our incident key
as the dedup key; acknowledging in Vigil acknowledges PagerDuty's incident; resolving in
PagerDuty (its signed v3 webhook to our endpoint) resolves ours, and is not echoed back.
When PagerDuty refuses the page, the person gets it by e-mail (a real SMTP server) and the
timeline says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text as sql

from bot.chat.backend import RecordingBackend
from bot.config.load import Settings, load_settings
from bot.core.errors import ConfigError
from bot.ingest.generic import parse_generic
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.pagerduty_standin import ROUTING_KEY, PagerDutyStandin, signature
from tests.smtp_standin import SmtpServer
from tests.support import FakeClock

WEBHOOK_SECRET = "pd-webhook-secret-1"
WEBHOOK = "/api/v1/pagerduty/webhook"


@pytest.fixture
async def pagerduty() -> AsyncIterator[PagerDutyStandin]:
    async with PagerDutyStandin() as standin:
        yield standin


@pytest.fixture
async def vigil(
    make_vigil: MakeVigil,
    settings: Settings,
    tmp_path: Path,
    pagerduty: PagerDutyStandin,
    smtp: SmtpServer,
) -> Vigil:
    """Overrides conftest's: a Vigil that pages @alice through the PagerDuty stand-in, then by
    e-mail."""
    path = tmp_path / "vigil.yaml"
    path.write_text(
        f"""
escalation:
  levels:
    - {{notify: ["@alice"], wait: 5m}}
notify:
  order: [pagerduty, email]
  pagerduty: {{url: "{pagerduty.url}"}}
  email:
    host: 127.0.0.1
    port: {smtp.port}
    sender: vigil@example.com
    starttls: false
    addresses: {{"@alice": alice@example.com}}
"""
    )
    env = {
        "VIGIL_DATABASE_URL": settings.database_url,
        "VIGIL_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "VIGIL_PAGERDUTY_WEBHOOK_SECRET": f"old-secret,{WEBHOOK_SECRET}",
    }
    loaded = load_settings(path, env)
    return await make_vigil(oncall=loaded.oncall, notify=loaded.notify)


async def open_p2(vigil: Vigil, clock: FakeClock) -> int:
    alert = {
        "title": "Accuracy below SLA on fraud-scorer",
        "labels": {"alertname": "ModelAccuracyBelowSLA", "model": "fraud-scorer", "sla": "0.9"},
        "value": 0.71,
    }
    [outcome] = await vigil.ingestor.ingest(parse_generic(alert, now=clock()))
    assert outcome.incident_id is not None
    return outcome.incident_id


async def timeline(vigil: Vigil, incident_id: int, kind: str) -> list[str]:
    return [e.text for e in (await vigil.incidents.get(incident_id)).timeline if e.kind == kind]


async def test_a_page_reaches_pagerduty_and_acks_and_resolves_mirror_both_ways(
    vigil: Vigil,
    clock: FakeClock,
    pagerduty: PagerDutyStandin,
    smtp: SmtpServer,
) -> None:
    chat = RecordingBackend()
    vigil.attach(chat)
    n = await open_p2(vigil, clock)
    assert [who for who, _, _ in chat.pages] == ["@alice"]
    (trigger,) = pagerduty.accepted("trigger")
    assert trigger.body["dedup_key"] == f"vigil:{n}"
    assert trigger.body["payload"]["severity"] == "error"  # P2
    assert await timeline(vigil, n, "notify") == ["Paged @alice via PagerDuty"]
    assert smtp.mailbox.mails == []  # PagerDuty took it: no e-mail as well

    await vigil.commands.run_incident(f"ack {n}", actor="@alice")
    incident = pagerduty.incident(f"vigil:{n}")
    assert incident is not None
    assert incident.status == "acknowledged"

    body = pagerduty.resolve_in_ui(f"vigil:{n}", by="Maya Lin")
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        resp = await client.post(
            WEBHOOK, data=body, headers={"X-PagerDuty-Signature": signature(body, WEBHOOK_SECRET)}
        )
        assert resp.status == 200, await resp.text()
        view = await vigil.incidents.get(n)
        assert view.state == "resolved"
        resolved_by = [e.actor for e in view.timeline if e.kind == "state"][-1]
        assert resolved_by == "Maya Lin (PagerDuty)"
        assert pagerduty.accepted("resolve") == []  # not echoed back to PagerDuty

        forged = await client.post(
            WEBHOOK, data=body, headers={"X-PagerDuty-Signature": signature(body, "guess")}
        )
        assert forged.status == 401
        assert (await forged.json())["field"] == "X-PagerDuty-Signature"
        again = await client.post(
            WEBHOOK, data=body, headers={"X-PagerDuty-Signature": signature(body, WEBHOOK_SECRET)}
        )
        assert (await again.json())["status"] == "unchanged"


async def test_an_ack_pagerduty_throttles_is_mirrored_later_by_a_durable_retry(
    vigil: Vigil, clock: FakeClock, pagerduty: PagerDutyStandin
) -> None:
    """PagerDuty must stop ringing even when it answered our acknowledgement with a 429."""
    n = await open_p2(vigil, clock)
    pagerduty.fail_next(times=1, status=429, retry_after=30)
    await vigil.commands.run_incident(f"ack {n}", actor="@alice")
    incident = pagerduty.incident(f"vigil:{n}")
    assert incident is not None
    assert incident.status == "triggered"  # throttled: not yet
    lines = await timeline(vigil, n, "notify")
    assert any("again at 02:00:30Z" in line for line in lines), lines
    clock.advance(seconds=30)
    await vigil.timers.run_due(clock())
    assert incident.status == "acknowledged"
    await vigil.timers.run_due(clock())
    assert len(pagerduty.accepted("acknowledge")) == 1


async def test_a_database_failure_while_mirroring_an_ack_answers_503_to_be_retried(
    vigil: Vigil,
    clock: FakeClock,
    pagerduty: PagerDutyStandin,
) -> None:
    """Our failure, not PagerDuty's: 503 with Retry-After so it redelivers, nothing changed."""
    n = await open_p2(vigil, clock)
    body = pagerduty.acknowledge_in_ui(f"vigil:{n}")
    async with vigil.db.session() as s, s.begin():  # every state change writes the timeline
        await s.exec(sql("DROP TABLE timeline_events"))  # type: ignore[call-overload]
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        resp = await client.post(
            WEBHOOK, data=body, headers={"X-PagerDuty-Signature": signature(body, WEBHOOK_SECRET)}
        )
        assert resp.status == 503, await resp.text()
        assert resp.headers["Retry-After"] == "5"
        reply = await resp.json()
    assert reply["error"] == "unavailable"
    assert f"incident #{n} was acknowledged" in reply["message"]
    assert "nothing was changed, retry" in reply["message"]
    async with vigil.db.session() as s, s.begin():
        result = await s.exec(  # type: ignore[call-overload]
            sql("SELECT state, acknowledged_at FROM incidents WHERE id = :id").bindparams(id=n)
        )
        assert tuple(result.one()) == ("triggered", None)


async def test_a_refused_page_falls_back_to_email_and_says_so(
    vigil: Vigil,
    clock: FakeClock,
    pagerduty: PagerDutyStandin,
    smtp: SmtpServer,
) -> None:
    pagerduty.respond_next(
        400,
        {"status": "invalid event", "message": "Event object is invalid", "errors": ["bad"]},
    )
    n = await open_p2(vigil, clock)
    (line,) = await timeline(vigil, n, "notify")
    assert line.startswith("PagerDuty refused the page (Event object is invalid")
    assert line.endswith("paged @alice by e-mail instead")
    (mail,) = smtp.mailbox.mails
    assert mail.rcpt_tos == ["alice@example.com"]
    assert f"[P2] #{n}" in smtp.mailbox.message().get("Subject", "")


def test_pagerduty_without_its_key_in_the_environment_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text("notify:\n  order: [pagerduty]\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    assert caught.value.key == "notify.pagerduty"
    assert "VIGIL_PAGERDUTY_ROUTING_KEY" in str(caught.value)
