"""The web view over real HTTP on the real app and database: signing in, the incident table
(columns, badges, every filter, sorting, paging, bad filters), one incident's page (merged
timeline and its kind filter, evidence charts, related incidents, the post-mortem draft),
escaping and the security headers.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.chat.slack.tables import SlackCard
from bot.core.secret import Secret
from bot.runtime.app import Vigil
from bot.store.tables import Alert, Page
from bot.webui.session import COOKIE, csrf_token
from tests.conftest import MakeVigil
from tests.support import FakeClock

Client = TestClient[Any, Any]
TOKEN = "web-t0ken"
GENERIC = "/alerts/generic"
PAY = {"alertname": "HighErrorRate", "service": "payments"}
CHURN = {"alertname": "ModelAccuracyBelowSLA", "model": "churn", "sla": "0.90", "version": "v7"}
DRIFT = {"alertname": "InputDrift", "model": "fraud-scorer"}


@asynccontextmanager
async def serve(vigil: Vigil) -> AsyncIterator[Client]:
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as c:
        yield c


async def post_alert(client: Client, labels: dict[str, str], value: float, **extra: Any) -> int:
    payload = {"title": f"{labels['alertname']} alert", "labels": labels, "value": value, **extra}
    resp = await client.post(GENERIC, json=payload)
    body = await resp.json()
    assert resp.status == 200, body
    incident_id: int = body["incidents"][0]
    return incident_id


def listed(html: str) -> list[int]:
    """The incident ids of the table's rows, in order."""
    return [int(n) for n in re.findall(r'<td><a href="/incidents/(\d+)">#', html)]


async def page(client: Client, path: str, **kwargs: Any) -> tuple[int, str]:
    resp = await client.get(path, allow_redirects=False, **kwargs)
    return resp.status, await resp.text()


async def sign_in(client: Client, token: str = TOKEN, target: str = "/incidents") -> Any:
    return await client.post("/login", data={"token": token, "next": target}, allow_redirects=False)


# --- signing in ------------------------------------------------------------------------------


