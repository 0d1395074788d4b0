"""Every rule of initiateRefund, over HTTP to the real server.

Each refusal is checked for its code and field, and for having changed nothing: the balance,
the ledger and the merchant's refunds read back the same afterwards."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.account_state import (
    account,
    created,
    merchant_with_balance,
    refund,
    refused,
    transaction,
)
from tests.support import Api, Merchant


async def _refused_and_nothing_changed(
    api: Api, merchant: Merchant, **fields: Any
) -> dict[str, Any]:
    """Ask for a refund that must be refused; return its error after checking nothing moved."""
    before = await account(api, merchant)
    error = refused(await api.initiate_refund(merchant, **fields))
    assert await account(api, merchant) == before
    return error


# --- which transaction -------------------------------------------------------------------


async def test_an_unknown_transaction_id_is_not_found(api: Api) -> None:
    merchant = await merchant_with_balance(api, 10_000)
    error = await _refused_and_nothing_changed(
        api, merchant, transactionId=f"txn_{secrets.token_hex(16)}", amount=100
    )
    assert error["code"] == "TRANSACTION_NOT_FOUND"
    assert error["field"] == ["input", "transactionId"]


@pytest.mark.parametrize(
    "malformed", ["", "nonsense", "txn_", "txn_xyz", f"rfd_{'0' * 32}", f"txn_{'g' * 32}"]
)
async def test_a_malformed_transaction_id_is_not_found(api: Api, malformed: str) -> None:
    merchant = await merchant_with_balance(api, 10_000)
    error = await _refused_and_nothing_changed(api, merchant, transactionId=malformed, amount=1)
    assert error["code"] == "TRANSACTION_NOT_FOUND"
    assert error["field"] == ["input", "transactionId"]


async def test_another_merchants_transaction_looks_exactly_like_a_missing_one(api: Api) -> None:
    # given a payment of another merchant's
    other = await merchant_with_balance(api, 10_000)
    theirs = await api.record_transaction(other, amount=5_000)
    merchant = await merchant_with_balance(api, 10_000)
    other_before = await account(api, other)
    # when this merchant tries to refund it, and a transaction that does not exist
    stolen = await _refused_and_nothing_changed(
        api, merchant, transactionId=theirs["id"], amount=100
    )
    missing = await _refused_and_nothing_changed(
        api, merchant, transactionId=f"txn_{secrets.token_hex(16)}", amount=100
    )
    # then the answers are the same, word for word, and the owner's account is untouched
    assert stolen == missing
    assert stolen["code"] == "TRANSACTION_NOT_FOUND"
    assert await account(api, other) == other_before
    assert (await transaction(api, other, theirs["id"]))["refundableAmount"] == 5_000


@pytest.mark.parametrize("status", ["FAILED", "PENDING"])
async def test_only_a_successful_transaction_can_be_refunded(api: Api, status: str) -> None:
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=5_000, status=status)
    error = await _refused_and_nothing_changed(api, merchant, transactionId=paid["id"])
    assert error["code"] == "TRANSACTION_NOT_REFUNDABLE"
    assert error["field"] == ["input", "transactionId"]
    assert status in error["message"]
    assert (await transaction(api, merchant, paid["id"]))["refundableAmount"] == 0


async def test_a_transaction_older_than_the_refund_window_cannot_be_refunded(api: Api) -> None:
    # given a payment made 181 days ago (the window is 180 days)
    merchant = await merchant_with_balance(api, 10_000)
    old = datetime.now(UTC) - timedelta(days=181)
    paid = await api.record_transaction(merchant, amount=5_000, createdAt=old.isoformat())
    # when / then
    error = await _refused_and_nothing_changed(api, merchant, transactionId=paid["id"])
    assert error["code"] == "REFUND_WINDOW_EXPIRED"
    assert error["field"] == ["input", "transactionId"]
    assert "180 days" in error["message"]


async def test_a_transaction_inside_the_refund_window_can_be_refunded(api: Api) -> None:
    merchant = await merchant_with_balance(api, 10_000)
    recent = datetime.now(UTC) - timedelta(days=179)
    paid = await api.record_transaction(merchant, amount=5_000, createdAt=recent.isoformat())
    made = created(await api.initiate_refund(merchant, transactionId=paid["id"]))
    assert made["amount"] == 5_000


async def test_a_transaction_in_another_currency_than_the_balance_cannot_be_refunded(
    api: Api,
) -> None:
    # given a USD payment recorded for a merchant whose balance is in INR
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=5_000, currency="USD")
    # when / then
    error = await _refused_and_nothing_changed(api, merchant, transactionId=paid["id"], amount=1)
    assert error["code"] == "CURRENCY_MISMATCH"
    assert error["field"] == ["input", "transactionId"]
    assert "USD" in error["message"]
    assert "INR" in error["message"]


# --- how much ----------------------------------------------------------------------------


async def test_an_amount_of_zero_is_invalid(api: Api) -> None:
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    error = await _refused_and_nothing_changed(api, merchant, transactionId=paid["id"], amount=0)
    assert error["code"] == "AMOUNT_INVALID"
    assert error["field"] == ["input", "amount"]


async def test_an_amount_above_the_transaction_is_refused(api: Api) -> None:
    merchant = await merchant_with_balance(api, 100_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    error = await _refused_and_nothing_changed(
        api, merchant, transactionId=paid["id"], amount=5_001
    )
    assert error["code"] == "AMOUNT_EXCEEDS_REFUNDABLE"
    assert error["field"] == ["input", "amount"]
    assert "5000" in error["message"]


async def test_partial_refunds_follow_each_other_until_the_amount_is_used_up(api: Api) -> None:
    # given a payment of 1,000
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=1_000)
    # when it is refunded 200, 300 and 500
    for amount, refundable in [(200, 800), (300, 500), (500, 0)]:
        made = created(await api.initiate_refund(merchant, transactionId=paid["id"], amount=amount))
        # then each leaves the rest refundable
        assert made["amount"] == amount
        assert made["transaction"]["refundableAmount"] == refundable
        assert made["transaction"]["refundedAmount"] == 1_000 - refundable
    # and not one paisa more
    error = await _refused_and_nothing_changed(api, merchant, transactionId=paid["id"], amount=1)
    assert error["code"] == "AMOUNT_EXCEEDS_REFUNDABLE"
    assert error["field"] == ["input", "amount"]
    after = await transaction(api, merchant, paid["id"])
    assert sorted(r["amount"] for r in after["refunds"]) == [200, 300, 500]
    assert (await account(api, merchant)).balance == 9_000


async def test_a_partial_refund_above_what_is_left_says_what_is_left(api: Api) -> None:
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=1_000)
    created(await api.initiate_refund(merchant, transactionId=paid["id"], amount=600))
    error = await _refused_and_nothing_changed(api, merchant, transactionId=paid["id"], amount=401)
    assert error["code"] == "AMOUNT_EXCEEDS_REFUNDABLE"
    assert "At most 400" in error["message"]


async def test_an_omitted_amount_refunds_everything_still_refundable(api: Api) -> None:
    # given a payment of 1,000 already refunded 300
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=1_000)
    created(await api.initiate_refund(merchant, transactionId=paid["id"], amount=300))
    # when a refund without an amount is asked
    rest = created(await api.initiate_refund(merchant, transactionId=paid["id"]))
    # then it takes the remaining 700
    assert rest["amount"] == 700
    assert rest["transaction"]["refundableAmount"] == 0
    # and another finds nothing left
    error = await _refused_and_nothing_changed(api, merchant, transactionId=paid["id"])
    assert error["code"] == "AMOUNT_EXCEEDS_REFUNDABLE"
    assert "Nothing is left" in error["message"]


# --- the money ---------------------------------------------------------------------------


async def test_a_refund_debits_the_balance_at_once_with_a_ledger_entry(api: Api) -> None:
    # given a balance of 10,000
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    # when 1,250 is refunded
    made = created(await api.initiate_refund(merchant, transactionId=paid["id"], amount=1_250))
    # then the balance is 8,750 and the ledger says why
    state = await account(api, merchant)
    assert state.balance == 8_750
    assert [(e["kind"], e["amount"], e["balanceAfter"]) for e in state.ledger] == [
        ("RECHARGE", 10_000, 10_000),
        ("REFUND_DEBIT", 1_250, 8_750),
    ]
    assert state.ledger[-1]["refund"] == {"id": made["id"]}
    assert made["events"][0]["status"] == "PENDING"
    after = await transaction(api, merchant, paid["id"])
    assert (after["refundedAmount"], after["refundableAmount"]) == (1_250, 3_750)


async def test_a_refund_the_balance_cannot_cover_is_refused_with_the_shortfall(api: Api) -> None:
    # given a balance of 250
    merchant = await merchant_with_balance(api, 250)
    paid = await api.record_transaction(merchant, amount=5_000)
    # when 1,000 is asked
    error = await _refused_and_nothing_changed(
        api, merchant, transactionId=paid["id"], amount=1_000
    )
    # then the message gives the balance and the shortfall
    assert error["code"] == "INSUFFICIENT_BALANCE"
    assert error["field"] == ["input", "amount"]
    assert "250" in error["message"]
    assert "shortfall of 750" in error["message"]
    assert (await transaction(api, merchant, paid["id"]))["refundableAmount"] == 5_000


async def test_a_refund_may_take_the_balance_to_exactly_zero(api: Api) -> None:
    merchant = await merchant_with_balance(api, 1_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    created(await api.initiate_refund(merchant, transactionId=paid["id"], amount=1_000))
    assert (await account(api, merchant)).balance == 0


# --- the other inputs --------------------------------------------------------------------


async def test_notes_longer_than_a_thousand_characters_are_refused(api: Api) -> None:
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    error = await _refused_and_nothing_changed(
        api, merchant, transactionId=paid["id"], notes="n" * 1_001
    )
    assert error["code"] == "INVALID_INPUT"
    assert error["field"] == ["input", "notes"]
    # a thousand are fine
    made = created(await api.initiate_refund(merchant, transactionId=paid["id"], notes="n" * 1_000))
    assert made["notes"] == "n" * 1_000


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param({f"k{n}": n for n in range(21)}, id="21-keys"),
        pytest.param({"blob": "x" * 5_000}, id="over-4-KiB"),
        pytest.param(["not", "an", "object"], id="a-list"),
    ],
)
async def test_metadata_too_large_or_of_the_wrong_shape_is_refused(
    api: Api, metadata: object
) -> None:
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    error = await _refused_and_nothing_changed(
        api, merchant, transactionId=paid["id"], metadata=metadata
    )
    assert error["code"] == "INVALID_INPUT"
    assert error["field"] == ["input", "metadata"]


async def test_metadata_within_the_limits_is_kept(api: Api) -> None:
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    metadata = {f"k{n}": n for n in range(20)}
    made = created(await api.initiate_refund(merchant, transactionId=paid["id"], metadata=metadata))
    assert made["metadata"] == metadata
    assert (await refund(api, merchant, made["id"]))["metadata"] == metadata


@pytest.mark.parametrize("key", ["", "k" * 256])
async def test_an_idempotency_key_must_be_1_to_255_characters(api: Api, key: str) -> None:
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    error = await _refused_and_nothing_changed(
        api, merchant, transactionId=paid["id"], idempotencyKey=key
    )
    assert error["code"] == "INVALID_INPUT"
    assert error["field"] == ["input", "idempotencyKey"]


async def test_the_same_idempotency_key_and_input_return_the_same_refund(api: Api) -> None:
    # given a refund made with a key
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    request = {"transactionId": paid["id"], "amount": 700, "idempotencyKey": "retry-me"}
    first = created(await api.initiate_refund(merchant, **request))
    before = await account(api, merchant)
    # when the very same request is sent again
    again = created(await api.initiate_refund(merchant, **request))
    # then it is the same refund, and nothing new was made or debited
    assert again["id"] == first["id"]
    assert await account(api, merchant) == before
