"""The dashboard in a real browser: Debian's Chromium driven headless by Playwright.

The browser must start: a missing or broken /usr/bin/chromium fails the test (install it with
`apt-get install -y chromium`); it never skips.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.conftest import settings_env_for
from tests.helpers import REPO
from tests.integration.test_web import (
    TEST_BRAND,
    TOKEN,
    Served,
    add_alert,
    alert_doc,
    feed_and_serve,
)

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "test-artifacts"
DOCS_SCREENSHOT = REPO / "docs" / "dashboard.png"


@pytest.fixture(scope="module")
async def served(services: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    env = settings_env_for(f"t{uuid.uuid4().hex[:10]}.")
    async for s in feed_and_serve(tmp_path_factory.mktemp("dash"), env):
        yield s


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    _require_chromium()
    async with async_playwright() as pw:
        # Playwright's own browser download does not work here: drive Debian's Chromium.
        # Each launch gets a new empty profile of Playwright's making.
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport={"width": 1440, "height": 900}, timezone_id="Europe/Berlin", locale="en-GB"
    )
    p = await context.new_page()
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        # A locked server refuses the first calls (401) until the token is typed in: expected.
        if msg.type == "error" and "status of 401" not in msg.text:
            problems.append(msg.text)

    p.on("console", on_console)
    p.on("pageerror", lambda exc: problems.append(str(exc)))
    yield p
    await context.close()
    # Script errors and CSP refusals ("Refused to ...") show up as console errors.
    assert problems == [], problems


async def row_ids(page: Page) -> list[str]:
    ids: list[str] = await page.eval_on_selector_all(
        "#leaderboard tbody tr", "rows => rows.map(r => r.dataset.creatorId)"
    )
    return ids


async def wait_rows(page: Page, expected: list[str]) -> None:
    deadline = time.monotonic() + 10
    while (got := await row_ids(page)) != expected:
        assert time.monotonic() < deadline, f"leaderboard rows {got} != {expected}"
        await page.wait_for_timeout(100)


async def test_dashboard_shows_leaderboard_and_live_alerts(served: Served, page: Page) -> None:
    await page.goto(served.open_url + "/")
    await page.wait_for_selector("#leaderboard tbody tr")
    # default sort, growth_24h_pct: only creators with a snapshot 24 h old have a value
    await wait_rows(page, ["instagram:alice", "tiktok:bob"])
    alice = page.locator('#leaderboard tr[data-creator-id="instagram:alice"]')
    assert "+13.2%" in await alice.inner_text()
    assert await alice.locator(".badge").inner_text() in ("micro", "MICRO")

    await page.select_option("#sort", "followers")
    await wait_rows(page, ["youtube:carol", "instagram:alice", "youtube:dave", "tiktok:bob"])
    carol = page.locator('#leaderboard tr[data-creator-id="youtube:carol"]')
    assert "251k" in await carol.inner_text()
    await page.select_option("#tier", "micro")
    await wait_rows(page, ["instagram:alice", "youtube:dave"])
    await page.select_option("#tier", "")

    await until_live(page)
    for n in range(3):  # a few older alerts, so the feed looks like a real one
        await add_alert(served.redis, served.settings, alert_doc(200 + n))
    fresh: dict[str, Any] = {
        **alert_doc(299, type_="audience_growth"),
        "brand": None,
        "creator_id": "instagram:alice",
        "summary": "instagram:alice gained 1.4k followers in 24 h (+13.2%)",
    }
    started = time.monotonic()
    await add_alert(served.redis, served.settings, fresh)
    await page.wait_for_selector(f'li[data-alert-id="{fresh["alert_id"]}"]', timeout=2_000)
    took = time.monotonic() - started
    assert took < 2.0, took
    first = page.locator("#alerts li").first
    assert await first.get_attribute("data-alert-id") == fresh["alert_id"]
    assert "Audience growth" in await first.inner_text()

    await page.wait_for_selector("#leaderboard tbody tr")
    await page.wait_for_timeout(2_600)  # let the arrival highlight fade for the picture
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    await page.screenshot(path=str(shot), full_page=True)
    DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, DOCS_SCREENSHOT)
    assert shot.stat().st_size > 10_000


async def test_creator_and_brand_views_draw_charts(served: Served, page: Page) -> None:
    await page.goto(served.open_url + "/#/creator/instagram%3Aalice")
    await page.wait_for_selector(".kpis")
    assert "12k" in await page.locator(".kpis").inner_text()
    await poll(lambda: _at_least(page.locator(".chart canvas").count(), 3), "three charts")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-creator.png"), full_page=True)

    await page.goto(served.open_url + "/#/brand/acme")
    await page.wait_for_selector("#brand-creators")
    creators = await page.eval_on_selector_all(
        "#brand-creators tbody tr", "rows => rows.map(r => r.dataset.creatorId)"
    )
    assert creators == ["youtube:dave", "instagram:alice"]
    await page.wait_for_selector(".chart canvas")
    assert "my @acme pair arrived!" in await page.locator(".evidence").inner_text()
    await page.screenshot(path=str(ARTIFACTS / "dashboard-brand.png"), full_page=True)

    await page.goto(served.open_url + "/#/brands")
    await page.wait_for_selector('[data-brand="acme"]')
    assert "Acme Shoes" in await page.locator('[data-brand="acme"]').inner_text()


async def test_dashboard_asks_for_the_token_once(served: Served, page: Page) -> None:
    await page.goto(served.locked_url + "/")
    await page.wait_for_selector("#token-dialog[open]")
    await page.fill("#token-input", TOKEN)
    await page.click("#token-form button[type=submit]")
    await page.wait_for_selector("#leaderboard tbody tr")
    await until_live(page)
    await add_alert(served.redis, served.settings, alert_doc(300))
    await page.wait_for_selector(f'li[data-alert-id="mention_spike:{TEST_BRAND}:300"]')
    # the token lives in this tab's sessionStorage: a reload does not ask again
    await page.reload()
    await page.wait_for_selector("#leaderboard tbody tr")
    assert not await page.locator("#token-dialog[open]").count()


# Polled from Python: page.wait_for_function would evaluate its predicate with eval() while polling,
# which the dashboard's CSP (no 'unsafe-eval') rightly refuses.
async def poll(check: Any, what: str, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _at_least(count: Any, n: int) -> bool:
    return bool(await count >= n)


async def until_live(page: Page) -> None:
    async def live() -> bool:
        return await page.text_content("#live") == "live"

    await poll(live, "the live feed to connect")
