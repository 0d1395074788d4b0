"""The server goes away under an open dashboard (its process stopped, so the socket drops), a
refund changes while nobody can tell the page, and the server comes back on the same port: the
page reconnects by itself and re-reads what it missed, without a reload.

This module's `refunds serve` runs without a processor, so that only the test moves the refund
(through the domain's own use cases, tests/api/rails.py)."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api import rails
from tests.api.serve_process import Served, running
from tests.browser.conftest import Tab
from tests.support import Api, free_port

SERVE_ENV = {"REFUNDS_PROCESSOR": "off"}


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[Served]:
    with running(database_url, port=free_port(), settings=SERVE_ENV) as served:
        yield served


async def test_the_socket_drops_and_the_page_catches_up_by_itself(
    tab: Tab, api: Api, served: Served, database_url: str, engine: AsyncEngine
) -> None:
    merchant = await api.create_merchant("Flaky Wire")
    await api.recharge(merchant, 1_000_00)
    payment = await api.record_transaction(merchant, orderId="order_wire_1")
    made = await api.initiate_refund(merchant, transactionId=payment["id"], amount=40_00)
    refund_id = made["refund"]["id"]

    page = await tab.sign_in(merchant)
    await page.get_by_role("link", name="Refunds").click()
    row = page.get_by_role("table", name="Refunds").get_by_role("row").filter(has_text=refund_id)
    await expect(row.get_by_text("PENDING", exact=True)).to_be_visible()
    await expect(page.get_by_text("Live", exact=True)).to_be_visible()
    await page.evaluate("window.__sameDocument = true")

    # While the server is down the browser logs its failed attempts to reconnect.
    tab.expect_console(r"WebSocket connection to '.*' failed")
    tab.expect_console(r"Failed to load resource: net::ERR_CONNECTION_REFUSED")
    served.process.send_signal(signal.SIGTERM)
    served.process.wait(timeout=30)
    await expect(page.get_by_text("Reconnecting…")).to_be_visible()

    await rails.drive(engine, merchant, refund_id, rails.PAID)  # a change the page cannot hear
    await expect(row.get_by_text("PENDING", exact=True)).to_be_visible()

    with running(database_url, port=served.port, settings=SERVE_ENV):
        await expect(page.get_by_text("Live", exact=True)).to_be_visible()
        await expect(row.get_by_text("PROCESSED", exact=True)).to_be_visible()
        await expect(page.locator("header").get_by_text("Balance")).to_contain_text("₹960.00")
        assert await page.evaluate("window.__sameDocument === true")
