"""refundSummary and the CSV exports over real HTTP, against what the API lists: the same
refunds and ledger entries, to the paisa; days in the merchant's time zone."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.api.account_state import merchant_with_balance
from tests.processing.live import wait_until
from tests.support import Api, Merchant

SUMMARY = """query($from: DateTime!, $to: DateTime!) {
  refundSummary(from: $from, to: $to) {
    from to timeZone total { count amount }
    byStatus { status count amount } byPaymentMethod { paymentMethod count amount }
    byReason { reason count amount } byDay { date count amount } } }"""
REFUNDS = """query($after: String, $filter: RefundFilter) {
  refunds(first: 100, after: $after, filter: $filter) { edges { node {
    id amount currency status reason speedRequested bankReference createdAt processedAt
    transaction { id orderId paymentMethod } } } pageInfo { hasNextPage endCursor } } }"""
LEDGER = """query($after: String) { viewer { ledger(first: 100, after: $after) {
  edges { node { id kind amount balanceAfter reference createdAt refund { id } } }
  pageInfo { hasNextPage endCursor } } } }"""


async def _all_refunds(api: Api, merchant: Merchant, filter_: dict[str, Any]) -> list[Any]:
    found: list[Any] = []
    after = None
    while True:
        page = (await api.gql(REFUNDS, {"after": after, "filter": filter_}, token=merchant.key))[
            "refunds"
        ]
        found += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def _all_ledger(api: Api, merchant: Merchant) -> list[Any]:
    found: list[Any] = []
    after = None
    while True:
        page = (await api.gql(LEDGER, {"after": after}, token=merchant.key))["viewer"]["ledger"]
        found += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def _export(api: Api, merchant: Merchant, what: str, **params: str) -> httpx.Response:
    return await api.http.get(
        f"/exports/{what}.csv", params=params, headers={"Authorization": f"Bearer {merchant.key}"}
    )


def _paise(major: str) -> int:
    return int(Decimal(major) * 100)


async def _shop(api: Api) -> Merchant:
    """Refunds of every payment method and several reasons, some FAILED, one CANCELLED, more
    than a page of them, all settled by the rails."""
    merchant = await merchant_with_balance(api, 10_000_00)
    methods = ["UPI", "CARD", "NET_BANKING", "WALLET"]
    reasons = ["CUSTOMER_REQUEST", "FRAUD", "OTHER"]
    for n in range(110):
        source = "reject@okaxis" if n % 9 == 0 else "customer@okaxis"
        paid = await api.record_transaction(
            merchant, amount=10_00 + n, paymentMethod=methods[n % 4], source=source
        )
        payload = await api.initiate_refund(
            merchant, transactionId=paid["id"], amount=1_01 + n, reason=reasons[n % 3]
        )
        assert payload["userErrors"] == []
    held = await api.record_transaction(merchant, amount=1_000_000_00)
    waiting = await api.initiate_refund(
        merchant, transactionId=held["id"], amount=999_999_00, queueIfInsufficientBalance=True
    )
    assert (await api.cancel_refund(merchant, waiting["refund"]["id"]))["userErrors"] == []

    async def settled() -> bool:
        moving = {"filter": {"status": ["PENDING", "PROCESSING"]}}
        found = await api.gql(
            "query($filter: RefundFilter) { refunds(filter: $filter) { totalCount } }",
            moving,
            token=merchant.key,
        )
        return bool(found["refunds"]["totalCount"] == 0)

    await wait_until(settled, "the rails to settle every refund")
    return merchant


def _window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }


async def test_summary_and_exports_agree_with_the_api_to_the_paisa(api: Api) -> None:
    # given a shop whose refunds have all settled, and the API's own lists of them
    merchant = await _shop(api)
    window = _window()
    listed = await _all_refunds(
        api, merchant, {"createdFrom": window["from"], "createdTo": window["to"]}
    )
    assert len(listed) == 111
    # when the summary is asked for the same window
    summary = (await api.gql(SUMMARY, window, token=merchant.key))["refundSummary"]
    # then its totals are the list's, every breakdown adding up to the total
    total = sum(r["amount"] for r in listed)
    assert summary["total"] == {"count": 111, "amount": total}
    assert summary["timeZone"] == "Asia/Kolkata"

    def totals(key: Any) -> dict[str, tuple[int, int]]:
        grouped: dict[str, list[int]] = defaultdict(list)
        for r in listed:
            grouped[key(r)].append(r["amount"])
        return {k: (len(v), sum(v)) for k, v in grouped.items()}

    def rows(name: str, key: str) -> dict[str, tuple[int, int]]:
        return {row[key]: (row["count"], row["amount"]) for row in summary[name]}

    assert rows("byStatus", "status") == totals(lambda r: r["status"])
    assert rows("byReason", "reason") == totals(lambda r: r["reason"])
    assert rows("byPaymentMethod", "paymentMethod") == totals(
        lambda r: r["transaction"]["paymentMethod"]
    )
    kolkata = ZoneInfo("Asia/Kolkata")
    assert rows("byDay", "date") == totals(
        lambda r: datetime.fromisoformat(r["createdAt"]).astimezone(kolkata).date().isoformat()
    )
    assert set(Counter(r["status"] for r in listed)) >= {"PROCESSED", "FAILED", "CANCELLED"}

    # and the refunds export has the list's rows, in its order, to the paisa
    answer = await _export(api, merchant, "refunds", **window)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    exported = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["id"] for r in exported] == [r["id"] for r in listed]
    assert [_paise(r["amount"]) for r in exported] == [r["amount"] for r in listed]
    for row, refund in zip(exported, listed, strict=True):
        assert row["status"] == refund["status"]
        assert row["reason"] == refund["reason"]
        assert row["transaction_id"] == refund["transaction"]["id"]
        assert row["order_id"] == refund["transaction"]["orderId"]
        assert row["created_at"] == refund["createdAt"]
        assert row["processed_at"] == (refund["processedAt"] or "")
        assert row["bank_reference"] == (refund["bankReference"] or "")
    # narrowed by status as the list is
    failed = await _export(api, merchant, "refunds", status="FAILED,CANCELLED", **window)
    failed_rows = list(csv.DictReader(io.StringIO(failed.text)))
    listed_failed = await _all_refunds(
        api,
        merchant,
        {
            "createdFrom": window["from"],
            "createdTo": window["to"],
            "status": ["FAILED", "CANCELLED"],
        },
    )
    assert [r["id"] for r in failed_rows] == [r["id"] for r in listed_failed]

    # and the ledger export is the ledger, entry by entry
    ledger = await _all_ledger(api, merchant)
    exported_ledger = list(
        csv.DictReader(io.StringIO((await _export(api, merchant, "ledger", **window)).text))
    )
    assert [r["id"] for r in exported_ledger] == [e["id"] for e in ledger]
    for row, entry in zip(exported_ledger, ledger, strict=True):
        assert (row["kind"], _paise(row["amount"]), _paise(row["balance_after"])) == (
            entry["kind"],
            entry["amount"],
            entry["balanceAfter"],
        )
        assert row["refund_id"] == (entry["refund"]["id"] if entry["refund"] else "")
        assert row["created_at"] == entry["createdAt"]


async def test_an_empty_window_and_another_merchant_export_nothing_of_mine(api: Api) -> None:
    merchant = await merchant_with_balance(api, 100_00)
    paid = await api.record_transaction(merchant, amount=10_00)
    await api.initiate_refund(merchant, transactionId=paid["id"], amount=1_00)
    other = await api.create_merchant()
    window = _window()
    mine = await _export(api, merchant, "refunds", **window)
    assert len(mine.text.splitlines()) == 2
    theirs = await _export(api, other, "refunds", **window)
    assert theirs.text.splitlines() == mine.text.splitlines()[:1]  # the header only
    assert (await _export(api, other, "ledger", **window)).text.splitlines() == [
        "id,kind,amount,balance_after,refund_id,reference,created_at"
    ]
    summary = (await api.gql(SUMMARY, window, token=other.key))["refundSummary"]
    assert summary["total"] == {"count": 0, "amount": 0}
    assert summary["byDay"] == []
    past = {"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00+05:30"}
    assert len((await _export(api, merchant, "refunds", **past)).text.splitlines()) == 1


async def test_bad_export_requests_are_refused_clearly(api: Api) -> None:
    merchant = await api.create_merchant()
    window = _window()
    for params in [
        {},
        {"from": window["from"]},
        {"from": "yesterday", "to": window["to"]},
        {"from": "2026-01-01T00:00:00", "to": window["to"]},
        {"from": window["to"], "to": window["from"]},
        {**window, "status": "LOST"},
    ]:
        answer = await _export(api, merchant, "refunds", **params)
        assert answer.status_code == 400, params
        assert answer.json()["errors"][0]["code"] == "BAD_REQUEST"
    anonymous = await api.http.get("/exports/ledger.csv", params=window)
    assert anonymous.status_code == 401
    backwards = await api.post(
        SUMMARY, {"from": window["to"], "to": window["from"]}, token=merchant.key
    )
    assert backwards.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
