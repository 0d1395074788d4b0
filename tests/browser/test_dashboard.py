"""The dashboard's core, driven by accessible names in Chromium and checked through the API:
sign-in, balance, the refund dialog, live status, the ACTION_REQUIRED form."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Locator, Page, Route, expect

from tests.browser.conftest import WAIT_MS, Tab, subscribed
from tests.processing.live import wait_until
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


def balance(page: Page) -> Locator:
    return page.locator("header").get_by_text("Balance")


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
    await expect(balance(page)).to_have_count(0)
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
    await expect(balance(page)).to_contain_text("₹1,000.00")
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
    await expect(refund.get_by_text("PROCESSED", exact=True).first).to_be_visible()
    await expect(balance(page)).to_contain_text("₹876.55")
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
    await subscribed(api)

    made = await api.initiate_refund(merchant, transactionId=payment["id"], amount=25_00)
    assert made["userErrors"] == []
    row = table.get_by_role("row").filter(has_text=made["refund"]["id"])
    await expect(row).to_contain_text("order_lassi_1")
    await expect(row).to_contain_text("₹25.00")
    await expect(row.get_by_text("PROCESSED", exact=True)).to_be_visible()
    await expect(balance(page)).to_contain_text("₹9,975.00")
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


def rupees(paise: int) -> str:
    """As the page shows amounts (below ₹1,00,000, where Indian and Western grouping agree)."""
    sign = "-" if paise < 0 else ""
    return f"{sign}₹{abs(paise) // 100:,}.{abs(paise) % 100:02d}"


TRANSACTIONS_PAGE = """query($first: Int!, $after: String, $filter: TransactionFilter) {
  transactions(first: $first, after: $after, filter: $filter) {
    pageInfo { endCursor } edges { node { orderId } } } }"""


async def api_order_ids(
    api: Api, merchant: Merchant, filter: dict[str, str], after: str | None = None
) -> tuple[list[str], str | None]:
    data = await api.gql(
        TRANSACTIONS_PAGE,
        {"first": 20, "after": after, "filter": filter},
        token=merchant.key,
    )
    page = data["transactions"]
    return [e["node"]["orderId"] for e in page["edges"]], page["pageInfo"]["endCursor"]


def processed_heard(page: Page, times: int = 1) -> asyncio.Event:
    """Set once the page's socket has been pushed a PROCESSED refund `times` times: the moment
    after which a test lets a held-back read answer."""
    heard = asyncio.Event()
    count = 0

    def on_frame(payload: str | bytes) -> None:
        nonlocal count
        text = payload if isinstance(payload, str) else payload.decode()
        if '"status":"PROCESSED"' in text:
            count += 1
            if count >= times:
                heard.set()

    page.on("websocket", lambda socket: socket.on("framereceived", on_frame))
    return heard


async def test_a_change_pushed_while_the_page_re_reads_is_shown_not_painted_over(
    tab: Tab, api: Api
) -> None:
    """After a new destination is saved the page re-reads the transaction; the refund is paid
    while that read's answer is on its way (held back here until the page has heard PROCESSED
    on its socket). The older answer must not leave the page at PROCESSING."""
    merchant, payment = await shop(
        api, "Late Answers", amount=60_00, orderId="order_late_1", source="frozen@okaxis"
    )
    heard_paid = processed_heard(tab.page)
    page = await tab.sign_in(merchant)
    await page.get_by_role("link", name="order_late_1").click()
    await page.get_by_role("button", name="Refund", exact=True).click()
    dialog = page.get_by_role("dialog", name="Refund")
    await dialog.get_by_role("button", name="Confirm refund").click()
    refund = page.get_by_role("article")
    await expect(refund.get_by_text("ACTION_REQUIRED", exact=True).first).to_be_visible()
    await refund.get_by_role("button", name="Update destination").click()
    # "flaky": two transient errors before the bank pays (processor/sandbox.py), so the payment
    # comes seconds after the re-read that follows the save.
    await refund.get_by_role("textbox", name="UPI ID").fill("late.flaky@okicici")

    held: list[str] = []
    holding = False

    async def hold_the_first_read(route: Route) -> None:
        nonlocal holding
        if holding or "query Transaction(" not in (route.request.post_data or ""):
            await route.fallback()
            return
        holding = True  # before any await: the reads that follow pass while this one is held
        answer = await route.fetch()
        held.append(await answer.text())
        await asyncio.wait_for(heard_paid.wait(), WAIT_MS / 1000)
        await route.fulfill(response=answer)

    await page.route("**/graphql", hold_the_first_read)
    await refund.get_by_role("button", name="Save destination").click()
    await expect(refund.get_by_text("PROCESSED", exact=True).first).to_be_visible()
    assert len(held) == 1
    assert "PROCESSED" not in held[0]  # the held answer was the older one
    seen = await refunds_of(api, merchant, payment["id"])
    assert [r["status"] for r in seen["refunds"]] == ["PROCESSED"]


BURST = 12


async def test_a_burst_of_changes_costs_the_open_page_two_reads_not_one_each(
    tab: Tab, api: Api
) -> None:
    """Refunds made through the API at once while the Refunds list is open: each one's changes
    (made, PROCESSING, PROCESSED) are pushed to the page, which re-reads the list and the
    balance once while they come and once after, not once a change: a batch's thousands would
    otherwise spend the merchant's rate limit. Every read is held back until the page has heard
    the last PROCESSED, so that all the changes come while the first reads are on their way."""
    merchant = await api.create_merchant("Burst Bazaar")
    await api.recharge(merchant, 1_000_00)
    payments = [await api.record_transaction(merchant, amount=10_00) for _ in range(BURST)]
    all_paid = processed_heard(tab.page, times=BURST)
    page = await tab.sign_in(merchant)
    await page.get_by_role("link", name="Refunds").click()
    table = page.get_by_role("table", name="Refunds")
    await expect(table).to_be_visible()
    await subscribed(api)
    reads = {"Refunds": 0, "Viewer": 0}

    async def hold_reads(route: Route) -> None:
        body = route.request.post_data or ""
        read = next((name for name in reads if f"query {name}" in body), None)
        if read is None:
            await route.fallback()
            return
        reads[read] += 1
        answer = await route.fetch()
        await asyncio.wait_for(all_paid.wait(), WAIT_MS / 1000)
        await route.fulfill(response=answer)

    await page.route("**/graphql", hold_reads)
    made = await asyncio.gather(
        *(api.initiate_refund(merchant, transactionId=p["id"], amount=10_00) for p in payments)
    )
    assert all(m["userErrors"] == [] for m in made)
    await expect(table.locator("tbody tr td:nth-child(5)")).to_have_text(["PROCESSED"] * BURST)
    await expect(balance(page)).to_contain_text("₹880.00")
    assert reads == {"Refunds": 2, "Viewer": 2}


async def test_paging_and_each_filter_show_what_the_api_returns(tab: Tab, api: Api) -> None:
    merchant = await api.create_merchant("Many Orders")
    methods = ["UPI", "CARD", "NET_BANKING", "WALLET"]
    statuses = ["SUCCESS", "SUCCESS", "FAILED", "PENDING"]
    for i in range(27):
        await api.record_transaction(
            merchant,
            orderId=f"order_many_{i:02d}",
            paymentMethod=methods[i % 4],
            status=statuses[(i // 2) % 4],
            amount=(i + 1) * 10_00,
        )
    page = await tab.sign_in(merchant)
    table = page.get_by_role("table", name="Transactions")
    order_ids = table.locator("tbody tr td:first-child")

    first, cursor = await api_order_ids(api, merchant, {})
    second, _ = await api_order_ids(api, merchant, {}, after=cursor)
    assert len(first) == 20
    assert len(second) == 7
    await expect(order_ids).to_have_text(first)
    await page.get_by_role("button", name="Next page").click()
    await expect(order_ids).to_have_text(second)
    await expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    await page.get_by_role("button", name="Previous page").click()
    await expect(order_ids).to_have_text(first)
    await expect(page.get_by_role("button", name="Previous page")).to_be_disabled()

    await page.get_by_role("combobox", name="Status").select_option("FAILED")
    failed, _ = await api_order_ids(api, merchant, {"status": "FAILED"})
    await expect(order_ids).to_have_text(failed)
    await page.get_by_role("combobox", name="Payment method").select_option("CARD")
    failed_cards, _ = await api_order_ids(
        api, merchant, {"status": "FAILED", "paymentMethod": "CARD"}
    )
    await expect(order_ids).to_have_text(failed_cards)
    await page.get_by_role("combobox", name="Status").select_option("")
    cards, _ = await api_order_ids(api, merchant, {"paymentMethod": "CARD"})
    await expect(order_ids).to_have_text(cards)
    await page.get_by_role("combobox", name="Payment method").select_option("")
    await page.get_by_role("textbox", name="Order ID").fill("order_many_13")
    await page.get_by_role("textbox", name="Order ID").press("Enter")
    one, _ = await api_order_ids(api, merchant, {"orderId": "order_many_13"})
    assert one == ["order_many_13"]
    await expect(order_ids).to_have_text(one)
    # each filter narrowed the list to something, and to something else
    assert 0 < len(failed_cards) < len(failed) < len(first)
    assert 0 < len(cards) < len(first)


LEDGER = """{ viewer { balance ledger(first: 20) {
  edges { node { kind amount balanceAfter } } } } }"""
KINDS = {
    "RECHARGE": "Recharge",
    "REFUND_DEBIT": "Refund debit",
    "REFUND_REVERSAL": "Refund reversal",
}


async def expect_ledger_as_the_api_says(page: Page, api: Api, merchant: Merchant) -> None:
    viewer = (await api.gql(LEDGER, token=merchant.key))["viewer"]
    rows = page.get_by_role("table", name="Ledger").locator("tbody tr")
    expected = [
        [
            KINDS[e["node"]["kind"]],
            rupees(
                -e["node"]["amount"] if e["node"]["kind"] == "REFUND_DEBIT" else e["node"]["amount"]
            ),
            rupees(e["node"]["balanceAfter"]),
        ]
        for e in viewer["ledger"]["edges"]
    ]
    await expect(rows).to_have_count(len(expected))
    for row, (kind, amount, after) in zip(await rows.all(), expected, strict=True):
        await expect(row.locator("td").nth(1)).to_have_text(kind)
        await expect(row.locator("td").nth(2)).to_have_text(amount)
        await expect(row.locator("td").nth(3)).to_have_text(after)
    await expect(balance(page)).to_contain_text(rupees(viewer["balance"]))


async def refund_from_the_page(page: Page, order_id: str, rupees_typed: str) -> None:
    await page.get_by_role("link", name="Transactions").click()
    await page.get_by_role("link", name=order_id).click()
    await page.get_by_role("button", name="Refund", exact=True).click()
    dialog = page.get_by_role("dialog", name="Refund")
    await dialog.get_by_role("textbox", name="Amount (₹)").fill(rupees_typed)
    await dialog.get_by_role("button", name="Confirm refund").click()
    await expect(dialog).to_have_count(0)


async def test_the_ledger_and_balance_match_the_api_after_a_refund_and_after_a_reversal(
    tab: Tab, api: Api
) -> None:
    merchant, _ = await shop(api, "Ledger Lane", balance=1_000_00, orderId="order_paid_1")
    await api.record_transaction(merchant, orderId="order_bounce_1", source="bounce@okaxis")
    page = await tab.sign_in(merchant)

    await refund_from_the_page(page, "order_paid_1", "0.10")
    await expect(
        page.get_by_role("article").get_by_text("PROCESSED", exact=True).first
    ).to_be_visible()
    await page.get_by_role("link", name="Ledger").click()
    await expect_ledger_as_the_api_says(page, api, merchant)
    await expect(balance(page)).to_contain_text("₹999.90")

    await refund_from_the_page(page, "order_bounce_1", "0.20")
    await expect(
        page.get_by_role("article").get_by_text("REVERSED", exact=True).first
    ).to_be_visible()
    await page.get_by_role("link", name="Ledger").click()
    await expect_ledger_as_the_api_says(page, api, merchant)
    await expect(balance(page)).to_contain_text("₹999.90")
    assert await api.balance(merchant) == 1_000_00 - 10

    await api.recharge(merchant, 500_00)  # the platform's, pushed to nobody
    await page.get_by_role("link", name="Transactions").click()
    await page.get_by_role("link", name="Ledger").click()
    await expect_ledger_as_the_api_says(page, api, merchant)
    await expect(balance(page)).to_contain_text("₹1,499.90")
    await tab.screenshot("ledger")


async def test_queued_when_short_then_cancelled_from_the_page(tab: Tab, api: Api) -> None:
    merchant, payment = await shop(api, "Queue Corner", balance=10_00, amount=300_00)
    page = await tab.sign_in(merchant)
    await page.get_by_role("link", name=payment["orderId"]).click()
    await page.get_by_role("button", name="Refund", exact=True).click()
    dialog = page.get_by_role("dialog", name="Refund")
    await dialog.get_by_role("textbox", name="Amount (₹)").fill("200")
    await dialog.get_by_role("combobox", name="Reason").select_option("ORDER_CANCELLED")
    await dialog.get_by_role("checkbox", name="Queue if balance is short").check()
    await dialog.get_by_role("button", name="Confirm refund").click()
    refund = page.get_by_role("article")
    await expect(refund.get_by_text("ON_HOLD", exact=True).first).to_be_visible()
    await refund.get_by_role("button", name="Cancel refund").click()
    await expect(refund.get_by_text("CANCELLED", exact=True).first).to_be_visible()
    await expect(refund.get_by_role("button", name="Cancel refund")).to_have_count(0)
    seen = await refunds_of(api, merchant, payment["id"])
    assert [(r["amount"], r["status"]) for r in seen["refunds"]] == [(200_00, "CANCELLED")]
    assert await api.balance(merchant) == 10_00


async def no_horizontal_scroll(page: Page) -> bool:
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


async def test_at_375_px_wide_no_screen_scrolls_sideways(tab: Tab, api: Api) -> None:
    merchant, payment = await shop(api, "Pocket Store", orderId="order_pocket_1")
    made = await api.initiate_refund(merchant, transactionId=payment["id"], amount=1_00)
    assert made["userErrors"] == []
    page = tab.page
    await page.set_viewport_size({"width": 375, "height": 740})
    await tab.sign_in(merchant)
    await expect(page.get_by_role("table", name="Transactions")).to_be_visible()
    assert await no_horizontal_scroll(page)
    await tab.screenshot("phone-transactions")
    await page.get_by_role("link", name="order_pocket_1").click()
    await expect(
        page.get_by_role("article").get_by_text("PROCESSED", exact=True).first
    ).to_be_visible()
    assert await no_horizontal_scroll(page)
    await page.get_by_role("button", name="Refund", exact=True).click()
    await expect(page.get_by_role("dialog", name="Refund")).to_be_visible()
    assert await no_horizontal_scroll(page)
    await page.keyboard.press("Escape")
    for name, table in [("Refunds", "Refunds"), ("Ledger", "Ledger"), ("Batches", "Batches")]:
        await page.get_by_role("link", name=name).click()
        await expect(page.get_by_role("table", name=table)).to_be_visible()
        assert await no_horizontal_scroll(page), name


async def focused_name(page: Page) -> str:
    return str(
        await page.evaluate(
            """() => {
              const e = document.activeElement;
              const label = e.labels && e.labels[0] ? e.labels[0].textContent : e.textContent;
              return (e.closest('dialog') ? 'dialog:' : 'page:') + label.trim();
            }"""
        )
    )


async def test_the_dialog_works_by_keyboard_traps_focus_and_closes_on_escape(
    tab: Tab, api: Api
) -> None:
    merchant, payment = await shop(api, "Keyboard Kiosk", orderId="order_keys_1")
    page = await tab.sign_in(merchant)
    await page.get_by_role("link", name="order_keys_1").click()
    refund_button = page.get_by_role("button", name="Refund", exact=True)
    await refund_button.focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Refund")
    await expect(dialog).to_be_visible()
    assert await focused_name(page) == "dialog:Amount (₹)"

    seen = [await focused_name(page)]
    for _ in range(9):
        await page.keyboard.press("Tab")
        seen.append(await focused_name(page))
    assert all(name.startswith("dialog:") for name in seen), seen
    assert {
        "dialog:Reason",
        "dialog:Speed",
        "dialog:Notes",
        "dialog:Queue if balance is short",
        "dialog:Confirm refund",
        "dialog:Close",
    } <= set(seen)
    assert seen.count("dialog:Amount (₹)") >= 2  # Tab came round inside the dialog
    await dialog.get_by_role("textbox", name="Amount (₹)").focus()
    await page.keyboard.press("Shift+Tab")
    assert await focused_name(page) == "dialog:Close"  # and Shift+Tab the other way

    await page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
    assert await focused_name(page) == "page:Refund"  # back where it was opened

    await page.keyboard.press("Enter")
    await expect(dialog).to_be_visible()
    await page.keyboard.type("12.30")
    await page.keyboard.press("Enter")
    await expect(dialog).to_have_count(0)
    await expect(page.get_by_role("article")).to_contain_text("₹12.30")
    seen_api = await refunds_of(api, merchant, payment["id"])
    assert [r["amount"] for r in seen_api["refunds"]] == [12_30]


REFUND_IDS = """query($filter: RefundFilter) { refunds(first: 20, filter: $filter) {
  edges { node { id status } } } }"""


async def refunds_listed(
    api: Api, merchant: Merchant, status: str, count: int
) -> list[dict[str, Any]]:
    """The API's refunds with this status ("": all), once there are `count` of them (the
    processor settles them in about a second)."""
    edges: list[dict[str, Any]] = []

    async def listed() -> bool:
        nonlocal edges
        filter_ = {"status": [status]} if status else {}
        data = await api.gql(REFUND_IDS, {"filter": filter_}, token=merchant.key)
        edges = data["refunds"]["edges"]
        return len(edges) == count

    await wait_until(listed, f"{count} refunds {status or 'in all'}")
    return edges


async def test_the_refunds_status_filter_shows_what_the_api_returns(tab: Tab, api: Api) -> None:
    merchant = await api.create_merchant("Status Stall")
    await api.recharge(merchant, 1_000_00)
    for source in ["paid@okaxis", "frozen@okaxis", "paid2@okaxis"]:
        payment = await api.record_transaction(merchant, source=source)
        made = await api.initiate_refund(merchant, transactionId=payment["id"], amount=10_00)
        assert made["userErrors"] == []
    page = await tab.sign_in(merchant)
    await page.get_by_role("link", name="Refunds").click()
    table = page.get_by_role("table", name="Refunds")
    ids = table.locator("tbody tr td:nth-child(2)")
    for status in ["PROCESSED", "ACTION_REQUIRED", "CANCELLED", ""]:
        expected_count = {"PROCESSED": 2, "ACTION_REQUIRED": 1, "CANCELLED": 0, "": 3}[status]
        edges = await refunds_listed(api, merchant, status, expected_count)
        await page.get_by_role("combobox", name="Status").select_option(status)
        await expect(ids).to_have_text([e["node"]["id"] for e in edges])


async def test_sign_out_forgets_the_key(tab: Tab, api: Api) -> None:
    merchant = await api.create_merchant("Leaving Ltd")
    page = await tab.sign_in(merchant)
    await expect(page.get_by_role("table", name="Transactions")).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("textbox", name="API key")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0
    await page.reload()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert merchant.key not in page.url


async def test_a_bad_ifsc_is_shown_next_to_its_field_then_a_bank_account_takes_it_to_processed(
    tab: Tab, api: Api
) -> None:
    merchant, payment = await shop(
        api, "Frozen Yoghurt", amount=60_00, orderId="order_froyo_1", source="frozen@okhdfc"
    )
    page = await tab.sign_in(merchant)
    await page.get_by_role("link", name="order_froyo_1").click()
    await page.get_by_role("button", name="Refund", exact=True).click()
    await (
        page.get_by_role("dialog", name="Refund")
        .get_by_role("button", name="Confirm refund")
        .click()
    )
    refund = page.get_by_role("article")
    await expect(refund.get_by_text("ACTION_REQUIRED", exact=True).first).to_be_visible()
    refund_button = page.get_by_role("button", name="Refund", exact=True)
    await expect(refund_button).to_be_disabled()
    await expect(page.get_by_text("Nothing left to refund")).to_be_visible()

    await refund.get_by_role("button", name="Update destination").click()
    await refund.get_by_role("radio", name="a bank account").check()
    await refund.get_by_role("textbox", name="Account number").fill("50100012345678")
    ifsc = refund.get_by_role("textbox", name="IFSC")
    await ifsc.fill("HDFC123")
    await refund.get_by_role("textbox", name="Account holder").fill("Asha Rao")
    await refund.get_by_role("button", name="Save destination").click()
    await expect(refund.get_by_role("alert")).to_contain_text("IFSC")
    await expect(ifsc).to_have_attribute("aria-invalid", "true")
    assert (await refunds_of(api, merchant, payment["id"]))["refunds"][0]["status"] == (
        "ACTION_REQUIRED"
    )

    await ifsc.fill("HDFC0001234")
    await refund.get_by_role("button", name="Save destination").click()
    await expect(refund.get_by_text("PROCESSED", exact=True).first).to_be_visible()
    seen = await refunds_of(api, merchant, payment["id"])
    assert [(r["status"], r["destination"]["kind"]) for r in seen["refunds"]] == [
        ("PROCESSED", "BANK_ACCOUNT")
    ]


async def test_rupees_typed_become_exact_paise_and_paise_show_as_rupees(tab: Tab) -> None:
    await tab.page.goto(tab.base_url + "/")
    results = await tab.page.evaluate(
        """async () => {
          const { parseRupees, formatMoney } = await import("/static/dashboard/money.js");
          const parse = (t) => { try { return parseRupees(t); } catch (e) { return e.message; } };
          const typed = ["123.45", "0.1", "0.10", "₹1,234.5", " 7 ", "100.", "1.005", "-1",
                         "1e3", "", "12.3.4", "9007199254740.99"];
          return {
            parsed: typed.map(parse),
            sum: parseRupees("0.10") + parseRupees("0.20"),
            shown: [0, 5, 12345, 123456789, -1050].map((p) => formatMoney(p)),
          };
        }"""
    )
    not_an_amount = "Enter an amount in rupees, like 123.45."
    assert results["parsed"] == [
        12345,
        10,
        10,
        123450,
        700,
        10000,
        "At most two digits after the point: amounts are in whole paise.",
        not_an_amount,
        not_an_amount,
        not_an_amount,
        not_an_amount,
        900719925474099,
    ]
    assert results["sum"] == 30
    assert results["shown"] == ["₹0.00", "₹0.05", "₹123.45", "₹12,34,567.89", "-₹10.50"]
