"""Refund batches over real HTTP, applied by the real server's processor: each item exactly
like one initiateRefund, a refused item not stopping the others; resubmission, cancellation,
races with single refunds, tenancy."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from tests.api.account_state import account, merchant_with_balance, transaction
from tests.api.batches import CANCEL, applied, batch, submit
from tests.processing.live import wait_until
from tests.support import Api

CUSTOMER = "CUSTOMER_REQUEST"


def _outcomes(found: dict[str, Any]) -> list[str]:
    """Each item's status, or its refusal's code."""
    return [
        item["userErrors"][0]["code"] if item["status"] == "REFUSED" else item["status"]
        for item in found["items"]
    ]


async def test_a_batch_applies_good_items_and_refuses_the_rest_item_by_item(api: Api) -> None:
    # given payments of every kind, and one order paid once
    merchant = await merchant_with_balance(api, 1_000_00)
    good = await api.record_transaction(merchant, amount=100_00)
    small = await api.record_transaction(merchant, amount=10_00)
    failed = await api.record_transaction(merchant, status="FAILED")
    by_order = await api.record_transaction(merchant, amount=40_00, orderId="ord-77")
    items = [
        {"transactionId": good["id"], "amount": 25_00, "reason": CUSTOMER},
        {"transactionId": small["id"], "amount": 10_01, "reason": CUSTOMER},
        {"transactionId": failed["id"], "reason": CUSTOMER},
        {"orderId": "no-such-order", "reason": CUSTOMER},
        {"orderId": "ord-77", "reason": "ORDER_CANCELLED", "notes": "cancelled sale"},
        {"transactionId": "txn_" + "0" * 32, "amount": 1_00, "reason": CUSTOMER},
        {"transactionId": small["id"], "reason": "OTHER", "speed": "INSTANT"},
    ]
    # when it is submitted
    payload = await submit(api, merchant, items)
    # then it is accepted whole, RUNNING, and applied in the background
    assert payload["userErrors"] == []
    assert payload["batch"]["total"] == 7
    done = await applied(api, merchant, payload["batch"]["id"])
    assert done["status"] == "COMPLETED"
    assert done["completedAt"] is not None
    assert _outcomes(done) == [
        "CREATED",
        "AMOUNT_EXCEEDS_REFUNDABLE",
        "TRANSACTION_NOT_REFUNDABLE",
        "TRANSACTION_NOT_FOUND",
        "CREATED",
        "TRANSACTION_NOT_FOUND",
        "CREATED",
    ]
    assert (done["created"], done["refused"], done["cancelled"]) == (3, 4, 0)
    # the refusals are initiateRefund's own userErrors
    assert done["items"][1]["userErrors"][0]["field"] == ["input", "amount"]
    created = [item["refund"] for item in done["items"] if item["status"] == "CREATED"]
    assert [r["amount"] for r in created] == [25_00, 40_00, 10_00]
    assert created[1]["transaction"]["id"] == by_order["id"]
    # and every paisa is in the ledger
    state = await account(api, merchant)
    assert sorted(e["amount"] for e in state.entries("REFUND_DEBIT")) == [10_00, 25_00, 40_00]
    assert state.balance == 1_000_00 - 75_00 + sum(
        e["amount"] for e in state.entries("REFUND_REVERSAL")
    )


async def test_five_items_on_one_payment_refund_exactly_the_ones_that_fit(api: Api) -> None:
    # given a payment of 100.00 and five items of 30.00 on it
    merchant = await merchant_with_balance(api, 1_000_00)
    paid = await api.record_transaction(merchant, amount=100_00)
    items = [{"transactionId": paid["id"], "amount": 30_00, "reason": CUSTOMER}] * 5
    # when the batch is applied
    done = await applied(api, merchant, (await submit(api, merchant, items))["batch"]["id"])
    # then the first three fit and the last two are refused
    assert _outcomes(done) == ["CREATED"] * 3 + ["AMOUNT_EXCEEDS_REFUNDABLE"] * 2
    after = await transaction(api, merchant, paid["id"])
    assert after["refundedAmount"] == 90_00
    assert after["refundableAmount"] == 10_00


async def test_a_batch_racing_single_refunds_never_over_refunds(api: Api) -> None:
    # given ten payments of 50.00, a batch of 20.00 items on each (four per payment)
    merchant = await merchant_with_balance(api, 10_000_00)
    payments = [await api.record_transaction(merchant, amount=50_00) for _ in range(10)]
    items = [
        {"transactionId": p["id"], "amount": 20_00, "reason": CUSTOMER}
        for _ in range(4)
        for p in payments
    ]
    # when single refunds of 20.00 on the same payments arrive while it is applied
    submitted = submit(api, merchant, items)
    singles = [
        api.initiate_refund(merchant, transactionId=p["id"], amount=20_00)
        for _ in range(2)
        for p in payments
    ]
    payload, *single_payloads = await asyncio.gather(submitted, *singles)
    done = await applied(api, merchant, payload["batch"]["id"])
    # then no payment is refunded beyond its amount: two of 20.00 fit each, whoever asked
    made_by_singles = sum(1 for p in single_payloads if p["refund"])
    assert done["created"] + made_by_singles == 20
    expected = {"CREATED": done["created"], "AMOUNT_EXCEEDS_REFUNDABLE": 40 - done["created"]}
    assert Counter(_outcomes(done)) == +Counter(expected)
    for p in payments:
        assert (await transaction(api, merchant, p["id"]))["refundedAmount"] == 40_00
    state = await account(api, merchant)
    assert len(state.entries("REFUND_DEBIT")) == 20
    assert state.ledger[-1]["balanceAfter"] == state.balance


async def test_resubmitting_a_batch_returns_the_same_batch(api: Api) -> None:
    merchant = await merchant_with_balance(api, 1_000_00)
    paid = await api.record_transaction(merchant, amount=100_00)
    items = [{"transactionId": paid["id"], "amount": 10_00, "reason": CUSTOMER}] * 2
    first = await submit(api, merchant, items, key="monday-refunds")
    # when the same batch comes again with its key, before and after it is applied
    again = await submit(api, merchant, items, key="monday-refunds")
    done = await applied(api, merchant, first["batch"]["id"])
    later = await submit(api, merchant, items, key="monday-refunds")
    # then it is the same batch, applied once
    assert again["batch"]["id"] == first["batch"]["id"] == later["batch"]["id"]
    assert later["batch"]["created"] == done["created"] == 2
    assert (await transaction(api, merchant, paid["id"]))["refundedAmount"] == 20_00
    # and the key with other items is refused, nothing created
    other = await submit(api, merchant, items[:1], key="monday-refunds")
    assert other["batch"] is None
    assert [e["code"] for e in other["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]


async def test_an_items_own_key_replays_a_refund_made_before(api: Api) -> None:
    # given a refund made alone with a key
    merchant = await merchant_with_balance(api, 1_000_00)
    paid = await api.record_transaction(merchant, amount=100_00)
    alone = await api.initiate_refund(
        merchant, transactionId=paid["id"], amount=10_00, idempotencyKey="r-1"
    )
    # when a batch item asks the same with the same key
    item = {
        "transactionId": paid["id"],
        "amount": 10_00,
        "reason": CUSTOMER,
        "idempotencyKey": "r-1",
    }
    done = await applied(api, merchant, (await submit(api, merchant, [item]))["batch"]["id"])
    # then it is that refund, not a second one
    assert done["items"][0]["refund"]["id"] == alone["refund"]["id"]
    assert (await transaction(api, merchant, paid["id"]))["refundedAmount"] == 10_00


async def test_cancelling_a_running_batch_cancels_what_is_not_yet_applied(api: Api) -> None:
    # given a batch of 2,000 items (many more than the applier's first commits hold)
    merchant = await merchant_with_balance(api, 10_000_000)
    payments = [await api.record_transaction(merchant, amount=1_000_00) for _ in range(8)]
    items = [
        {"transactionId": payments[n % 8]["id"], "amount": 1_00, "reason": CUSTOMER}
        for n in range(2_000)
    ]
    payload = await submit(api, merchant, items)
    batch_id = payload["batch"]["id"]

    async def started() -> bool:
        found = await api.gql(
            "query($id: ID!) { refundBatch(id: $id) { created } }",
            {"id": batch_id},
            token=merchant.key,
        )
        return bool(found["refundBatch"]["created"] > 0)

    # when it is cancelled mid-way, once it has begun
    await wait_until(started, "the batch's first refund")
    cancelled = (await api.gql(CANCEL, {"id": batch_id}, token=merchant.key))["cancelRefundBatch"]
    # then what was applied stays, the rest is cancelled, and nothing more happens
    assert cancelled["userErrors"] == []
    assert cancelled["batch"]["status"] == "CANCELLED"
    done = await applied(api, merchant, batch_id)
    assert done["created"] > 0
    assert done["cancelled"] > 0
    assert done["created"] + done["cancelled"] == 2_000
    assert {i["status"] for i in done["items"]} == {"CREATED", "CANCELLED"}
    await asyncio.sleep(0.5)
    again = await batch(api, merchant, batch_id)
    assert again is not None
    assert again["created"] == done["created"]
    ledger = await api.gql("{ viewer { ledger(first: 0) { totalCount } } }", token=merchant.key)
    assert ledger["viewer"]["ledger"]["totalCount"] == 1 + done["created"]  # the recharge
    # and cancelling it again changes nothing
    twice = (await api.gql(CANCEL, {"id": batch_id}, token=merchant.key))["cancelRefundBatch"]
    assert twice["userErrors"] == []
    assert twice["batch"]["cancelled"] == done["cancelled"]


async def test_a_completed_batch_cannot_be_cancelled(api: Api) -> None:
    merchant = await merchant_with_balance(api, 1_000_00)
    paid = await api.record_transaction(merchant, amount=100_00)
    items = [{"transactionId": paid["id"], "amount": 1_00, "reason": CUSTOMER}]
    done = await applied(api, merchant, (await submit(api, merchant, items))["batch"]["id"])
    answer = (await api.gql(CANCEL, {"id": done["id"]}, token=merchant.key))["cancelRefundBatch"]
    assert [e["code"] for e in answer["userErrors"]] == ["REFUND_BATCH_NOT_CANCELLABLE"]


async def test_a_malformed_batch_is_refused_whole_listing_every_fault(api: Api) -> None:
    merchant = await merchant_with_balance(api, 1_000_00)
    paid = await api.record_transaction(merchant, amount=100_00)
    items = [
        {"transactionId": paid["id"], "amount": 1_00, "reason": CUSTOMER},
        {"transactionId": paid["id"], "orderId": "o-1", "reason": CUSTOMER},
        {"reason": CUSTOMER},
        {"transactionId": paid["id"], "amount": 0, "reason": CUSTOMER},
        {"transactionId": paid["id"], "notes": "n" * 1001, "reason": CUSTOMER},
        {"transactionId": paid["id"], "reason": CUSTOMER, "idempotencyKey": "same"},
        {"transactionId": paid["id"], "reason": CUSTOMER, "idempotencyKey": "same"},
    ]
    payload = await submit(api, merchant, items)
    assert payload["batch"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_INPUT", ["input", "items", "1"]),
        ("INVALID_INPUT", ["input", "items", "2"]),
        ("AMOUNT_INVALID", ["input", "items", "3", "amount"]),
        ("INVALID_INPUT", ["input", "items", "4", "notes"]),
        ("INVALID_INPUT", ["input", "items", "6", "idempotencyKey"]),
    ]
    empty = await submit(api, merchant, [])
    assert [(e["code"], e["field"]) for e in empty["userErrors"]] == [
        ("INVALID_INPUT", ["input", "items"])
    ]
    listed = await api.gql("{ refundBatches { totalCount } }", token=merchant.key)
    assert listed["refundBatches"]["totalCount"] == 0
    assert (await account(api, merchant)).refund_ids == frozenset()


async def test_another_merchants_batch_is_not_found(api: Api) -> None:
    owner = await merchant_with_balance(api, 1_000_00)
    other = await api.create_merchant()
    paid = await api.record_transaction(owner, amount=100_00)
    items = [{"transactionId": paid["id"], "amount": 1_00, "reason": CUSTOMER}]
    batch_id = (await submit(api, owner, items))["batch"]["id"]
    # a stranger neither sees it, nor lists it, nor cancels it
    assert await batch(api, other, batch_id) is None
    node = await api.gql(
        "query($id: ID!) { node(id: $id) { id } }", {"id": batch_id}, token=other.key
    )
    assert node["node"] is None
    listed = await api.gql("{ refundBatches { totalCount } }", token=other.key)
    assert listed["refundBatches"]["totalCount"] == 0
    cancel = (await api.gql(CANCEL, {"id": batch_id}, token=other.key))["cancelRefundBatch"]
    assert [e["code"] for e in cancel["userErrors"]] == ["REFUND_BATCH_NOT_FOUND"]
    # and a stranger's item naming the owner's payment finds no such payment
    theirs_id = (await submit(api, other, items))["batch"]["id"]
    theirs = await applied(api, other, theirs_id)
    assert _outcomes(theirs) == ["TRANSACTION_NOT_FOUND"]
    done = await applied(api, owner, batch_id)
    assert _outcomes(done) == ["CREATED"]
