"""The lists' richer filters over HTTP, on both read paths (compiled and strawberry): refunds by
orderId, reason, speed and bankReference; transactions by refundState."""

from __future__ import annotations

import json
from typing import Any

from tests.api.both_paths import Both
from tests.processing.live import wait_until
from tests.support import Api, Merchant

REFUNDS = """query($filter: RefundFilter) {
  refunds(first: 100, filter: $filter) { totalCount edges { node { id } } }
}"""
TRANSACTIONS = """query($filter: TransactionFilter) {
  transactions(first: 100, filter: $filter) { totalCount edges { node { id } } }
}"""


async def _ids(both: Both, merchant: Merchant, query: str, filter_: dict[str, Any]) -> set[str]:
    _status, body = await both.compare(
        {"query": query, "variables": {"filter": filter_}}, merchant.key
    )

    data = json.loads(body)["data"]
    connection = data["refunds"] if "refunds" in data else data["transactions"]
    found = {edge["node"]["id"] for edge in connection["edges"]}
    assert connection["totalCount"] == len(found)
    return found


async def _refund(api: Api, merchant: Merchant, tx: dict[str, Any], **fields: Any) -> str:
    payload = await api.initiate_refund(merchant, transactionId=tx["id"], **fields)
    assert payload["userErrors"] == [], payload
    return str(payload["refund"]["id"])


async def test_refunds_filter_by_order_reason_speed_and_bank_reference(
    api: Api, both: Both
) -> None:
    # given two transactions of one order, one of another, refunded for different reasons
    merchant = await api.create_merchant()
    await api.recharge(merchant, 1_000_00)
    a = await api.record_transaction(merchant, orderId="order-1")
    b = await api.record_transaction(merchant, orderId="order-1")
    c = await api.record_transaction(merchant, orderId="order-2")
    r1 = await _refund(api, merchant, a, amount=10_00, reason="CUSTOMER_REQUEST")
    r2 = await _refund(api, merchant, b, reason="FRAUD", speed="INSTANT")
    r3 = await _refund(api, merchant, c, amount=5_00, reason="PRODUCT_ISSUE")

    async def bank_reference() -> str | None:
        data = await api.gql(
            "query($id: ID!) { refund(id: $id) { bankReference } }", {"id": r2}, token=merchant.key
        )
        found: str | None = data["refund"]["bankReference"]
        return found

    await wait_until(bank_reference, "the sandbox rails to pay the refund")
    arn = await bank_reference()
    assert arn is not None

    async def refunds(filter_: dict[str, Any]) -> set[str]:
        return await _ids(both, merchant, REFUNDS, filter_)

    # then each filter finds exactly its refunds, on both paths
    assert await refunds({"orderId": "order-1"}) == {r1, r2}
    assert await refunds({"orderId": "order-2"}) == {r3}
    assert await refunds({"orderId": "order-3"}) == set()
    assert await refunds({"reason": ["FRAUD", "PRODUCT_ISSUE"]}) == {r2, r3}
    assert await refunds({"reason": ["DUPLICATE_PAYMENT"]}) == set()
    assert await refunds({"speed": "INSTANT"}) == {r2}
    assert await refunds({"speed": "NORMAL"}) == {r1, r3}
    assert await refunds({"bankReference": arn}) == {r2}
    assert await refunds({"bankReference": arn + "0"}) == set()
    assert await refunds({"orderId": "order-1", "reason": ["CUSTOMER_REQUEST"]}) == {r1}


async def test_another_merchants_order_or_bank_reference_finds_nothing(
    api: Api, both: Both
) -> None:
    # given a refund of one merchant's order
    merchant = await api.create_merchant()
    other = await api.create_merchant()
    await api.recharge(merchant, 100_00)
    tx = await api.record_transaction(merchant, orderId="shared-order")
    await _refund(api, merchant, tx, amount=1_00)
    # then another merchant filtering by the same order id finds nothing
    assert await _ids(both, other, REFUNDS, {"orderId": "shared-order"}) == set()


async def test_transactions_filter_by_refund_state(api: Api, both: Both) -> None:
    # given one transaction untouched, one partly refunded, one fully refunded (in two parts),
    # and one whose only refund was cancelled
    merchant = await api.create_merchant()
    await api.recharge(merchant, 1_000_00)
    none = await api.record_transaction(merchant, amount=50_00)
    partial = await api.record_transaction(merchant, amount=50_00)
    full = await api.record_transaction(merchant, amount=50_00)
    cancelled = await api.record_transaction(merchant, amount=50_00)
    await _refund(api, merchant, partial, amount=49_99)
    await _refund(api, merchant, full, amount=20_00)
    await _refund(api, merchant, full, amount=30_00)
    held = await api.initiate_refund(
        merchant, transactionId=cancelled["id"], amount=1_000_01, queueIfInsufficientBalance=True
    )
    assert held["userErrors"][0]["code"] == "AMOUNT_EXCEEDS_REFUNDABLE"
    on_hold = await api.record_transaction(merchant, amount=2_000_00)
    queued = await _refund(api, merchant, on_hold, amount=1_500_00, queueIfInsufficientBalance=True)
    assert (await api.cancel_refund(merchant, queued))["userErrors"] == []

    async def transactions(state: str) -> set[str]:
        return await _ids(both, merchant, TRANSACTIONS, {"refundState": state})

    # then each state finds its transactions, a cancelled refund holding nothing
    assert await transactions("NONE") == {none["id"], cancelled["id"], on_hold["id"]}
    assert await transactions("PARTIAL") == {partial["id"]}
    assert await transactions("FULL") == {full["id"]}
