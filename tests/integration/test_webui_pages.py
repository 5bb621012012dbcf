"""The web view's pages beyond the incidents, over real HTTP on the real app and database
(SQLite and PostgreSQL): ``/oncall`` (a schedule with a vigil.yaml override and an imported
one, a rotation, an escalation policy), ``/models`` and ``/models/{model}`` (a registered
model with versions, a reference and predictions: figures and sparklines), ``/silences``
(a silence and the alert it mutes, a maintenance window, the inhibition rules, the expire
form and its CSRF check) and ``/status``; each behind the session, escaped, and with no
secret of the configuration anywhere on it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config.load import Settings, load_settings
from bot.core.secret import Secret
from bot.ingest.generic import parse_generic
from bot.runtime.app import Vigil
from bot.silences.matchers import Matcher
from bot.silences.spec import SilenceSpec
from bot.store.schema import SCHEMA_HEAD
from bot.webui.session import COOKIE, csrf_token
from tests.conftest import MakeVigil
from tests.integration.test_model_quality import (
    LABELS,
    MODEL,
    PREDICTIONS,
    post,
    rows,
    store_reference,
)
from tests.integration.test_model_versions import tagged
from tests.integration.test_webui import TOKEN, Client, page, serve, sign_in
from tests.support import FakeClock

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # a Tuesday, 03:00 in Berlin
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"  # 32 characters, as PagerDuty's are
HOOK_PASSWORD = "hunter2hunter2"
HOOK_TOKEN = "tok3nInTheQueryString0123456789"
WEBHOOK_SECRET = "whsec-0123456789abcdef0123456789"
CONFIG = f"""
schedules:
  ml-oncall:
    tz: Europe/Berlin
    layers:
      - name: primary
        rotation: weekly
        handoff: "2026-11-23T09:00"
        participants: ["@maya", "@sam"]
    overrides:
      - {{person: "@lee", start: "2026-11-24T00:00", end: "2026-11-24T06:00", reason: "swap"}}
rotations:
  infra:
    participants: ["@alice", "@bob"]
    shift: 1d
    handoff: "2026-11-23T09:00"
    tz: Europe/Berlin
escalation_policies:
  default:
    levels:
      - {{notify: ["schedule:ml-oncall"], wait: 5m}}
      - {{notify: ["rotation:infra", "@carol"], wait: 10m}}
    repeat: 1
maintenance:
  - name: db-upgrade
    start: "2026-11-29T02:00"
    duration: 2h
    rrule: "FREQ=WEEKLY;BYDAY=SU"
    timezone: Europe/Berlin
    services: [search]
    comment: weekly vacuum
notify:
  order: [pagerduty, webhook]
  pagerduty: {{url: "https://events.pagerduty.com/v2/enqueue"}}
  webhook: {{url: "https://ops:{HOOK_PASSWORD}@hooks.example.com/vigil?token={HOOK_TOKEN}"}}
"""
SECRETS = (TOKEN, ROUTING_KEY, HOOK_PASSWORD, HOOK_TOKEN, WEBHOOK_SECRET)
PAGES = ("/oncall", "/models", "/silences", "/status")
KIM = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
    b"DTSTAMP:20261120T000000Z\r\nUID:swap-1@team\r\n"
    b"DTSTART;TZID=Europe/Berlin:20261125T180000\r\nDTEND;TZID=Europe/Berlin:20261126T080000\r\n"
    b"SUMMARY:On call: @kim\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def configured(settings: Settings, tmp_path: Path, clock: FakeClock) -> Settings:
    clock.now = NOW
    path = tmp_path / "vigil.yaml"
    path.write_text(CONFIG)
    env = {
        "VIGIL_DATABASE_URL": settings.database_url,
        "VIGIL_API_TOKEN": TOKEN,
        "VIGIL_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "VIGIL_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    loaded = load_settings(path, env)
    return loaded


async def make(make_vigil: MakeVigil, configured: Settings) -> Vigil:
    return await make_vigil(
        oncall=configured.oncall,
        maintenance=configured.maintenance,
        notify=configured.notify,
        api_token=Secret(TOKEN),
    )


def text_of(html: str) -> str:
    """The page's text, tags dropped and spaces collapsed (what a reader sees)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def mute(vigil: Vigil, clock: FakeClock, comment: str) -> str:
    """A silence on payments and one alert it mutes; the silence's id."""
    spec = SilenceSpec(
        matchers=(Matcher("service", "payments"),),
        starts_at=clock(),
        ends_at=clock() + timedelta(hours=2),
        created_by="alice",
        comment=comment,
    )
    silence = await vigil.silences.create(spec)
    body = {
        "title": "LatencyHigh on payments",
        "labels": {"alertname": "LatencyHigh", "service": "payments", "severity": "critical"},
    }
    [outcome] = await vigil.ingestor.ingest(parse_generic(body, now=clock()))
    assert outcome.action == "muted"
    return silence.id


