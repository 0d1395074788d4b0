"""Many refund requests at once, over real HTTP to the real server and its connection pool.

Nothing here mocks a lock: the requests race for the same transaction row, the same merchant
balance row or the same idempotency key, and the results must be exactly what one-at-a-time
processing would give."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api import rails
from tests.api.account_state import account, merchant_with_balance, transaction
from tests.support import Api, Merchant


async def _at_once(
    api: Api, merchant: Merchant, inputs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(api.initiate_refund(merchant, **i) for i in inputs)))


def _codes(payloads: list[dict[str, Any]]) -> Counter[str]:
    """How many requests succeeded ("OK") and how many failed with each code."""
    return Counter(p["userErrors"][0]["code"] if p["userErrors"] else "OK" for p in payloads)


async def test_fifty_partial_refunds_at_once_never_exceed_the_transaction_amount(
    api: Api,
) -> None:
    # given a payment of 10,000 and a balance that covers far more
    merchant = await merchant_with_balance(api, 1_000_000)
    paid = await api.record_transaction(merchant, amount=10_000)
    # when 50 refunds of 300 arrive at once
    payloads = await _at_once(api, merchant, [{"transactionId": paid["id"], "amount": 300}] * 50)
    # then exactly 33 fit (9,900) and 17 are refused
    assert _codes(payloads) == {"OK": 33, "AMOUNT_EXCEEDS_REFUNDABLE": 17}
    assert {p["refund"]["amount"] for p in payloads if p["refund"]} == {300}
    after = await transaction(api, merchant, paid["id"])
    assert after["refundedAmount"] == 9_900
    assert after["refundableAmount"] == 100
    assert len(after["refunds"]) == 33
    state = await account(api, merchant)
    assert state.balance == 1_000_000 - 9_900
    assert [e["amount"] for e in state.entries("REFUND_DEBIT")] == [300] * 33
    assert state.ledger[-1]["balanceAfter"] == state.balance


async def test_refunds_racing_for_one_balance_take_exactly_what_it_covers(api: Api) -> None:
    # given 25 payments and a balance that covers exactly 10 refunds of 700
    merchant = await merchant_with_balance(api, 7_000)
    payments = [await api.record_transaction(merchant, amount=700) for _ in range(25)]
    # when a full refund of each arrives at once
    payloads = await _at_once(api, merchant, [{"transactionId": p["id"]} for p in payments])
    # then 10 succeed and the rest are refused for lack of balance
    assert _codes(payloads) == {"OK": 10, "INSUFFICIENT_BALANCE": 15}
    state = await account(api, merchant)
    assert state.balance == 0
    debits = state.entries("REFUND_DEBIT")
    recharges = state.entries("RECHARGE")
    assert sum(e["amount"] for e in recharges) - sum(e["amount"] for e in debits) == 0
    # each debit took 700 from what the one before left
    assert [e["balanceAfter"] for e in debits] == list(range(6_300, -1, -700))
    refunded = {p["refund"]["id"] for p in payloads if p["refund"]}
    assert {e["refund"]["id"] for e in debits} == refunded == state.refund_ids


async def test_one_idempotency_key_sent_thirty_times_at_once_makes_one_refund(api: Api) -> None:
    # given
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    request = {"transactionId": paid["id"], "amount": 1_000, "idempotencyKey": "order-7-refund"}
    # when the same request arrives 30 times at once
    payloads = await _at_once(api, merchant, [request] * 30)
    # then there is one refund, and each answer is that refund or "still running"
    state = await account(api, merchant)
    assert len(state.refund_ids) == 1
    (refund_id,) = state.refund_ids
    for payload in payloads:
        if payload["refund"] is not None:
            assert payload["refund"]["id"] == refund_id
        else:
            assert [e["code"] for e in payload["userErrors"]] == ["IDEMPOTENCY_KEY_IN_USE"]
    assert any(p["refund"] for p in payloads)
    assert state.balance == 9_000
    assert state.entries_for(refund_id) == [("REFUND_DEBIT", 1_000)]


async def test_an_idempotency_key_reused_with_another_amount_is_refused(api: Api) -> None:
    # given a refund made with a key
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    key = f"key-{secrets.token_hex(4)}"
    first = await api.initiate_refund(
        merchant, transactionId=paid["id"], amount=1_000, idempotencyKey=key
    )
    assert first["userErrors"] == []
    before = await account(api, merchant)
    # when the key comes back with other amounts, several at once
    payloads = await _at_once(
        api,
        merchant,
        [
            {"transactionId": paid["id"], "amount": 1_000 + n, "idempotencyKey": key}
            for n in range(1, 6)
        ],
    )
    # then each is refused, and nothing was created
    for payload in payloads:
        assert payload["refund"] is None
        assert payload["userErrors"] == [
            {
                "code": "IDEMPOTENCY_KEY_REUSED",
                "field": ["input", "idempotencyKey"],
                "message": payload["userErrors"][0]["message"],
            }
        ]
    assert await account(api, merchant) == before
    # and the original request still replays to the original refund
    again = await api.initiate_refund(
        merchant, transactionId=paid["id"], amount=1_000, idempotencyKey=key
    )
    assert again["refund"]["id"] == first["refund"]["id"]
    assert await account(api, merchant) == before


async def test_different_keys_racing_on_one_payment_still_never_exceed_it(api: Api) -> None:
    # given a payment of 1,000
    merchant = await merchant_with_balance(api, 100_000)
    paid = await api.record_transaction(merchant, amount=1_000)
    # when 20 full refunds with 20 different keys arrive at once
    payloads = await _at_once(
        api,
        merchant,
        [{"transactionId": paid["id"], "idempotencyKey": f"k{n}"} for n in range(20)],
    )
    # then one refund takes it all
    assert _codes(payloads) == {"OK": 1, "AMOUNT_EXCEEDS_REFUNDABLE": 19}
    state = await account(api, merchant)
    assert state.balance == 99_000
    assert len(state.refund_ids) == 1


async def test_recharges_racing_to_release_one_held_refund_debit_it_once(api: Api) -> None:
    # given a refund of 3,000 waiting ON_HOLD on an empty balance
    merchant = await merchant_with_balance(api, 0)
    paid = await api.record_transaction(merchant, amount=3_000)
    held = await api.initiate_refund(
        merchant, transactionId=paid["id"], queueIfInsufficientBalance=True
    )
    assert held["refund"]["status"] == "ON_HOLD"
    # when ten recharges that each cover it arrive at once
    await asyncio.gather(*(api.recharge(merchant, 3_000) for _ in range(10)))
    # then it was released and debited exactly once
    state = await account(api, merchant)
    assert state.entries_for(held["refund"]["id"]) == [("REFUND_DEBIT", 3_000)]
    assert state.balance == 10 * 3_000 - 3_000
    assert state.ledger[-1]["balanceAfter"] == state.balance


async def test_cancels_racing_on_one_refund_put_its_money_back_once(
    api: Api, engine: AsyncEngine
) -> None:
    # given a refund the rails sent back as ACTION_REQUIRED (the processor leaves it there)
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=4_000, source="frozen@okaxis")
    made = await api.initiate_refund(merchant, transactionId=paid["id"])
    refund_id = made["refund"]["id"]
    await rails.drive(engine, merchant, refund_id, rails.FROZEN)
    # when ten cancels arrive at once
    payloads = await asyncio.gather(*(api.cancel_refund(merchant, refund_id) for _ in range(10)))
    # then one cancels it, the rest find it already cancelled, and the debit came back once
    assert _codes(payloads) == {"OK": 1, "REFUND_NOT_CANCELLABLE": 9}
    state = await account(api, merchant)
    assert state.entries_for(refund_id) == [("REFUND_DEBIT", 4_000), ("REFUND_REVERSAL", 4_000)]
    assert state.balance == 10_000
