"""Fixtures of the compiled-reads tests (api/compiled): a server answering each request on both
paths, and a seeded shop."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from tests.api.both_paths import Both, endpoint_of
from tests.processing.live import wait_until
from tests.support import Api, Merchant


@pytest.fixture
async def both(api: Api, app: Starlette) -> Both:
    return Both(api, endpoint_of(app))


async def _refund(api: Api, merchant: Merchant, transaction_id: str, amount: int | None) -> str:
    payload = await api.initiate_refund(merchant, transactionId=transaction_id, amount=amount)
    assert payload["userErrors"] == [], payload
    return str(payload["refund"]["id"])


IN_FLIGHT = "{ refunds(first: 1, filter: {status: [PENDING, PROCESSING]}) { totalCount } }"


async def _settled(api: Api, merchant: Merchant) -> None:
    """Wait until the background processor has no refund of the merchant left in flight (every one
    PROCESSED, FAILED, CANCELLED, ACTION_REQUIRED or ON_HOLD), or fail saying so."""

    async def nothing_in_flight() -> bool:
        answer = (await api.post(IN_FLIGHT, None, token=merchant.key)).json()
        return bool(answer["data"]["refunds"]["totalCount"] == 0)

    await wait_until(nothing_in_flight, f"{merchant.id}: no refund PENDING or PROCESSING")


@pytest.fixture
async def shop(api: Api) -> dict[str, Any]:
    # given a merchant with transactions of every status, refunds in several states and events,
    # and a second merchant with data of its own
    merchant = await api.create_merchant("Fast Path Shop")
    other = await api.create_merchant("Someone Else")
    await api.recharge(merchant, 1_000_00)
    txs = [
        await api.record_transaction(merchant, amount=100_00 + i, source=source, status=status)
        for i, (source, status) in enumerate(
            [
                ("customer@okaxis", "SUCCESS"),
                ("reject-customer@okaxis", "SUCCESS"),
                ("frozen-customer@okaxis", "SUCCESS"),
                ("customer2@okaxis", "FAILED"),
                ("customer3@okaxis", "PENDING"),
                ("customer4@okaxis", "SUCCESS"),
            ]
        )
    ]
    with_metadata = await api.initiate_refund(
        merchant,
        transactionId=txs[5]["id"],
        amount=3_00,
        notes="a note",
        metadata={"order": "A-1", "lines": [1, 2], "gift": True, "ratio": 0.5},
    )
    assert with_metadata["userErrors"] == []
    refunds = [
        await _refund(api, merchant, txs[0]["id"], 10_00),
        await _refund(api, merchant, txs[0]["id"], 20_00),
        await _refund(api, merchant, txs[1]["id"], None),
        await _refund(api, merchant, txs[2]["id"], 5_00),
    ]
    await api.cancel_refund(merchant, refunds[1])
    other_tx = await api.record_transaction(other)
    await api.recharge(other, 100_00)
    other_refund = await _refund(api, other, other_tx["id"], 1_00)
    # more than the other merchant's balance holds: ON_HOLD until a recharge
    large = await api.record_transaction(other, amount=500_00)
    held = await api.initiate_refund(
        other, transactionId=large["id"], amount=400_00, queueIfInsufficientBalance=True
    )
    assert held["refund"]["status"] == "ON_HOLD", held
    await _settled(api, merchant)
    await _settled(api, other)
    return {
        "merchant": merchant,
        "other": other,
        "txs": txs,
        "refunds": refunds,
        "other_tx": other_tx,
        "other_refund": other_refund,
        "other_held": held["refund"]["id"],
    }