def csrf_of(client: Client) -> str:
    value = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value
    return csrf_token(TOKEN.encode(), value)


# --- the session guards every page -----------------------------------------------------------


async def test_each_page_asks_for_a_session_first(
    make_vigil: MakeVigil, configured: Settings
) -> None:
    async with serve(await make(make_vigil, configured)) as client:
        for path in (*PAGES, "/models/fraud-scorer"):
            status, _ = await page(client, path)
            assert status == 303, path
        resp = await client.post("/silences/abcd1234/expire", data={}, allow_redirects=False)
        assert resp.status == 303
        assert resp.headers["Location"].startswith("/login?next=")


# --- /oncall -----------------------------------------------------------------------------------


async def test_oncall_shows_who_now_until_when_next_overrides_policies_and_feeds(
    make_vigil: MakeVigil, configured: Settings
) -> None:
    vigil = await make(make_vigil, configured)
    await vigil.schedule_book.import_ics("ml-oncall", KIM, actor="@maya", source="swaps.ics")
    async with serve(vigil) as client:
        await sign_in(client)
        status, html = await page(client, "/oncall")
    assert status == 200
    assert html.count("<h1>") == 1
    assert "<h1>On call</h1>" in html
    seen = text_of(html)
    # ml-oncall: @lee covers until 06:00 Berlin (05:00 UTC), then @maya
    assert (
        "ml-oncall (schedule, Europe/Berlin) @lee Tue 24 Nov 06:00 CET (Tue 24 Nov 05:00 UTC"
        in (seen)
    )
    assert "@maya override (swap)" in seen
    # the rotation: @alice's day until Tue 09:00 Berlin, then @bob
    assert "infra (rotation, Europe/Berlin) @alice Tue 24 Nov 09:00 CET (Tue 24 Nov 08:00 UTC" in (
        seen
    )
    # the next shifts of ml-oncall include the imported swap, and it is listed as an override
    assert "@kim Wed 25 Nov 18:00 CET (Wed 25 Nov 17:00 UTC" in seen
    assert "override (imported from swaps.ics)" in seen
    assert "@kim Wed 25 Nov 18:00 CET (Wed 25 Nov 17:00 UTC, in 1d 15h) Thu 26 Nov 08:00 CET" in (
        seen
    )
    assert "to come" in seen
    assert "in effect" in seen  # @lee's, from vigil.yaml
    # the policy's levels, a schedule or rotation target with who it pages now
    assert "Policy default" in seen
    assert "schedule:ml-oncall (now: @lee)" in seen
    assert "rotation:infra (now: @alice) , @carol" in seen, seen
    assert "after 5 min without ack" in seen
    assert "Then again from level 1 every 15 min, once." in seen
    # the feed: its path and how to fetch it with the header, never a tokened link
    assert "<code>/api/v1/schedules/ml-oncall.ics</code>" in html
    assert 'href="/api/v1/schedules' not in html
    assert "Authorization: Bearer $VIGIL_API_TOKEN" in seen
    assert "<caption>The next 5 shifts of ml-oncall</caption>" in html
    assert '<th scope="col">Who</th>' in html