async def test_a_page_without_a_session_goes_to_login_and_back(make_vigil: MakeVigil) -> None:
    async with serve(await make_vigil(api_token=Secret(TOKEN))) as client:
        resp = await client.get("/incidents?state=all", allow_redirects=False)
        assert resp.status == 303
        assert resp.headers["Location"] == "/login?next=%2Fincidents%3Fstate%3Dall"
        status, html = await page(client, resp.headers["Location"])
        assert status == 200
        assert '<label for="token">API token</label>' in html
        assert 'type="password" id="token" name="token"' in html
        assert ">Sign in</button>" in html
        resp = await sign_in(client, target="/incidents?state=all")
        assert resp.status == 303
        assert resp.headers["Location"] == "/incidents?state=all"
        cookie = resp.headers["Set-Cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert "Path=/" in cookie
        assert "Secure" not in cookie  # plain http here
        assert TOKEN not in cookie
        status, html = await page(client, "/incidents?state=all")
        assert status == 200
        assert "<h1>Incidents</h1>" in html


async def test_a_wrong_token_is_the_form_again_with_401(make_vigil: MakeVigil) -> None:
    async with serve(await make_vigil(api_token=Secret(TOKEN))) as client:
        resp = await sign_in(client, token="nope")
        assert resp.status == 401
        html = await resp.text()
        assert "That token is not right" in html
        assert 'name="token"' in html
        assert COOKIE not in resp.headers.get("Set-Cookie", "")
        assert (await page(client, "/incidents"))[0] == 303


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
async def test_login_never_redirects_off_site(make_vigil: MakeVigil, target: str) -> None:
    async with serve(await make_vigil(api_token=Secret(TOKEN))) as client:
        resp = await sign_in(client, target=target)
        assert resp.status == 303
        assert resp.headers["Location"] == "/incidents"


async def test_a_forged_or_expired_cookie_is_no_session(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    async with serve(await make_vigil(api_token=Secret(TOKEN))) as client:
        client.session.cookie_jar.update_cookies({COOKIE: "99999999999.deadbeef"})
        assert (await page(client, "/incidents"))[0] == 303
        await sign_in(client)
        assert (await page(client, "/incidents"))[0] == 200
        clock.advance(hours=12, seconds=1)
        assert (await page(client, "/incidents"))[0] == 303


async def test_logout_needs_its_csrf_field_and_clears_the_cookie(make_vigil: MakeVigil) -> None:
    async with serve(await make_vigil(api_token=Secret(TOKEN))) as client:
        await sign_in(client)
        _, html = await page(client, "/incidents")
        value = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value
        expected = csrf_token(TOKEN.encode(), value)
        assert f'name="csrf" value="{expected}"' in html
        resp = await client.post("/logout", data={"csrf": "wrong"}, allow_redirects=False)
        assert resp.status == 403
        assert (await page(client, "/incidents"))[0] == 200  # still signed in
        resp = await client.post("/logout", data={"csrf": expected}, allow_redirects=False)
        assert resp.status == 303
        assert resp.headers["Location"] == "/login"
        assert (await page(client, "/incidents"))[0] == 303


async def test_without_a_token_the_pages_are_open(client: Client) -> None:
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Location"] == "/incidents"
    status, html = await page(client, "/incidents")
    assert status == 200
    assert "Sign out" not in html
    assert (await client.get("/login", allow_redirects=False)).status == 303


# --- the incident table ----------------------------------------------------------------------


@pytest.fixture
async def three(client: Client, vigil: Vigil, clock: FakeClock) -> dict[str, int]:
    """P3 drift (3 h ago, resolved), P2 churn@v7, P1 payments (newest), an hour apart."""
    ids = {"drift": await post_alert(client, DRIFT, 0.31)}
    clock.advance(hours=1)
    ids["churn"] = await post_alert(client, CHURN, 0.71)
    clock.advance(hours=1)
    ids["pay"] = await post_alert(client, PAY, 0.075)
    clock.advance(hours=1, minutes=12)
    await vigil.incidents.resolve(ids["drift"], actor="@alice")
    return ids


async def test_the_table_shows_every_column(
    client: Client, vigil: Vigil, clock: FakeClock, three: dict[str, int]
) -> None:
    pay, churn = three["pay"], three["churn"]
    await vigil.incidents.assign(churn, "@carol", actor="@carol")
    async with vigil.db.session() as s, s.begin():
        s.add(
            Page(
                incident_id=pay, step=0, level=1, target="@bob", channel="console", sent_at=clock()
            )
        )
        s.add(SlackCard(incident_id=pay, channel="C0PAY", ts="1.2", posted_at=clock()))
        s.add(
            Alert(
                incident_id=None,
                fingerprint="f" * 16,
                source="generic",
                status="firing",
                title="muted",
                labels={**PAY, "instance": "b"},
                annotations={},
                starts_at=clock(),
                first_seen=clock(),
                last_seen=clock(),
                muted_by=[{"kind": "silence", "silence": "s1"}],
            )
        )
    status, html = await page(client, "/incidents")
    assert status == 200
    assert "<caption>" in html
    assert '<th scope="col">' in html
    assert listed(html) == [pay, churn]  # open ones, P1 first
    assert "Showing 2 of 2" in html
    row = html[html.index(f'href="/incidents/{pay}"') :].split("</tr>")[0]
    assert '<span class="badge sev-P1">P1</span>' in row
    assert "triggered" in row
    assert "payments" in row
    assert "HighErrorRate alert" in row
    assert "1 h 12 min" in row  # age
    assert "paged: @bob" in row
    assert '<span class="badge muted">muted 1</span>' in row
    assert 'href="https://slack.com/app_redirect?channel=C0PAY"' in row
    churn_row = html[html.index(f'href="/incidents/{churn}"') :].split("</tr>")[0]
    assert "churn@v7" in churn_row
    assert "@carol" in churn_row
    assert "Slack" not in churn_row
    assert "<td>1</td>" in churn_row  # one alert


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=all", ["pay", "churn", "drift"]),
        ("state=resolved", ["drift"]),
        ("state=triggered", ["pay", "churn"]),
        ("state=all&severity=P1&severity=P3", ["pay", "drift"]),
        ("severity=P2", ["churn"]),
        ("state=all&service=payments", ["pay"]),
        ("state=all&model=churn", ["churn"]),
        ("state=all&q=drift", ["drift"]),
        ("state=all&q=%25", []),  # a LIKE wildcard is a plain character
        ("state=all&since=2h30m", ["pay", "churn"]),
        ("state=all&until=2h30m", ["drift"]),
        ("state=all&since=2026-11-24T03:30:00Z", ["pay"]),
        ("state=all&until=2026-11-25", ["pay", "churn", "drift"]),
        ("state=all&sort=id", ["drift", "churn", "pay"]),
        ("state=all&sort=-id", ["pay", "churn", "drift"]),
        ("state=all&sort=-severity", ["drift", "churn", "pay"]),
        ("state=all&sort=age", ["pay", "churn", "drift"]),
        ("state=all&sort=-age", ["drift", "churn", "pay"]),
        ("state=all&sort=-state", ["drift", "pay", "churn"]),
    ],
)
async def test_every_filter_and_sort_is_a_link(
    client: Client, three: dict[str, int], query: str, expected: list[str]
) -> None:
    status, html = await page(client, f"/incidents?{query}")
    assert status == 200, html
    assert listed(html) == [three[name] for name in expected]
    # the form shows what is in force, so submitting it again gives the same view
    if "service=payments" in query:
        assert 'name="service" value="payments"' in html


