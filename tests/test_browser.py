"""The dashboard in a real headless Chromium, against the running daemon and platform fakes.

Debian's ``chromium`` at /usr/bin/chromium (installed by .ci/run) and the ``playwright``
package are required: without them these tests FAIL, they never skip.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from syndicator.config import LoadedConfig, parse_settings
from syndicator.daemon import Daemon
from syndicator.sandbox.feeds import FeedServer
from syndicator.sandbox.telegram import FakeTelegramAPI
from syndicator.sandbox.twitter import FakeXAPI
from syndicator.web import Dashboard, User, WebOptions, hash_password
from tests.feeds import Item, rss

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
X_TOKEN = "browser-x-SECRET-bearer"
TG_TOKEN = "5252:browser-tg-SECRET"
PASSWORD = "browser-password"
PERSIAN = "نمایشگاه کتاب تهران گشایش یافت"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.fail("the browser tests need Playwright: pip install playwright")
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM}: apt-get install chromium")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def newsroom(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """Feeds, fake X and Telegram, the daemon running, and its dashboard on a free port."""
    async with FeedServer() as feeds, FakeXAPI(bearer_token=X_TOKEN) as x, \
            FakeTelegramAPI(tokens=[TG_TOKEN], chats=["@news_fa"]) as telegram:
        feeds.set("/en.xml", rss([]))
        feeds.set("/fa.xml", rss([Item("k", PERSIAN, 1)], language="fa"))
        data = {
            "storage": f"sqlite:///{tmp_path / 'state.db'}",
            "feeds": [{"id": "en", "url": feeds.url("/en.xml"), "poll_interval": "1s",
                       "timeout": "2s"},
                      {"id": "fa", "url": feeds.url("/fa.xml"), "poll_interval": "1s",
                       "backfill": 5, "language": "fa", "timeout": "2s"}],
            "channels": [
                {"id": "x", "platform": "twitter", "feeds": ["en"], "api_url": x.url,
                 "approval": "required", "timeout": "3s",
                 "credentials": {"bearer_token": "${X_TOKEN}"}},
                {"id": "tg", "platform": "telegram", "feeds": ["fa"], "chat": "@news_fa",
                 "api_url": telegram.url, "timeout": "3s",
                 "credentials": {"bot_token": "${TG_TOKEN}"}},
            ],
        }
        settings = parse_settings(data, environ={"X_TOKEN": X_TOKEN, "TG_TOKEN": TG_TOKEN})
        config = LoadedConfig(settings=settings, path=tmp_path / "config.yaml")
        daemon = Daemon(config)
        stop = asyncio.Event()
        running = asyncio.create_task(daemon.run(stop))
        options = WebOptions(port=0, secret_key=b"browser-test-key" * 2, poll_seconds=0.5,
                             users=(User("maryam", "editor", hash_password(PASSWORD, n=2**12)),))
        dashboard = Dashboard(config, store=daemon.store, options=options)
        try:
            url = await dashboard.start()
            yield {"url": url, "feeds": feeds, "x": x, "telegram": telegram}
        finally:
            await dashboard.stop()
            stop.set()
            await asyncio.wait_for(running, 15)
            await daemon.close()


async def wait_until(check: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_editor_fixes_an_x_post_approves_it_and_it_reaches_x(
        browser: Any, newsroom: dict[str, Any]) -> None:
    from playwright.async_api import expect

    url = newsroom["url"]
    page = await (await browser.new_context()).new_page()
    page.set_default_timeout(10_000)

    await page.goto(url + "/health")
    assert page.url.startswith(url + "/login")
    await page.fill("input[name=name]", "maryam")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(url + "/health")
    await page.click("nav >> text=Queue")

    # a new post arrives while the queue is open: it shows up without a reload
    newsroom["feeds"].set("/en.xml", rss([Item("results", "Election results", 1)]))
    held = page.locator("#channel-x tr.row-held")
    await expect(held).to_have_count(1)
    delivery = await held.get_attribute("data-delivery")
    await held.locator("td.title a").click()
    card = page.locator(f"#d{delivery}")
    text = card.locator("textarea")
    counter = card.locator(".counter")

    too_long = "Breaking: " + "the count goes on " * 16
    await text.fill(too_long)
    await expect(counter).to_have_class(re.compile(r"\bover\b"))
    await expect(card.locator(".problems")).to_contain_text("too long: 298 of 280")
    await card.locator("button.act-edit").click()
    await expect(card.locator(".refusal")).to_contain_text("too long: 298 of 280")
    assert await text.input_value() == too_long  # what the editor typed is kept

    fixed = "Election results are in: https://news.example.org/results/"
    await text.fill(fixed)
    await expect(counter).not_to_have_class(re.compile(r"\bover\b"))
    await expect(counter.locator(".length")).to_have_text("48")  # 25 + a link counted as 23
    await card.locator("button.act-edit").click()
    await expect(page.locator(".flash")).to_contain_text("edited, now held")
    assert newsroom["x"].tweets == []
    await card.locator("button.act-approve").click()
    await expect(page.locator(".flash")).to_contain_text("approved, now scheduled")

    await wait_until(lambda: newsroom["x"].tweets)
    assert [t.submitted for t in newsroom["x"].tweets] == [fixed]

    # a state change without the CSRF token is refused, session cookie or not
    status = await page.evaluate(
        "id => fetch('/deliveries/' + id + '/hold', {method: 'POST', body: new FormData()})"
        ".then(r => r.status)", delivery)
    assert status == 403


async def test_a_persian_post_renders_right_to_left(browser: Any,
                                                    newsroom: dict[str, Any]) -> None:
    from playwright.async_api import expect

    url = newsroom["url"]
    page = await (await browser.new_context()).new_page()
    page.set_default_timeout(10_000)
    await page.goto(url + "/")
    await page.fill("input[name=name]", "maryam")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    row = page.locator("#channel-tg td.title a").first
    await expect(row).to_have_text(PERSIAN)
    assert await row.evaluate("e => getComputedStyle(e).direction") == "rtl"
    await row.click()
    title = page.locator("article.post h1")
    await expect(title).to_have_text(PERSIAN)
    assert await title.evaluate("e => getComputedStyle(e).direction") == "rtl"
    message = page.locator("section.card textarea, section.card .text").first
    assert PERSIAN in (await message.input_value() if await message.evaluate(
        "e => e.tagName") == "TEXTAREA" else await message.inner_text())
    assert await message.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert await page.locator("nav").evaluate("e => getComputedStyle(e).direction") == "ltr"
