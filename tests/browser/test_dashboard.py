"""The dashboard's core, driven by accessible names in Chromium and checked through the API:
sign-in, balance, the refund dialog, live status, the ACTION_REQUIRED form."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from tests.browser.conftest import WAIT_MS, Tab
from tests.support import Api, Merchant

REFUNDS_OF = """query($id: ID!) { transaction(id: $id) {
  refundedAmount refunds { amount status destination { kind display } } } }"""


async def shop(
    api: Api, name: str, balance: int = 10_000_00, **payment: Any
) -> tuple[Merchant, dict[str, Any]]:
    merchant = await api.create_merchant(name)
    await api.recharge(merchant, balance)
    transaction = await api.record_transaction(merchant, **payment)
    return merchant, transaction


async def refunds_of(api: Api, merchant: Merchant, transaction_id: str) -> dict[str, Any]:
    data = await api.gql(REFUNDS_OF, {"id": transaction_id}, token=merchant.key)
    result: dict[str, Any] = data["transaction"]
    return result


async def mark_document(page: Page) -> None:
    """A value that a reload would lose: the test checks it is still there at the end."""
    await page.evaluate("window.__sameDocument = true")


async def still_same_document(page: Page) -> bool:
    return bool(await page.evaluate("window.__sameDocument === true"))


async def test_a_wrong_key_shows_an_alert_and_no_data(tab: Tab, api: Api) -> None:
    merchant, _ = await shop(api, "Wrong Key Traders", orderId="order_secret_1")
    tab.expect_console(r"Failed to load resource: the server responded with a status of 401")
    page = tab.page
    await page.goto(tab.base_url + "/")
    await page.get_by_role("textbox", name="API key").fill(merchant.key + "x")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("not accepted")
    await expect(page.get_by_role("textbox", name="API key")).to_be_visible()
    await expect(page.get_by_role("table")).to_have_count(0)
    await expect(page.get_by_text("Balance")).to_have_count(0)
    assert await page.evaluate("sessionStorage.length") == 0
    await tab.screenshot("sign-in-wrong-key")


async def test_a_partial_refund_of_123_45_rupees_is_12345_paise_and_goes_live_to_processed(
    tab: Tab, api: Api
) -> None:
    merchant, payment = await shop(
        api, "Chai Point", balance=1_000_00, amount=500_00, orderId="order_chai_1"
    )
    page = await tab.sign_in(merchant)
    await expect(page.get_by_text("Chai Point")).to_be_visible()
    await expect(page.get_by_text("Balance")).to_contain_text("₹1,000.00")
    assert await page.evaluate("sessionStorage.getItem('refunds.apiKey')") == merchant.key
    await expect(page.get_by_role("table", name="Transactions")).to_contain_text("₹500.00")
    await tab.screenshot("transactions")
    await mark_document(page)

    await page.get_by_role("link", name="order_chai_1").click()
    await expect(page.get_by_role("heading", name="order_chai_1")).to_be_visible()
    await page.get_by_role("button", name="Refund", exact=True).click()
    dialog = page.get_by_role("dialog", name="Refund")
    await dialog.get_by_role("textbox", name="Amount (₹)").fill("123.45")
    await dialog.get_by_role("textbox", name="Notes").fill("Broken cup")
    await tab.screenshot("refund-dialog")
    await dialog.get_by_role("button", name="Confirm refund").click()
    await expect(dialog).to_have_count(0)

    refund = page.get_by_role("article")
    await expect(refund).to_contain_text("₹123.45")
    await expect(refund.get_by_text("PROCESSED", exact=True).first).to_be_visible(timeout=WAIT_MS)
    await expect(page.get_by_text("Balance")).to_contain_text("₹876.55")
    assert await still_same_document(page)
    await tab.screenshot("transaction-detail")

    seen = await refunds_of(api, merchant, payment["id"])
    assert seen["refunds"][0]["amount"] == 123_45
    assert seen["refunds"][0]["status"] == "PROCESSED"
    assert seen["refundedAmount"] == 123_45
    assert await api.balance(merchant) == 1_000_00 - 123_45


async def test_a_refund_made_through_the_api_appears_live_on_an_open_page(
    tab: Tab, api: Api
) -> None:
    merchant, payment = await shop(api, "Live Lassi", orderId="order_lassi_1")
    page = await tab.sign_in(merchant)
    await page.get_by_role("link", name="Refunds").click()
    table = page.get_by_role("table", name="Refunds")
    await expect(table).to_be_visible()
    await expect(table.get_by_role("row")).to_have_count(1)  # the heading row only
    await mark_document(page)

    made = await api.initiate_refund(merchant, transactionId=payment["id"], amount=25_00)
    assert made["userErrors"] == []
    row = table.get_by_role("row").filter(has_text=made["refund"]["id"])
    await expect(row).to_contain_text("order_lassi_1")
    await expect(row).to_contain_text("₹25.00")
    await expect(row.get_by_text("PROCESSED", exact=True)).to_be_visible()
    await expect(page.get_by_text("Balance")).to_contain_text("₹9,975.00")
    assert await still_same_document(page)
    await tab.screenshot("refunds")


async def test_too_large_an_amount_shows_the_error_in_the_dialog_and_changes_nothing(
    tab: Tab, api: Api
) -> None:
    merchant, payment = await shop(api, "Big Ask", amount=500_00, orderId="order_big_1")
    page = await tab.sign_in(merchant)
    await page.get_by_role("link", name="order_big_1").click()
    await page.get_by_role("button", name="Refund", exact=True).click()
    dialog = page.get_by_role("dialog", name="Refund")
    amount = dialog.get_by_role("textbox", name="Amount (₹)")
    await amount.fill("500.01")
    await dialog.get_by_role("button", name="Confirm refund").click()

    alert = dialog.get_by_role("alert")
    await expect(alert).to_contain_text("At most ₹500.00 can be refunded.")
    await expect(amount).to_have_attribute("aria-invalid", "true")
    described_by = await amount.get_attribute("aria-describedby")
    assert described_by == await alert.get_attribute("id")  # next to the field it names
    await expect(dialog).to_be_visible()
    await tab.screenshot("refund-dialog-error")

    seen = await refunds_of(api, merchant, payment["id"])
    assert seen == {"refundedAmount": 0, "refunds": []}
    assert await api.balance(merchant) == 10_000_00


async def test_insufficient_balance_shows_the_shortfall(tab: Tab, api: Api) -> None:
    merchant, payment = await shop(api, "Thin Wallet", balance=100_00, amount=500_00)
    page = await tab.sign_in(merchant)
    await page.get_by_role("link", name=payment["orderId"]).click()
    await page.get_by_role("button", name="Refund", exact=True).click()
    dialog = page.get_by_role("dialog", name="Refund")
    await dialog.get_by_role("textbox", name="Amount (₹)").fill("250")
    await dialog.get_by_role("button", name="Confirm refund").click()
    await expect(dialog.get_by_role("alert")).to_contain_text("Short by ₹150.00")
    assert (await refunds_of(api, merchant, payment["id"]))["refunds"] == []


async def test_a_frozen_account_goes_to_action_required_and_a_new_upi_id_takes_it_to_processed(
    tab: Tab, api: Api
) -> None:
    merchant, payment = await shop(
        api, "Frozen Foods", amount=80_00, orderId="order_frozen_1", source="frozen@okaxis"
    )
    page = await tab.sign_in(merchant)
    await page.get_by_role("link", name="order_frozen_1").click()
    await page.get_by_role("button", name="Refund", exact=True).click()
    dialog = page.get_by_role("dialog", name="Refund")
    await dialog.get_by_role("button", name="Confirm refund").click()  # empty: all of it

    refund = page.get_by_role("article")
    await expect(refund.get_by_text("ACTION_REQUIRED", exact=True).first).to_be_visible()
    await expect(refund).to_contain_text("frozen")
    await refund.get_by_role("button", name="Update destination").click()
    await refund.get_by_role("textbox", name="UPI ID").fill("customer@okicici")
    await tab.screenshot("action-required")
    await refund.get_by_role("button", name="Save destination").click()
    await expect(refund.get_by_text("PROCESSED", exact=True).first).to_be_visible()

    seen = await refunds_of(api, merchant, payment["id"])
    assert [(r["amount"], r["status"], r["destination"]["kind"]) for r in seen["refunds"]] == [
        (80_00, "PROCESSED", "UPI")
    ]