async def test_without_a_token_the_feed_is_a_link(
    make_vigil: MakeVigil, configured: Settings
) -> None:
    vigil = await make_vigil(oncall=configured.oncall)
    async with serve(vigil) as client:
        status, html = await page(client, "/oncall")
    assert status == 200
    assert '<a href="/api/v1/schedules/ml-oncall.ics">ml-oncall.ics</a>' in html


# --- /models -----------------------------------------------------------------------------------


async def test_models_show_versions_figures_and_charts(
    make_vigil: MakeVigil, configured: Settings, clock: FakeClock
) -> None:
    vigil = await make(make_vigil, configured)
    await vigil.registry.register(MODEL, "v7", stage="stable", actor="@maya")
    await vigil.registry.register(MODEL, "v8", actor="@maya")
    await store_reference(vigil, clock)
    calm, truths = rows(200, shifted=False, seed=7)
    async with serve(vigil) as client:
        await post(client, PREDICTIONS, {"rows": tagged(calm[:120], "v7")})
        await post(client, PREDICTIONS, {"rows": tagged(calm[120:], "v8")})
        await post(client, LABELS, {"rows": truths})
        await sign_in(client)
        status, html = await page(client, "/models")
        detail_status, detail = await page(client, f"/models/{MODEL}")
        missing, _ = await page(client, "/models/no-such-model")
    assert status == 200
    assert html.count("<h1>") == 1
    seen = text_of(html)
    assert f'<a href="/models/{MODEL}">{MODEL}</a>' in html
    assert "stable v7" in seen
    assert "v7 stable 100 % 120" in seen
    assert "v8 shadow 0 % 80" in seen
    assert "Accuracy, realized" in seen
    assert "(200 labels)" in seen
    # sparklines: inline SVG with their numbers as the text alternative
    svgs = re.findall(r'<svg class="spark" role="img" aria-label="([^"]*)"', html)
    assert len(svgs) == 4, svgs
    [estimated] = [s for s in svgs if s.startswith("estimated accuracy")]
    assert re.search(r"12 points from .*: no data, .*; last 9\d\.\d%", estimated), estimated
    [counted] = [s for s in svgs if s.startswith("rows per interval")]
    assert counted.endswith("last 200, lowest 0, highest 200"), counted
    assert "<title>estimated accuracy, 12 points" in html
    assert "<polyline" in html or "<circle" in html
    # one model's page: each version's own charts
    assert detail_status == 200
    assert f"<h1>Model {MODEL}</h1>" in detail
    assert "Version v7 over time" in detail
    assert "Version v8 over time" in detail
    v8_rows = [
        s
        for s in re.findall(r'aria-label="([^"]*)"', detail)
        if s.startswith("rows per interval") and s.endswith("last 80, lowest 0, highest 80")
    ]
    assert v8_rows
    assert missing == 404


async def test_a_registered_model_without_a_reference_says_how_to_watch_it(
    make_vigil: MakeVigil, configured: Settings
) -> None:
    vigil = await make(make_vigil, configured)
    await vigil.registry.register("churn", "v1", stage="stable", actor="@maya")
    async with serve(vigil) as client:
        await sign_in(client)
        status, html = await page(client, "/models")
    assert status == 200
    assert "Not watched: store a reference with `vigil model reference churn …`." in html
    assert "v1 stable 100 %" in text_of(html)


# --- /silences ---------------------------------------------------------------------------------


async def test_silences_show_what_they_mute_the_windows_and_the_rules(
    make_vigil: MakeVigil, configured: Settings, clock: FakeClock
) -> None:
    vigil = await make(make_vigil, configured)
    sid = await mute(vigil, clock, "db migration <script>alert('x')</script>")
    async with serve(vigil) as client:
        await sign_in(client)
        status, html = await page(client, "/silences")
    assert status == 200
    assert html.count("<h1>") == 1
    seen = text_of(html)
    assert f"<code>{sid[:8]}</code>" in html
    assert "active" in seen
    assert "service=&#34;payments&#34;" in html  # the matcher, escaped
    assert "alice" in seen
    assert "1 firing alert muted" in seen
    assert "LatencyHigh on payments" in seen
    # escaped: the comment's markup is text
    assert "<script>alert" not in html
    assert "db migration &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    # the window: not on now (a Tuesday), next Sunday 02:00 Berlin = 01:00 UTC
    assert "db-upgrade" in seen
    assert "FREQ=WEEKLY;BYDAY=SU" in seen
    assert "2026-11-29 01:00:00 UTC" in seen
    # the default inhibition rule
    assert "Inhibition rules" in seen
    for rule in vigil.silences.rules:
        assert rule.name in seen
    assert f'action="/silences/{sid}/expire"' in html
    assert 'aria-label="Expire silence' in html


