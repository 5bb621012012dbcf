"""Fixtures for the real-browser tests of the web view (issue 19).

Debian's own ``chromium`` (``apt install chromium``), headless, is driven by Playwright for
Python through ``executable_path``: Playwright never downloads a browser of its own here
(``PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1``). Without Playwright (the ``browser`` dependency
group) or without ``/usr/bin/chromium`` these tests skip, saying what to install; with
``CI=true`` they fail instead, so a CI run can never pass without having clicked through.

Cost is kept small: one browser for the whole session (each test gets fresh contexts, so no
cookie leaks between tests) and one ``vigil serve`` child per test module. Both live on the
session's event loop (``loop_scope="session"``; each module marks its tests the same way).
Every wait is bounded (Playwright's timeouts, ``expect``'s); nothing sleeps.

Screenshots go to ``test-output/screenshots/`` (git-ignored): ``<test>-<step>.png`` at each
step a test calls ``pages.shot`` for, and ``<test>.png`` of every page still open when a
test fails.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest
import pytest_asyncio

from tests.integration.procs import BIN, Child, clean_env, free_port, in_ci, running

NO_PLAYWRIGHT = "no Playwright: install the browser dependency group (uv sync --group browser)"
try:
    from playwright.async_api import (
        Browser,
        BrowserContext,
        Dialog,
        Page,
        ViewportSize,
        async_playwright,
        expect,
    )
    from playwright.async_api import Error as PlaywrightError
except ImportError as exc:  # the test modules skip (or fail under CI=true): require_playwright
    MISSING: str | None = f"{NO_PLAYWRIGHT} ({exc})"
else:
    MISSING = None


def require_playwright() -> None:
    """Called at the top of each browser test module, before it imports Playwright: skips
    the module without it, saying what to install; with ``CI=true`` it fails instead."""
    if MISSING is None:
        return
    if in_ci():
        pytest.fail(MISSING + " (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(MISSING, allow_module_level=True)


CHROMIUM = Path("/usr/bin/chromium")
"""Debian's chromium; the only browser these tests launch."""

WAIT_MS = 10_000
"""The bound on every Playwright wait (a loaded 2-core machine is slow, never this slow)."""

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

API_TOKEN = "browser-api-token"
INGEST_TOKEN = "browser-ingest-token"

SERVE_CONFIG = """
sources:
  system: false
"""
"""No host or GPU polling: the incidents a page shows are the ones the test posted."""

_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:  # pragma: no cover - plumbing
    """Keep the call phase's report on the item, so ``pages`` knows whether the test failed."""
    report: pytest.TestReport = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


def _skip_or_fail(message: str) -> NoReturn:
    if in_ci():
        pytest.fail(message + " (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(message)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless chromium for the whole session."""
    if not os.access(CHROMIUM, os.X_OK):
        _skip_or_fail(f"no {CHROMIUM}: install Debian's chromium (apt install chromium)")
    args = ["--disable-dev-shm-usage"]  # containers' /dev/shm is small
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # chromium's sandbox refuses to run as root
    async with async_playwright() as playwright:
        try:
            launched = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=args, timeout=60_000
            )
        except PlaywrightError as exc:
            _skip_or_fail(f"{CHROMIUM} did not start under Playwright: {exc}")
        expect.set_options(timeout=WAIT_MS)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass(frozen=True)
class Served:
    """A running ``vigil serve``: where it answers and the tokens it takes."""

    base: str
    child: Child
    api_token: str = API_TOKEN
    ingest_token: str = INGEST_TOKEN

    def url(self, path: str) -> str:
        return self.base + path


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """``vigil serve`` for this module: SQLite in a temporary folder, a free loopback port,
    the API and ingest tokens set; ready on ``/healthz``, stopped afterwards."""
    workdir = tmp_path_factory.mktemp("serve")
    (workdir / "vigil.yaml").write_text(SERVE_CONFIG)
    port = free_port()
    env = clean_env(
        VIGIL_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'vigil.db'}",
        VIGIL_API_TOKEN=API_TOKEN,
        VIGIL_INGEST_TOKEN=INGEST_TOKEN,
    )
    argv = [str(BIN / "vigil"), "serve", "--port", str(port)]
    async with running("serve", argv, log_path=workdir / "serve.log", cwd=workdir, env=env) as (
        child
    ):
        base = f"http://127.0.0.1:{port}"
        await child.wait_http(f"{base}/healthz", within=60)
        yield Served(base, child)


def _file_name(nodeid_name: str) -> str:
    """A test's name as a file name (parameters included, nothing a shell trips on)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid_name).strip("_")


@dataclass
class Pages:
    """Opens pages in fresh browser contexts, saves screenshots, and records what a person
    would have seen pop up (dialogs, which it dismisses) and the script errors of each page."""

    browser: Browser
    name: str
    contexts: list[BrowserContext] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def open(self, *, viewport: ViewportSize | None = None) -> Page:
        """A new page in a context of its own (no cookies shared with other pages)."""
        context = await self.browser.new_context(
            viewport=viewport or {"width": 1280, "height": 800}
        )
        context.set_default_timeout(WAIT_MS)
        context.set_default_navigation_timeout(WAIT_MS)
        self.contexts.append(context)
        return await self.tab(context)

    async def tab(self, context: BrowserContext) -> Page:
        """Another page in ``context`` (its cookies: the same signed-in person)."""
        page = await context.new_page()
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        return page

    async def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    async def shot(self, page: Page, step: str) -> Path:
        """Save what ``page`` shows now as ``<test>-<step>.png``; returns the path."""
        path = SCREENSHOTS / f"{self.name}-{_file_name(step)}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path

    async def shoot_all(self) -> None:
        """``<test>.png`` (then ``<test>-page2.png``, …) of every page still open."""
        open_pages = [p for c in self.contexts for p in c.pages if not p.is_closed()]
        for n, page in enumerate(open_pages, start=1):
            suffix = "" if n == 1 else f"-page{n}"
            try:
                await page.screenshot(path=str(SCREENSHOTS / f"{self.name}{suffix}.png"))
            except PlaywrightError:  # a crashed page: the failure says more than its picture
                continue

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def pages(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Pages]:
    """A test's pages; their screenshots on failure; closed afterwards."""
    name = _file_name(request.node.name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for stale in [*SCREENSHOTS.glob(f"{name}.png"), *SCREENSHOTS.glob(f"{name}-*.png")]:
        stale.unlink()
    opened = Pages(browser, name)
    try:
        yield opened
    finally:
        report = request.node.stash.get(_CALL_REPORT, None)
        if report is not None and report.failed:
            await opened.shoot_all()
        await opened.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(pages: Pages) -> Page:
    """One desktop-sized page (1280x800) in a fresh context."""
    return await pages.open()
