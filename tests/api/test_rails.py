"""Every sandbox outcome end to end: initiateRefund over HTTP, the processor on the real app
(delay scale 0), and each status change as pushed to a real WebSocket subscriber."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from tests.processing.live import PROTOCOLS, live, refund_on_rails, subscribers_registered
from tests.support import Api, Merchant

REFUND = """query($id: ID!) { refund(id: $id) { id status failureCode bankReference
  speedProcessed destination { kind display } events { status failureCode } } }"""
LEDGER = "{ viewer { balance ledger(first: 20) { edges { node { kind amount } } } } }"
UPDATE_DESTINATION = """mutation($input: UpdateRefundDestinationInput!) {
  updateRefundDestination(input: $input) {
    refund { id status destination { kind display } } userErrors { code field message } } }"""


def statuses(pushed: list[dict[str, Any]]) -> list[str]:
    return [r["status"] for r in pushed]


async def ledger_kinds(api: Api, merchant: Merchant) -> list[str]:
    data = await api.gql(LEDGER, token=merchant.key)
    return [e["node"]["kind"] for e in reversed(data["viewer"]["ledger"]["edges"])]


async def stored(api: Api, merchant: Merchant, refund_id: str) -> dict[str, Any]:
    data = await api.gql(REFUND, {"id": refund_id}, token=merchant.key)
    refund: dict[str, Any] = data["refund"]
    return refund


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_plain_destination_is_processed_with_a_bank_reference(
    api: Api, server: str, app: Starlette, protocol: str
) -> None:
    merchant = await api.create_merchant()
    async with live(server, merchant.key, protocol) as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        # when
        refund = await refund_on_rails(api, merchant, source="customer@okaxis")
        pushed = await client.refunds_until("PROCESSED")
    # then every change arrives once, in order, each with its own status
    assert statuses(pushed) == ["PENDING", "PROCESSING", "PROCESSED"]
    assert {r["id"] for r in pushed} == {refund["id"]}
    assert pushed[0]["bankReference"] is None
    assert pushed[1]["bankReference"] is None
    processed = pushed[-1]
    assert processed["bankReference"]
    assert processed["bankReference"].isdigit()
    assert processed["processedAt"] is not None
    assert processed["speedProcessed"] == "NORMAL"
    assert statuses(processed["events"]) == ["PENDING", "PROCESSING", "PROCESSED"]
    assert (await stored(api, merchant, refund["id"]))["bankReference"] == processed[
        "bankReference"
    ]
    assert await api.balance(merchant) == 0
    assert await ledger_kinds(api, merchant) == ["RECHARGE", "REFUND_DEBIT"]


@pytest.mark.parametrize(
    ("marker", "code"),
    [("frozen", "CUSTOMER_ACCOUNT_FROZEN"), ("inactive", "CUSTOMER_ACCOUNT_INACTIVE")],
)
async def test_a_frozen_or_inactive_account_needs_action_and_keeps_the_money_reserved(
    api: Api, server: str, app: Starlette, marker: str, code: str
) -> None:
    merchant = await api.create_merchant()
    async with live(server, merchant.key) as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        refund = await refund_on_rails(
            api, merchant, source=f"{marker}.customer@okaxis", amount=70_00
        )
        pushed = await client.refunds_until("ACTION_REQUIRED")
    assert statuses(pushed) == ["PENDING", "PROCESSING", "ACTION_REQUIRED"]
    assert pushed[-1]["failureCode"] == code
    assert pushed[-1]["transaction"]["refundedAmount"] == 70_00  # still held
    assert await api.balance(merchant) == 0
    assert (await stored(api, merchant, refund["id"]))["status"] == "ACTION_REQUIRED"


async def _action_required(
    api: Api, server: str, app: Starlette, merchant: Merchant
) -> dict[str, Any]:
    async with live(server, merchant.key) as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        refund = await refund_on_rails(api, merchant, source="frozen@okaxis", amount=50_00)
        await client.refunds_until("ACTION_REQUIRED")
    return refund


@pytest.mark.parametrize(
    ("destination", "kind", "display"),
    [
        ({"upiVpa": "new.customer@okhdfc"}, "UPI", "ne••••@okhdfc"),
        (
            {
                "bankAccount": {
                    "accountNumber": "123456789012",
                    "ifsc": "hdfc0001234",
                    "holderName": "Asha  Rao",
                }
            },
            "BANK_ACCOUNT",
            "HDFC0001234 ••••9012",
        ),
    ],
)
async def test_a_new_destination_sends_the_refund_back_through_the_rails(
    api: Api, server: str, app: Starlette, destination: dict[str, Any], kind: str, display: str
) -> None:
    # given a refund waiting for another account
    merchant = await api.create_merchant()
    refund = await _action_required(api, server, app, merchant)
    async with live(server, merchant.key) as client:
        await client.subscribe(refundId=refund["id"])
        await subscribers_registered(app, merchant)
        # when the merchant gives one
        data = await api.gql(
            UPDATE_DESTINATION,
            {"input": {"refundId": refund["id"], **destination}},
            token=merchant.key,
        )
        payload = data["updateRefundDestination"]
        pushed = await client.refunds_until("PROCESSED")
    # then it is stored masked, and the refund goes PENDING -> PROCESSING -> PROCESSED
    assert payload["userErrors"] == []
    assert payload["refund"]["destination"] == {"kind": kind, "display": display}
    assert statuses(pushed) == ["PENDING", "PROCESSING", "PROCESSED"]
    assert pushed[-1]["destination"] == {"kind": kind, "display": display}
    assert pushed[-1]["bankReference"]
    final = await stored(api, merchant, refund["id"])
    assert statuses(final["events"]) == [
        "PENDING",
        "PROCESSING",
        "ACTION_REQUIRED",
        "PENDING",
        "PROCESSING",
        "PROCESSED",
    ]
    assert await ledger_kinds(api, merchant) == ["RECHARGE", "REFUND_DEBIT"]


@pytest.mark.parametrize(
    ("destination", "field"),
    [
        ({"upiVpa": "not-a-vpa"}, ["input", "upiVpa"]),
        (
            {
                "bankAccount": {
                    "accountNumber": "12345678",
                    "ifsc": "HDFC0001234",
                    "holderName": "Asha Rao",
                }
            },
            ["input", "bankAccount", "accountNumber"],
        ),
        (
            {
                "bankAccount": {
                    "accountNumber": "1234567890123456789",
                    "ifsc": "HDFC0001234",
                    "holderName": "Asha Rao",
                }
            },
            ["input", "bankAccount", "accountNumber"],
        ),
        (
            {
                "bankAccount": {
                    "accountNumber": "123456789",
                    "ifsc": "HDFC1001234",
                    "holderName": "Asha Rao",
                }
            },
            ["input", "bankAccount", "ifsc"],
        ),
        (
            {
                "bankAccount": {
                    "accountNumber": "123456789",
                    "ifsc": "HDFC0001234",
                    "holderName": "  ",
                }
            },
            ["input", "bankAccount", "holderName"],
        ),
        ({}, ["input"]),
    ],
)
async def test_an_invalid_destination_is_refused_with_its_field_and_changes_nothing(
    api: Api, server: str, app: Starlette, destination: dict[str, Any], field: list[str]
) -> None:
    merchant = await api.create_merchant()
    refund = await _action_required(api, server, app, merchant)
    data = await api.gql(
        UPDATE_DESTINATION, {"input": {"refundId": refund["id"], **destination}}, token=merchant.key
    )
    payload = data["updateRefundDestination"]
    assert payload["refund"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_DESTINATION", field)
    ]
    after = await stored(api, merchant, refund["id"])
    assert after["status"] == "ACTION_REQUIRED"
    assert after["destination"]["kind"] == "ORIGINAL_SOURCE"


async def test_a_new_destination_is_refused_unless_the_refund_awaits_action(
    api: Api, server: str, app: Starlette
) -> None:
    merchant = await api.create_merchant()
    async with live(server, merchant.key) as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        refund = await refund_on_rails(api, merchant)
        await client.refunds_until("PROCESSED")
    data = await api.gql(
        UPDATE_DESTINATION,
        {"input": {"refundId": refund["id"], "upiVpa": "other@okaxis"}},
        token=merchant.key,
    )
    errors = data["updateRefundDestination"]["userErrors"]
    assert [e["code"] for e in errors] == ["REFUND_NOT_AWAITING_ACTION"]


async def transient_errors(api: Api, server: str) -> float:
    text = (await api.http.get(f"{server}/metrics")).text
    found = re.search(r"^refunds_processor_transient_errors_total (\S+)$", text, re.MULTILINE)
    assert found, "the processor's transient error counter is exported"
    return float(found.group(1))


async def test_a_flaky_gateway_is_retried_until_the_refund_is_processed(
    api: Api, server: str, app: Starlette
) -> None:
    merchant = await api.create_merchant()
    transient_before = await transient_errors(api, server)
    async with live(server, merchant.key) as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        refund = await refund_on_rails(api, merchant, source="flaky@okaxis")
        pushed = await client.refunds_until("PROCESSED")
    # then the transient errors are not status changes: retries happen inside PROCESSING
    assert statuses(pushed) == ["PENDING", "PROCESSING", "PROCESSED"]
    # but an operator sees them in the metrics (other tests' refunds may add to the count)
    assert await transient_errors(api, server) - transient_before >= 2
    assert pushed[-1]["bankReference"]
    assert statuses((await stored(api, merchant, refund["id"]))["events"]) == [
        "PENDING",
        "PROCESSING",
        "PROCESSED",
    ]


async def test_a_rejected_refund_fails_and_the_money_goes_back(
    api: Api, server: str, app: Starlette
) -> None:
    merchant = await api.create_merchant()
    async with live(server, merchant.key, "graphql-ws") as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        await refund_on_rails(api, merchant, source="reject@okaxis", amount=40_00)
        pushed = await client.refunds_until("FAILED")
    assert statuses(pushed) == ["PENDING", "PROCESSING", "FAILED"]
    assert pushed[-1]["failureCode"] == "REJECTED_BY_BANK"
    assert pushed[-1]["failureMessage"]
    assert pushed[-1]["transaction"]["refundedAmount"] == 0
    assert await api.balance(merchant) == 40_00
    assert await ledger_kinds(api, merchant) == ["RECHARGE", "REFUND_DEBIT", "REFUND_REVERSAL"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_bounce_is_processed_then_reversed_and_the_money_goes_back(
    api: Api, server: str, app: Starlette, protocol: str
) -> None:
    merchant = await api.create_merchant()
    async with live(server, merchant.key, protocol) as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        await refund_on_rails(api, merchant, source="bounce@okaxis", amount=30_00)
        pushed = await client.refunds_until("REVERSED")
    assert statuses(pushed) == ["PENDING", "PROCESSING", "PROCESSED", "REVERSED"]
    assert pushed[2]["bankReference"] == pushed[3]["bankReference"] is not None
    assert pushed[2]["failureCode"] is None
    assert pushed[3]["failureCode"] == "RETURNED_BY_BANK"
    assert await api.balance(merchant) == 30_00
    assert await ledger_kinds(api, merchant) == ["RECHARGE", "REFUND_DEBIT", "REFUND_REVERSAL"]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_instant_settles_as_instant_over_upi(api: Api, server: str, app: Starlette) -> None:
    merchant = await api.create_merchant()
    async with live(server, merchant.key) as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        refund = await refund_on_rails(
            api, merchant, source="customer@okicici", method="UPI", speed="INSTANT"
        )
        pushed = await client.refunds_until("PROCESSED")
    assert refund["speedRequested"] == "INSTANT"
    created_to_settled = _at(refund["estimatedSettlementAt"]) - _at(refund["createdAt"])
    assert created_to_settled == timedelta(minutes=30)
    assert pushed[-1]["speedProcessed"] == "INSTANT"


async def test_instant_on_a_card_falls_back_to_normal(
    api: Api, server: str, app: Starlette
) -> None:
    merchant = await api.create_merchant()
    async with live(server, merchant.key) as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        refund = await refund_on_rails(
            api, merchant, source="4111 XXXX XXXX 1111", method="CARD", speed="INSTANT"
        )
        pushed = await client.refunds_until("PROCESSED")
    assert pushed[-1]["speedRequested"] == "INSTANT"
    assert pushed[-1]["speedProcessed"] == "NORMAL"
    assert len(pushed[-1]["bankReference"]) == 23  # an ARN
    # ten business days: at least two weeks of calendar time
    assert _at(refund["estimatedSettlementAt"]) - _at(refund["createdAt"]) >= timedelta(days=14)


async def test_instant_to_a_new_bank_account_goes_over_imps(
    api: Api, server: str, app: Starlette
) -> None:
    # given an INSTANT card refund that needs another account
    merchant = await api.create_merchant()
    async with live(server, merchant.key) as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        refund = await refund_on_rails(
            api, merchant, source="frozen card 4111", method="CARD", speed="INSTANT"
        )
        await client.refunds_until("ACTION_REQUIRED")
        # when it goes to a bank account, which takes IMPS
        await api.gql(
            UPDATE_DESTINATION,
            {
                "input": {
                    "refundId": refund["id"],
                    "bankAccount": {
                        "accountNumber": "987654321",
                        "ifsc": "ICIC0000001",
                        "holderName": "A Rao",
                    },
                }
            },
            token=merchant.key,
        )
        pushed = await client.refunds_until("PROCESSED")
    assert pushed[-1]["speedProcessed"] == "INSTANT"


async def test_a_refund_cancelled_while_on_hold_never_reaches_the_rails(
    api: Api, server: str, app: Starlette
) -> None:
    merchant = await api.create_merchant()
    async with live(server, merchant.key) as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        # given a refund queued for lack of balance
        refund = await refund_on_rails(
            api, merchant, recharge=False, queueIfInsufficientBalance=True
        )
        assert refund["status"] == "ON_HOLD"
        assert (await client.next_refund())["status"] == "ON_HOLD"
        # when it is cancelled
        payload = await api.cancel_refund(merchant, refund["id"])
        pushed = await client.refunds_until("CANCELLED")
    assert payload["userErrors"] == []
    assert statuses(pushed) == ["CANCELLED"]
    assert await ledger_kinds(api, merchant) == []


async def test_a_refund_cancelled_while_awaiting_action_gives_the_money_back(
    api: Api, server: str, app: Starlette
) -> None:
    merchant = await api.create_merchant()
    refund = await _action_required(api, server, app, merchant)
    async with live(server, merchant.key, "graphql-ws") as client:
        await client.subscribe(refundId=refund["id"])
        await subscribers_registered(app, merchant)
        await api.cancel_refund(merchant, refund["id"])
        pushed = await client.refunds_until("CANCELLED")
    assert statuses(pushed) == ["CANCELLED"]
    assert await api.balance(merchant) == 50_00
    assert await ledger_kinds(api, merchant) == ["RECHARGE", "REFUND_DEBIT", "REFUND_REVERSAL"]


async def test_a_held_refund_goes_through_the_rails_once_a_recharge_covers_it(
    api: Api, server: str, app: Starlette
) -> None:
    merchant = await api.create_merchant()
    async with live(server, merchant.key) as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        await refund_on_rails(api, merchant, recharge=False, queueIfInsufficientBalance=True)
        await api.recharge(merchant, 100_00)
        pushed = await client.refunds_until("PROCESSED")
    assert statuses(pushed) == ["ON_HOLD", "PENDING", "PROCESSING", "PROCESSED"]


@pytest.mark.parametrize("refund_id", ["rfd_" + "0" * 32, "not-an-id", "txn_" + "0" * 32])
async def test_a_new_destination_for_a_refund_that_is_not_yours_is_refund_not_found(
    api: Api, refund_id: str
) -> None:
    merchant = await api.create_merchant()
    data = await api.gql(
        UPDATE_DESTINATION,
        {"input": {"refundId": refund_id, "upiVpa": "other@okaxis"}},
        token=merchant.key,
    )
    payload = data["updateRefundDestination"]
    assert payload["refund"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("REFUND_NOT_FOUND", ["input", "refundId"])
    ]
