"""What the web view's journeys share: signing in as a person does, posting alerts the way a
monitor does, silencing as ``amtool`` does, and reading back what a page shows (which
incidents its table links to, where the keyboard's focus is and whether a person can see
it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import Served

SCRIPT_TITLE = '<script>alert("xss")</script> checkout broken'
"""A title that runs a script wherever a page writes it unescaped."""

SCRIPT_LABEL = "<img src=x onerror=alert('label')>"

INCIDENT_LINK = re.compile(r"/incidents/(\d+)$")


@dataclass(frozen=True)
class Seeded:
    """The incidents one module's alerts opened: a P1 on payments, a P3 on search, and a
    P4 whose title and labels carry markup."""

    payments: int
    search: int
    script: int


def _alert(title: str, severity: str, **labels: str) -> dict[str, Any]:
    return {"title": title, "severity": severity, "labels": labels}


async def _post(served: Served, body: dict[str, Any]) -> list[int]:
    headers = {"Authorization": f"Bearer {served.ingest_token}"}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http,
        http.post(served.url("/alerts/generic"), json=body, headers=headers) as resp,
    ):
        assert resp.status == 200, await resp.text()
        answer = await resp.json()
    return [int(r["incident_id"]) for r in answer["results"]]


async def seed(served: Served) -> Seeded:
    """Post the three alerts through the HTTP API (the ingest token), then a second payments
    instance, so the P1's timeline holds an ``alert`` line beside its ``opened`` one."""
    payments, search, script = await _post(
        served,
        {
            "alerts": [
                _alert("Payments API failing", "critical", alertname="PaymentsDown",
                       service="payments", instance="web-1"),
                _alert("Search latency above target", "warning", alertname="SearchSlow",
                       service="search"),
                _alert(SCRIPT_TITLE, "info", alertname="Injected", service="checkout",
                       owner=SCRIPT_LABEL),
            ]
        },
    )  # fmt: skip
    [joined] = await _post(
        served,
        _alert("Payments API failing", "critical", alertname="PaymentsDown",
               service="payments", instance="web-2"),
    )  # fmt: skip
    assert joined == payments
    return Seeded(payments=payments, search=search, script=script)


async def silence(served: Served, service: str, comment: str) -> str:
    """A silence of ``service`` for an hour, posted as ``amtool`` does (Alertmanager's API v2
    JSON, the API token); its id."""
    now = datetime.now(UTC)
    body = {
        "matchers": [{"name": "service", "value": service, "isRegex": False, "isEqual": True}],
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
        "createdBy": "browser-test",
        "comment": comment,
    }
    headers = {"Authorization": f"Bearer {served.api_token}"}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http,
        http.post(served.url("/api/v2/silences"), json=body, headers=headers) as resp,
    ):
        assert resp.status == 200, await resp.text()
        answer = await resp.json()
    sid: str = answer["silenceID"]
    return sid


def path_of(url: str) -> str:
    return urlsplit(url).path


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


async def sign_in(page: Page, served: Served, next_path: str = "/incidents") -> None:
    """Sign in through the login form, as a person does, and land on ``next_path``."""
    await page.goto(served.url("/login?" + urlencode({"next": next_path})))
    await page.get_by_label("API token").fill(served.api_token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(served.url(next_path))


async def linked_incidents(page: Page) -> list[int]:
    """The incident ids the incidents table links to, top to bottom."""
    hrefs: list[str | None] = await page.locator("table a[href]").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    found = [INCIDENT_LINK.search(h or "") for h in hrefs]
    return list(dict.fromkeys(int(m.group(1)) for m in found if m))


def filter_form(page: Page) -> Locator:
    """The incidents page's filter form (the GET form holding the severity boxes)."""
    return page.locator("form", has=page.locator("input[name=severity]"))


async def submit(form: Locator) -> None:
    """Submit ``form`` with its own button, as a person does."""
    buttons = "button[type=submit], button:not([type]), input[type=submit]"
    await form.locator(buttons).first.click()


FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  return {
    tag: e.tagName.toLowerCase(),
    name: e.getAttribute('name'),
    href: e.getAttribute('href'),
    visible: outline || (s.boxShadow && s.boxShadow !== 'none'),
  };
}"""
"""Where the focus is, and whether a person can see it (an outline or a shadow)."""
