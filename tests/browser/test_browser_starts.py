"""The browser tests' own footing, proven before any page of the web view exists: Debian's
chromium starts under Playwright, reaches a real ``vigil serve`` on its loopback port, reads
what it answers, and leaves a screenshot where a person looks for one."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import SCREENSHOTS, Pages, Served, require_playwright

require_playwright()

from playwright.async_api import Page  # noqa: E402 (once we know it is installed)

pytestmark = pytest.mark.asyncio(loop_scope="session")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_the_browser_reads_healthz_from_vigil_serve(
    served: Served, pages: Pages, page: Page
) -> None:
    response = await page.goto(served.url("/healthz"))
    assert response is not None
    assert response.status == 200, await response.text()
    shown = json.loads(await page.locator("body").inner_text())
    assert shown["status"] == "ok", shown
    assert shown["database"] == "up", shown

    path = await pages.shot(page, "healthz")
    assert path == SCREENSHOTS / "test_the_browser_reads_healthz_from_vigil_serve-healthz.png"
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert pages.dialogs == []
    assert pages.errors == []


async def test_each_page_opens_in_a_context_of_its_own_without_cookies(
    served: Served, pages: Pages, page: Page
) -> None:
    await page.context.add_cookies([{"name": "left", "value": "over", "url": served.base}])
    other = await pages.open()
    assert await other.context.cookies() == []
    assert [c["name"] for c in await page.context.cookies()] == ["left"]