async def test_paging_keeps_the_filters(client: Client, clock: FakeClock) -> None:
    for n in range(53):
        await post_alert(client, {"alertname": f"A{n}", "service": "svc"}, 1.0)
    await post_alert(client, {"alertname": "Other", "service": "else"}, 1.0)
    status, html = await page(client, "/incidents?service=svc&sort=-id")
    assert "Showing 50 of 53" in html
    assert len(listed(html)) == 50
    nxt = re.search(r'<a href="(/incidents\?[^"]*)" rel="next">', html)
    assert nxt is not None
    link = nxt.group(1).replace("&amp;", "&")
    assert "service=svc" in link
    assert "sort=-id" in link
    assert "page=2" in link
    status, html = await page(client, link)
    assert status == 200
    assert "Showing 3 of 53" in html
    assert len(listed(html)) == 3
    # the column headings sort and keep the filters too
    assert 'href="/incidents?service=svc&amp;sort=id"' in html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("severity=P9", "severity"),
        ("state=sleeping", "state"),
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
        ("sort=colour", "sort"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("q=" + "x" * 300, "q"),
    ],
)
async def test_a_bad_filter_is_400_beside_its_field(client: Client, query: str, field: str) -> None:
    status, html = await page(client, f"/incidents?{query}")
    assert status == 400
    assert f'id="{field}-error"' in html
    assert "<h1>Incidents</h1>" in html
    assert "<table" not in html


async def test_partial_is_the_table_alone(client: Client, three: dict[str, int]) -> None:
    status, html = await page(client, "/incidents?partial=1")
    assert status == 200
    assert "<html" not in html
    assert "<table" in html
    assert listed(html) == [three["pay"], three["churn"]]
    _, whole = await page(client, "/incidents")
    nonce = re.search(r'<script nonce="([^"]+)">', whole)
    assert nonce is not None
    assert "partial" in whole
    assert "15000" in whole


# --- one incident ----------------------------------------------------------------------------


async def test_the_incident_page_merges_the_timeline_and_filters_it_by_kind(
    client: Client, vigil: Vigil, clock: FakeClock
) -> None:
    pay = await post_alert(client, PAY, 0.075)
    clock.advance(minutes=2)
    await vigil.incidents.acknowledge(pay, actor="@bob")
    clock.advance(minutes=1)
    await vigil.incidents.note(pay, "rolled back the deploy", actor="@bob")
    status, html = await page(client, f"/incidents/{pay}")
    assert status == 200
    assert html.count("<h1>") == 1
    assert '<span class="badge sev-P1">P1</span>' in html
    view = await vigil.incidents.get(pay)
    assert str(view.severity_reason).split()[0] in html
    kinds = re.findall(r'<span class="kind">([a-z_]+)</span>', html)
    assert kinds == ["opened", "alert", "severity", "state", "note"]  # newest last
    assert 'name="kind" value="note"' in html
    status, html = await page(client, f"/incidents/{pay}?kind=note&kind=state")
    assert status == 200
    assert set(re.findall(r'<span class="kind">([a-z_]+)</span>', html)) == {"note", "state"}
    assert 'value="note" checked' in html
    assert (await page(client, f"/incidents/{pay}?kind=%3Cx%3E"))[0] == 400


async def test_an_unknown_incident_is_a_404_page(client: Client) -> None:
    for path in ("/incidents/999", "/incidents/abc", "/incidents/0"):
        status, html = await page(client, path)
        assert status == 404
        assert "No such incident" in html
        assert "<html" in html


