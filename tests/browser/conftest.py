"""The dashboard and GraphiQL in a real Chromium (Debian's `chromium`, driven by Playwright),
against a real `refunds serve` per module with the processor on and the sandbox rails fast.

Every test's page records console errors and uncaught exceptions; the test fails on any that it
did not name in advance (`Tab.expect_console`)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    Route,
    async_playwright,
    expect,
)

from tests.api.serve_process import ADMIN_TOKEN, Served, running
from tests.processing.live import metrics_subscribers
from tests.support import Api, Merchant

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# The sandbox rails' settle times (2 s for UPI, processor/sandbox.py) scaled to half a second:
# long enough to see PENDING first, short enough for a quick test.
SERVE_ENV = {"REFUNDS_PROCESSOR": "on", "REFUNDS_GATEWAY_DELAY_SCALE": "0.25"}
WAIT_MS = 15_000  # a guard against hanging, never a measured bound
expect.set_options(timeout=WAIT_MS)  # its own default (5 s) would be a bound on a loaded machine


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[Served]:
    with running(database_url, settings=SERVE_ENV) as served:
        yield served


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test's report shows what its `refunds serve` wrote meanwhile (WARNING and up, so
    the processor's faults): the page alone cannot tell a slow refund from a lost update."""
    report: pytest.TestReport = yield
    served = getattr(item, "funcargs", {}).get("served")
    if report.failed and isinstance(served, Served):
        report.sections.append(("refunds serve's log", served.new_log()))
    return report


@pytest.fixture(scope="module")
async def api(served: Served) -> AsyncIterator[Api]:
    """The API of this module's `refunds serve`, to set up merchants and to check the page."""
    async with httpx.AsyncClient(base_url=served.base_url, timeout=30) as http:
        yield Api(http, ADMIN_TOKEN)


async def subscribed(api: Api) -> None:
    """Wait until the server holds a refundUpdated subscriber (the page's or GraphiQL's), so
    that a change made next is certain to be pushed to it."""
    deadline = asyncio.get_running_loop().time() + WAIT_MS / 1000
    while await metrics_subscribers(api.http, "") < 1:
        assert asyncio.get_running_loop().time() < deadline, "no subscriber registered"
        await asyncio.sleep(0.05)


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(path).exists(), "Debian's chromium is missing: apt-get install chromium"
    return path


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox"] if as_root else []
        )
        yield browser
        await browser.close()


@dataclass
class Tab:
    page: Page
    base_url: str
    problems: list[str] = field(default_factory=list)
    expected: list[re.Pattern[str]] = field(default_factory=list)

    def expect_console(self, pattern: str) -> None:
        """A console error this test causes on purpose (the browser's own network log)."""
        self.expected.append(re.compile(pattern))

    def unexpected_problems(self) -> list[str]:
        return [p for p in self.problems if not any(e.search(p) for e in self.expected)]

    async def sign_in(self, merchant: Merchant) -> Page:
        await self.page.goto(self.base_url + "/")
        await self.page.get_by_role("textbox", name="API key").fill(merchant.key)
        await self.page.get_by_role("button", name="Sign in").click()
        await self.page.get_by_role("button", name="Sign out").wait_for()
        return self.page

    async def screenshot(self, name: str) -> None:
        """docs/screenshots/<name>.png, shown in the README."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


@pytest.fixture
async def tab(browser: Browser, served: Served) -> AsyncIterator[Tab]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    tab = Tab(page, served.base_url)

    async def offline(route: Route) -> None:
        """As on a machine without internet: only this service answers."""
        if route.request.url.startswith(served.base_url + "/"):
            await route.continue_()
        else:
            tab.problems.append(f"request to elsewhere: {route.request.url}")
            await route.abort("internetdisconnected")

    await context.route("**/*", offline)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            tab.problems.append(f"console.error: {message.text}")

    def on_page_error(error: Error) -> None:
        tab.problems.append(f"uncaught: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    served.new_log()  # what the server wrote before this test is not this test's
    yield tab
    await context.close()
    assert tab.unexpected_problems() == []