async def test_the_expire_form_needs_its_csrf_field_and_releases_what_it_held(
    make_vigil: MakeVigil, configured: Settings, clock: FakeClock
) -> None:
    vigil = await make(make_vigil, configured)
    sid = await mute(vigil, clock, "db migration")
    async with serve(vigil) as client:
        await sign_in(client)
        resp = await client.post(f"/silences/{sid}/expire", allow_redirects=False)
        assert resp.status == 403
        resp = await client.post(
            f"/silences/{sid}/expire", data={"csrf": "forged"}, allow_redirects=False
        )
        assert resp.status == 403
        assert (await vigil.silences.get(sid)).state(clock()) == "active"
        [held] = await vigil.silences.firing()
        assert held.incident_id is None

        good = {"csrf": csrf_of(client)}
        for bad in ("nope!", "ffffffff-0000"):
            resp = await client.post(f"/silences/{bad}/expire", data=good, allow_redirects=False)
            assert resp.status == 404, bad
            assert "No such silence" in await resp.text()

        resp = await client.post(f"/silences/{sid}/expire", data=good, allow_redirects=False)
        assert resp.status == 303
        assert resp.headers["Location"] == f"/silences?expired={sid[:8]}"
        ended = await vigil.silences.get(sid)
        assert ended.state(clock()) == "expired"
        assert ended.expired_by == "web"
        await vigil.timers.run_due(clock())  # the end timer, due at once
        [released] = await vigil.silences.firing()
        assert released.incident_id is not None
        assert not released.muted_by
        status, html = await page(client, resp.headers["Location"])
    assert status == 200
    seen = text_of(html)
    assert f"Silence {sid[:8]} expired." in seen
    assert "No silence is active or pending." in seen
    assert "1 silence ended recently" in seen


# --- /status -----------------------------------------------------------------------------------


async def test_status_shows_health_schema_version_timers_and_outbox(
    make_vigil: MakeVigil, configured: Settings, clock: FakeClock
) -> None:
    vigil = await make(make_vigil, configured)
    await mute(vigil, clock, "db migration")  # plants the silence's end timers
    async with serve(vigil) as client:
        await sign_in(client)
        status, html = await page(client, "/status")
    assert status == 200
    assert html.count("<h1>") == 1
    seen = text_of(html)
    assert "Health ok" in seen
    assert "Database up;" in seen
    assert f"Schema {SCHEMA_HEAD} " in seen
    assert re.search(r"Vigil version \d+\.\d+", seen)
    assert "Follow-ups overdue none" in seen
    assert re.search(r"Timers pending [1-9]\d*, the next due", seen)
    assert "Slack outbox Slack is off" in seen
    assert "Sources" in seen
    assert "Dependencies" in seen


# --- nothing secret, anywhere --------------------------------------------------------------------


async def test_no_page_renders_a_secret(
    make_vigil: MakeVigil, configured: Settings, clock: FakeClock, settings: Settings
) -> None:
    vigil = await make(make_vigil, configured)
    await vigil.registry.register(MODEL, "v7", stage="stable", actor="@maya")
    await mute(vigil, clock, "db migration")
    secrets: list[str] = list(SECRETS)
    password = re.search(r"://[^:/@]+:([^@]+)@", settings.database_url)
    if password:  # PostgreSQL's URL carries one
        secrets.append(password.group(1))
    async with serve(vigil) as client:
        await sign_in(client)
        for path in (*PAGES, f"/models/{MODEL}"):
            status, html = await page(client, path)
            assert status == 200, path
            for secret in secrets:
                assert secret not in html, (path, secret)
