"""The server goes away under an open dashboard (its process stopped, so the socket drops), a
refund changes while nobody can tell the page, and the server comes back on the same port: the
page reconnects by itself and re-reads what it missed, without a reload.

The refund waits ON_HOLD (the balance is short), where no processor of this or any other test
moves it, and the test cancels it through the domain's own use case while the server is down."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncEngine

from db.uow import SqlUnitOfWork
from domain.use_cases.refund_actions import cancel_refund
from tests.api import rails
from tests.api.serve_process import Served, running
from tests.browser.conftest import SERVE_ENV, Tab
from tests.support import Api, free_port


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[Served]:
    with running(database_url, port=free_port(), settings=SERVE_ENV) as served:
        yield served


async def test_the_socket_drops_and_the_page_catches_up_by_itself(
    tab: Tab, api: Api, served: Served, database_url: str, engine: AsyncEngine
) -> None:
    merchant = await api.create_merchant("Flaky Wire")
    await api.recharge(merchant, 10_00)
    payment = await api.record_transaction(merchant, orderId="order_wire_1")
    made = await api.initiate_refund(
        merchant, transactionId=payment["id"], amount=40_00, queueIfInsufficientBalance=True
    )
    refund_id = made["refund"]["id"]
    assert made["refund"]["status"] == "ON_HOLD"

    page = await tab.sign_in(merchant)
    await page.get_by_role("link", name="Refunds").click()
    row = page.get_by_role("table", name="Refunds").get_by_role("row").filter(has_text=refund_id)
    await expect(row.get_by_text("ON_HOLD", exact=True)).to_be_visible()
    await expect(page.get_by_text("Live", exact=True)).to_be_visible()
    await page.evaluate("window.__sameDocument = true")

    # While the server is down the browser logs its failed attempts to reconnect.
    tab.expect_console(r"WebSocket connection to '.*' failed")
    tab.expect_console(r"Failed to load resource: net::ERR_CONNECTION_REFUSED")
    served.process.send_signal(signal.SIGTERM)
    served.process.wait(timeout=30)
    await expect(page.get_by_text("Reconnecting…")).to_be_visible()

    # a change the page cannot hear
    await cancel_refund(
        SqlUnitOfWork(engine),
        rails.merchant_key(merchant),
        rails.refund_key(refund_id),
        datetime.now(UTC),
    )
    await expect(row.get_by_text("ON_HOLD", exact=True)).to_be_visible()

    with running(database_url, port=served.port, settings=SERVE_ENV):
        await expect(page.get_by_text("Live", exact=True)).to_be_visible()
        await expect(row.get_by_text("CANCELLED", exact=True)).to_be_visible()
        await expect(page.locator("header").get_by_text("Balance")).to_contain_text("₹10.00")
        assert await page.evaluate("window.__sameDocument === true")
