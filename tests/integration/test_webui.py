"""The web view over real HTTP on the real app and database: signing in, the incident table
(columns, badges, every filter, sorting, paging, bad filters), one incident's page (merged
timeline and its kind filter, evidence charts, related incidents, the post-mortem draft),
escaping and the security headers.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
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
    return await client.post(
        "/login", data={"token": token, "next": target}, allow_redirects=False
    )


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
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain http here
        assert TOKEN not in cookie
        status, html = await page(client, "/incidents?state=all")
        assert status == 200 and "<h1>Incidents</h1>" in html


async def test_a_wrong_token_is_the_form_again_with_401(make_vigil: MakeVigil) -> None:
    async with serve(await make_vigil(api_token=Secret(TOKEN))) as client:
        resp = await sign_in(client, token="nope")
        assert resp.status == 401
        html = await resp.text()
        assert "That token is not right" in html and 'name="token"' in html
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
        assert resp.status == 303 and resp.headers["Location"] == "/login"
        assert (await page(client, "/incidents"))[0] == 303


async def test_without_a_token_the_pages_are_open(client: Client) -> None:
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/incidents"
    status, html = await page(client, "/incidents")
    assert status == 200
    assert "Sign out" not in html
    assert (await client.get("/login", allow_redirects=False)).status == 303
