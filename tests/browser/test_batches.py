"""The dashboard's Batches screen in Chromium: a CSV uploaded through `POST /refund-batches`,
its progress followed live over refundBatchUpdated, cancelled, and its results downloaded;
each checked through the API."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from playwright.async_api import FilePayload, Page, expect

from tests.api.account_state import merchant_with_balance
from tests.api.batches import applied, batch
from tests.browser.conftest import Tab
from tests.support import Api, Merchant

HEADER = "transaction_id,order_id,amount,reason,speed,notes,idempotency_key\n"


async def choose_file(page: Page, body: str, name: str = "refunds.csv") -> None:
    await page.get_by_role("link", name="Batches").click()
    await expect(page.get_by_role("heading", name="Batches", exact=True)).to_be_visible()
    payload: FilePayload = {"name": name, "mimeType": "text/csv", "buffer": body.encode()}
    await page.get_by_label("CSV file").set_input_files(files=[payload])


async def batch_count(api: Api, merchant: Merchant) -> int:
    found = await api.gql("{ refundBatches { totalCount } }", token=merchant.key)
    return int(found["refundBatches"]["totalCount"])


def batch_id_of(page: Page) -> str:
    found = re.search(r"#/batches/(rbt_[^/]+)$", page.url)
    assert found, page.url
    return found.group(1)


async def test_a_csv_sent_twice_at_once_is_one_batch_followed_to_the_end_with_its_results(
    tab: Tab, api: Api, tmp_path: Path
) -> None:
    # given two payments (one named by its order) and one more refund than the second allows
    merchant = await merchant_with_balance(api, 1_000_00)
    paid = await api.record_transaction(merchant, amount=100_00)
    await api.record_transaction(merchant, amount=50_00, orderId="ORD-77")
    body = (
        HEADER
        + f"{paid['id']},,12.34,CUSTOMER_REQUEST,,Broken cup,\n"
        + ",ORD-77,,ORDER_CANCELLED,INSTANT,,\n"
        + ",ORD-77,0.01,ORDER_CANCELLED,,,\n"
    )
    page = await tab.sign_in(merchant)
    await choose_file(page, body)
    # when the form is submitted twice before the first answer (a double click)
    form = page.get_by_role("form", name="Upload a batch")
    await form.evaluate("form => { form.requestSubmit(); form.requestSubmit(); }")
    # then the page follows the batch live to its final state, with its counts
    progress = page.get_by_role("status", name="Batch progress")
    await expect(progress).to_have_text(
        "COMPLETED: 3 of 3 items done: 2 refunds created, 1 refused, 0 cancelled."
    )
    await expect(page.get_by_role("progressbar", name="Items done")).to_have_attribute("value", "3")
    await expect(page.get_by_role("button", name="Cancel batch")).to_be_hidden()
    await expect(page.get_by_role("definition").first).to_have_text("COMPLETED")
    batch_id = batch_id_of(page)
    await expect(page.get_by_role("heading", name=f"Batch {batch_id}")).to_be_visible()
    await tab.screenshot("batch-completed")
    assert await batch_count(api, merchant) == 1  # the same key both times: one batch

    # and the results file downloaded from the page has a row per item, as the API says
    async with page.expect_download() as started:
        await page.get_by_role("button", name="Download results").click()
    download = await started.value
    assert download.suggested_filename == f"{batch_id}-results.csv"
    saved = tmp_path / "results.csv"
    await download.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    found = await batch(api, merchant, batch_id)
    assert found is not None
    items: list[dict[str, Any]] = found["items"]
    assert [r["status"] for r in rows] == [i["status"] for i in items]
    assert [r["status"] for r in rows] == ["CREATED", "CREATED", "REFUSED"]
    assert [r["refund_id"] for r in rows] == [(i["refund"] or {}).get("id", "") for i in items]
    assert [r["amount"] for r in rows] == ["12.34", "", "0.01"]
    assert rows[2]["error_code"] == items[2]["userErrors"][0]["code"]
    assert [i["refund"]["amount"] for i in items[:2]] == [12_34, 50_00]

    # and the list of batches shows it
    await page.get_by_role("link", name="All batches").click()
    listed = page.get_by_role("table", name="Batches")
    row = listed.get_by_role("row").filter(has_text=batch_id)
    await expect(row).to_contain_text("COMPLETED")
    await expect(listed.get_by_role("row")).to_have_count(2)  # the heading row and this one


async def test_a_bad_csv_names_each_bad_row_and_creates_nothing(tab: Tab, api: Api) -> None:
    merchant = await merchant_with_balance(api, 1_000_00)
    paid = await api.record_transaction(merchant, amount=100_00)
    body = (
        HEADER
        + f"{paid['id']},,10.00,CUSTOMER_REQUEST,,,\n"
        + f"{paid['id']},,12.345,CUSTOMER_REQUEST,,,\n"
        + f"{paid['id']},,1.00,BECAUSE,,,\n"
        + f"{paid['id']},ORD-1,1.00,OTHER,,,\n"
    )
    tab.expect_console(r"Failed to load resource: the server responded with a status of 400")
    page = await tab.sign_in(merchant)
    await choose_file(page, body)
    await page.get_by_role("button", name="Upload batch").click()

    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("The file has 3 problems; no batch was created.")
    problems = page.get_by_role("list", name="Problems in the file").get_by_role("listitem")
    await expect(problems).to_have_count(3)
    await expect(problems.nth(0)).to_contain_text("Row 2, column amount:")
    await expect(problems.nth(0)).to_contain_text("more than 2 decimals")
    await expect(problems.nth(1)).to_contain_text("Row 3, column reason:")
    await expect(problems.nth(1)).to_contain_text("CUSTOMER_REQUEST")
    await expect(problems.nth(2)).to_contain_text("Row 4:")
    await expect(problems.nth(2)).to_contain_text("exactly one of transactionId or orderId")
    await tab.screenshot("batch-bad-csv")
    # nothing was created
    assert await batch_count(api, merchant) == 0
    assert await api.balance(merchant) == 1_000_00
    await expect(page.get_by_role("table", name="Batches").get_by_role("row")).to_have_count(1)


async def test_a_big_batch_cancelled_from_the_page_mid_way_keeps_what_was_applied(
    tab: Tab, api: Api
) -> None:
    # given 2,000 items of ₹0.01 over eight payments (many more than one commit applies)
    merchant = await merchant_with_balance(api, 1_000_00)
    payments = [await api.record_transaction(merchant, amount=100_00) for _ in range(8)]
    body = HEADER + "".join(f"{payments[n % 8]['id']},,0.01,OTHER,,,\n" for n in range(2_000))
    page = await tab.sign_in(merchant)
    await choose_file(page, body)
    await page.get_by_role("button", name="Upload batch").click()
    # when it is cancelled once the page shows it under way
    progress = page.get_by_role("status", name="Batch progress")
    await expect(progress).to_have_text(re.compile(r"^RUNNING: [1-9]\d* of 2000 items done"))
    await page.get_by_role("button", name="Cancel batch").click()
    # then the page shows it cancelled, and the API agrees on what was applied
    await expect(progress).to_contain_text("CANCELLED: 2000 of 2000 items done")
    done = await applied(api, merchant, batch_id_of(page))
    assert done["status"] == "CANCELLED"
    assert done["created"] > 0
    assert done["cancelled"] > 0
    assert done["created"] + done["cancelled"] == 2_000
    await expect(progress).to_have_text(
        f"CANCELLED: 2000 of 2000 items done: {done['created']} refunds created, 0 refused, "
        f"{done['cancelled']} cancelled."
    )
    await expect(page.get_by_role("button", name="Cancel batch")).to_be_hidden()
    assert await api.balance(merchant) == 1_000_00 - done["created"]