async def test_evidence_charts_show_inline_and_nothing_else_is_served(
    client: Client, vigil: Vigil, tmp_path: Path
) -> None:
    pay = await post_alert(client, PAY, 0.075)
    other = await post_alert(client, DRIFT, 0.3)
    charts = vigil.settings.evidence_dir
    charts.mkdir(parents=True, exist_ok=True)
    png = b"\x89PNG\r\n\x1a\nfake"
    (charts / f"incident-{pay}-accuracy.png").write_bytes(png)
    (charts / f"incident-{other}-accuracy.png").write_bytes(png)
    (tmp_path / "secret.png").write_bytes(b"secret")
    await vigil.incidents.record(
        pay,
        kind="evidence",
        actor="vigil",
        text="Chart attached",
        data={"path": str(charts / f"incident-{pay}-accuracy.png"), "title": "Accuracy"},
    )
    _, html = await page(client, f"/incidents/{pay}")
    src = f"/incidents/{pay}/evidence/incident-{pay}-accuracy.png"
    assert f'<img src="{src}"' in html
    resp = await client.get(src)
    assert resp.status == 200
    assert resp.content_type == "image/png"
    assert await resp.read() == png
    for bad in (
        f"/incidents/{pay}/evidence/incident-{other}-accuracy.png",  # another incident's
        f"/incidents/{pay}/evidence/..%2Fsecret.png",
        f"/incidents/{pay}/evidence/%2E%2E%2Fsecret.png",
        f"/incidents/{other}/evidence/incident-{pay}-accuracy.png",
    ):
        assert (await client.get(bad, allow_redirects=False)).status == 404, bad


async def test_related_incidents_and_the_postmortem_draft(
    client: Client, vigil: Vigil, clock: FakeClock
) -> None:
    first = await post_alert(client, PAY, 0.075)
    await vigil.incidents.resolve(first, actor="@bob")
    await vigil.postmortems.draft(first, actor="@bob")
    clock.advance(hours=1)
    second = await post_alert(client, PAY, 0.08)
    _, html = await page(client, f"/incidents/{second}")
    assert f'follows: <a href="/incidents/{first}">#{first}</a>' in html
    _, html = await page(client, f"/incidents/{first}")
    assert f'<a href="/incidents/{second}">#{second}</a>' in html
    assert '<div class="postmortem">' in html
    assert "<h2>Post-mortem: #" in html
    assert "<ul>" in html  # the draft's lists are lists


# --- safe by default -------------------------------------------------------------------------


async def test_every_value_is_escaped(client: Client, vigil: Vigil) -> None:
    evil = "<script>alert(1)</script>"
    labels = {"alertname": "Evil", "service": evil, "note": evil}
    resp = await client.post(GENERIC, json={"title": evil, "labels": labels, "value": 1.0})
    incident = (await resp.json())["incidents"][0]
    await vigil.incidents.note(incident, f"**{evil}** `{evil}`", actor=evil)
    await vigil.incidents.resolve(incident, actor="@bob")
    await vigil.postmortems.draft(incident, actor="@bob")
    for path in (
        "/incidents?state=all",
        f"/incidents?state=all&q={evil}",
        f"/incidents/{incident}",
        f"/incidents?service={evil}&state=sleeping",
    ):
        _, html = await page(client, path)
        assert "<script>alert(1)" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


async def test_the_security_headers_and_no_secret(make_vigil: MakeVigil) -> None:
    vigil = await make_vigil(api_token=Secret(TOKEN))
    async with serve(vigil) as client:
        for path in ("/login", "/static/vigil.css"):
            resp = await client.get(path)
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["X-Frame-Options"] == "DENY"
            assert resp.headers["Referrer-Policy"] == "same-origin"
            csp = resp.headers["Content-Security-Policy"]
            assert "default-src 'self'" in csp
            assert "unsafe-inline" not in csp
        await sign_in(client)
        resp = await client.get("/incidents")
        html = await resp.text()
        nonce = re.search(r'<script nonce="([^"]+)">', html)
        assert nonce is not None
        assert f"script-src 'nonce-{nonce.group(1)}'" in resp.headers["Content-Security-Policy"]
        assert TOKEN not in html
        assert '<html lang="en">' in html
        assert 'name="viewport"' in html
        for href in ("/incidents", "/oncall", "/models", "/silences", "/status"):
            assert f'<a href="{href}"' in html
        assert "http://" not in html.replace("http://localhost", "")
        assert "https://cdn" not in html
