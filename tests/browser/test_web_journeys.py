"""What a person sees in Vigil's web view, clicked through in a real chromium against a real
``vigil serve``: signing in, filtering the incidents (the filters kept in the URL, so a
filtered view is a link), opening one and filtering its timeline, the nav to the on-call
page and every nav page on a phone's screen, a silence made through the API seen and
expired on its page, markup in an alert shown as text, and the keyboard.

The alerts are posted once per module through the HTTP API, as a monitor would: a P1 on
payments (two instances, so its timeline holds an alert line beside "Opened"), a P3 on
search, and a P4 whose title and labels carry ``<script>`` and an ``onerror`` image.
Screenshots of the steps go to ``test-output/screenshots/``.
"""

from __future__ import annotations

import re

import pytest
import pytest_asyncio

from tests.browser.conftest import Pages, Served, require_playwright

require_playwright()

from playwright.async_api import Page, ViewportSize, expect  # noqa: E402 (it is installed)

from tests.browser.web import (  # noqa: E402
    FOCUSED,
    INCIDENT_LINK,
    SCRIPT_TITLE,
    Seeded,
    filter_form,
    linked_incidents,
    path_of,
    query_of,
    seed,
    sign_in,
    silence,
    submit,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

FILTERS = ("severity", "state", "service", "model", "q", "sort")
"""The incidents page's filter inputs, by name (the GET parameters of a filtered view)."""

NAV = ("Incidents", "On call", "Models", "Silences", "Status")
PHONE: ViewportSize = {"width": 375, "height": 812}
NAV_PAGES = (
    ("Incidents", "/incidents", "Incidents"),
    ("On call", "/oncall", "On call"),
    ("Models", "/models", "Models"),
    ("Silences", "/silences", "Silences"),
    ("Status", "/status", "status"),
)
"""Each nav link, the page it opens and words of that page's one heading."""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(served: Served) -> Seeded:
    return await seed(served)


async def test_signing_in_takes_the_right_token_only(
    served: Served, seeded: Seeded, pages: Pages
) -> None:
    page = await pages.open()
    await page.goto(served.url("/"))
    await expect(page).to_have_url(re.compile(r"/login\b"))
    token = page.get_by_label("API token")
    await expect(token).to_have_attribute("type", "password")
    await pages.shot(page, "1-login")

    await token.fill("not-the-token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text("That token is not right")).to_be_visible()
    assert "vigil_session" not in {c["name"] for c in await page.context.cookies()}
    await pages.shot(page, "2-wrong-token")

    await page.get_by_label("API token").fill(served.api_token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(served.url("/incidents"))
    await expect(page.locator("table caption")).to_be_visible()
    [cookie] = [c for c in await page.context.cookies() if c["name"] == "vigil_session"]
    assert cookie.get("httpOnly") is True, cookie
    assert cookie.get("sameSite") == "Strict", cookie
    await pages.shot(page, "3-signed-in")

    logout = page.locator("form[action='/logout']")
    await expect(logout.locator("input[type=hidden][name=csrf]")).to_have_count(1)
    await logout.locator("button, input[type=submit]").first.click()
    await page.goto(served.url("/incidents"))
    await expect(page.get_by_label("API token")).to_be_visible()  # signed out: asked again


async def test_filters_are_kept_in_the_url(served: Served, seeded: Seeded, pages: Pages) -> None:
    page = await pages.open()
    await sign_in(page, served)
    assert set(await linked_incidents(page)) >= {seeded.payments, seeded.search, seeded.script}

    form = filter_form(page)
    await form.locator("input[name=severity][value=P1]").check()
    await submit(form)
    await expect(page).to_have_url(re.compile(r"[?&]severity=P1\b"))
    await page.wait_for_load_state()
    assert await linked_incidents(page) == [seeded.payments]
    await expect(page.locator(".sev-P1").first).to_contain_text("P1")
    await expect(page.locator(".sev-P3")).to_have_count(0)
    await pages.shot(page, "1-severity-P1")

    form = filter_form(page)
    await expect(form.locator("input[name=severity][value=P1]")).to_be_checked()
    await form.locator("input[name=severity][value=P1]").uncheck()
    await form.locator("[name=service]").fill("search")
    await submit(form)
    await expect(page).to_have_url(re.compile(r"[?&]service=search\b"))
    await page.wait_for_load_state()
    assert "severity" not in query_of(page.url), page.url
    assert await linked_incidents(page) == [seeded.search]
    await pages.shot(page, "2-service-search")

    again = await pages.tab(page.context)  # the link, opened anew
    await again.goto(page.url)
    assert await linked_incidents(again) == [seeded.search]
    await expect(filter_form(again).locator("[name=service]")).to_have_value("search")
    await pages.shot(again, "3-reopened")


async def test_an_incident_shows_its_severity_and_a_timeline_filtered_by_kind(
    served: Served, seeded: Seeded, pages: Pages
) -> None:
    page = await pages.open()
    await sign_in(page, served)
    await page.locator(f"table a[href$='/incidents/{seeded.payments}']").first.click()
    await expect(page).to_have_url(served.url(f"/incidents/{seeded.payments}"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Payments API failing")
    await expect(page.locator(".sev-P1").first).to_contain_text("P1")
    opened = page.get_by_text("Opened by an alert from generic")
    firing = page.get_by_text("Firing: Payments API failing")
    await expect(opened.first).to_be_visible()
    await expect(firing.first).to_be_visible()
    await pages.shot(page, "1-incident")

    kinds = page.locator("form.kinds")
    await kinds.locator("input[name=kind][value=alert]").check()
    await kinds.get_by_role("button", name="Show").click()
    await expect(page).to_have_url(re.compile(r"[?&]kind=alert\b"))
    await expect(firing.first).to_be_visible()
    await expect(opened).to_have_count(0)
    await pages.shot(page, "2-alert-lines-only")


async def test_the_nav_leads_to_the_on_call_page(
    served: Served, seeded: Seeded, pages: Pages
) -> None:
    page = await pages.open()
    await sign_in(page, served)
    nav = page.get_by_role("navigation")
    for name in NAV:
        await expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()

    async with page.expect_response(lambda r: path_of(r.url) == "/oncall") as answer:
        await nav.get_by_role("link", name="On call", exact=True).click()
    response = await answer.value
    assert response.ok, response.status
    await expect(page).to_have_url(served.url("/oncall"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text(
        re.compile(r"on.call", re.IGNORECASE)
    )
    await expect(nav.get_by_role("link", name="On call", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    await pages.shot(page, "oncall")


@pytest.mark.parametrize(("name", "path", "heading"), NAV_PAGES)
async def test_each_nav_page_fits_a_phone(
    served: Served, seeded: Seeded, pages: Pages, name: str, path: str, heading: str
) -> None:
    page = await pages.open(viewport=PHONE)
    await sign_in(page, served)
    await page.get_by_role("navigation").get_by_role("link", name=name, exact=True).click()
    await expect(page).to_have_url(served.url(path))
    h1 = page.get_by_role("heading", level=1)
    await expect(h1).to_have_count(1)
    await expect(h1).to_contain_text(heading)
    widths = await page.evaluate(
        "() => ({page: document.documentElement.scrollWidth,"
        " body: document.body.scrollWidth, screen: window.innerWidth})"
    )
    assert widths["page"] <= widths["screen"], widths  # nothing scrolls sideways
    assert widths["body"] <= widths["screen"], widths
    assert pages.errors == []
    await pages.shot(page, "phone")


async def test_a_silence_made_through_the_api_is_seen_and_expired_on_its_page(
    served: Served, seeded: Seeded, pages: Pages
) -> None:
    sid = await silence(served, "browser-journey", "disk swap <b>tonight</b>")
    page = await pages.open()
    await sign_in(page, served, "/silences")
    row = page.locator(f"#silence-{sid[:8]}")
    await expect(row).to_contain_text("active")
    await expect(row).to_contain_text('service="browser-journey"')
    await expect(row).to_contain_text("browser-test")
    await expect(row).to_contain_text("disk swap <b>tonight</b>")  # shown as text
    await pages.shot(page, "1-active")

    await row.get_by_role("button", name=f"Expire silence {sid[:8]}").click()
    await expect(page).to_have_url(served.url(f"/silences?expired={sid[:8]}"))
    await expect(page.get_by_role("status")).to_contain_text(f"Silence {sid[:8]} expired")
    ended = page.locator("table.expired").locator(f"#silence-{sid[:8]}")
    await expect(ended).to_contain_text("web")  # who expired it
    await expect(page.locator("table.silences:not(.expired)")).not_to_contain_text(sid[:8])
    await pages.shot(page, "2-expired")


async def test_markup_in_an_alert_is_shown_as_text(
    served: Served, seeded: Seeded, pages: Pages
) -> None:
    page = await pages.open()
    await sign_in(page, served)
    await expect(page.get_by_text(SCRIPT_TITLE).first).to_be_visible()
    await pages.shot(page, "1-list")

    await page.goto(served.url(f"/incidents/{seeded.script}"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text(SCRIPT_TITLE)
    await pages.shot(page, "2-incident")
    assert await page.locator("script", has_text="xss").count() == 0
    assert await page.locator("img[onerror]").count() == 0
    assert pages.dialogs == []  # no alert() ran, on either page
    assert pages.errors == []


async def test_on_a_phone_the_page_fits_and_the_nav_is_reachable(
    served: Served, seeded: Seeded, pages: Pages
) -> None:
    page = await pages.open(viewport=PHONE)
    await sign_in(page, served)
    widths = await page.evaluate(
        "() => ({page: document.documentElement.scrollWidth,"
        " body: document.body.scrollWidth, screen: window.innerWidth})"
    )
    assert widths["page"] <= widths["screen"], widths  # nothing scrolls sideways
    assert widths["body"] <= widths["screen"], widths
    await pages.shot(page, "incidents")

    link = page.get_by_role("navigation").get_by_role("link", name="On call", exact=True)
    await expect(link).to_be_visible()
    box = await link.bounding_box()
    assert box is not None
    assert box["x"] >= 0, box
    assert box["x"] + box["width"] <= PHONE["width"], box
    await link.click()
    await expect(page).to_have_url(served.url("/oncall"))


async def test_the_keyboard_reaches_the_filters_and_the_first_incident_visibly(
    served: Served, seeded: Seeded, pages: Pages, page: Page
) -> None:
    await sign_in(page, served)
    first = (await linked_incidents(page))[0]
    reached: set[str] = set()
    reached_first = False
    unseen: list[object] = []
    for _ in range(80):  # a bounded walk; each Tab is one step
        await page.keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED)
        if focused is None:
            continue
        if not focused["visible"]:
            unseen.append(focused)
        if focused["name"] in FILTERS:
            reached.add(focused["name"])
        link = INCIDENT_LINK.search(focused["href"] or "")
        if link and int(link.group(1)) == first:
            reached_first = True
            await pages.shot(page, "first-incident-focused")
        if reached_first and reached == set(FILTERS):
            break
    assert reached == set(FILTERS), f"Tab never reached {set(FILTERS) - reached}"
    assert reached_first, f"Tab never reached the link to #{first}"
    assert unseen == [], f"focus without a visible outline: {unseen}"


async def test_every_filter_has_a_label(served: Served, seeded: Seeded, page: Page) -> None:
    await sign_in(page, served)
    form = filter_form(page)
    for name in FILTERS:
        fields = form.locator(f"[name={name}]")
        assert await fields.count() > 0, name
        labelled = await fields.evaluate_all(
            "els => els.every(e => e.labels.length > 0 || !!e.getAttribute('aria-label'))"
        )
        assert labelled, f"a {name} input has no label"
    boxes = [await form.get_by_label(p).count() for p in ("P1", "P2", "P3", "P4")]
    assert boxes == [1, 1, 1, 1], boxes
