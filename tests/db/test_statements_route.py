"""Every statement the service sends names one merchant (so Citus can route it to one node):
recorded while a representative set of operations runs against the real app, over real HTTP
and WebSocket, with its refund processor settling the refunds (tests/db/routing.py)."""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

import pytest
from starlette.applications import Starlette

from api.housekeeping import prune_idempotency_keys
from db import statements
from db.distribution import ACROSS_MERCHANTS, DISTRIBUTION_COLUMN
from db.refund_changes import RefundChanges
from tests.api.batches import CANCEL, applied, submit
from tests.api.read_documents import DOCUMENTS
from tests.api.test_api_keys import create_key, list_keys, revoke_key
from tests.api.test_webhook_delivery import hooked_merchant, recorded, refund_of
from tests.api.webhook_receiver import receiving
from tests.db.routing import StatementLog, unrouted
from tests.processing.live import live, refund_on_rails, subscribers_registered, wait_until
from tests.support import Api, Merchant

# The forms these statements had before revision 0005, and the claim the processor used.
UNSCOPED = {
    "the held amount by transaction alone": (
        "SELECT coalesce(sum(amount), 0) FROM refunds WHERE transaction_id = $1 "
        "AND status NOT IN ('FAILED', 'CANCELLED', 'REVERSED')",
        ["refunds"],
    ),
    "a refund's row by id alone": ("UPDATE refunds SET status = $1 WHERE id = $2", ["refunds"]),
    "a join on the refund id alone": (
        "SELECT e.id FROM refund_events AS e JOIN refunds AS r ON r.id = e.refund_id "
        "WHERE e.merchant_id = $1",
        ["refunds"],
    ),
    "a claim across merchants": (
        "UPDATE refunds SET claimed_by = $1 WHERE refunds.id IN (SELECT refunds.id FROM refunds "
        "WHERE refunds.status IN ('PENDING', 'PROCESSING') AND refunds.next_attempt_at <= now() "
        "ORDER BY refunds.next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
        ["refunds", "refunds"],
    ),
    "several merchants": ("SELECT id FROM api_keys WHERE merchant_id = ANY($1)", ["api_keys"]),
    "one merchant or another row": (
        "SELECT id FROM transactions WHERE merchant_id = $1 OR id = $2",
        ["transactions"],
    ),
    "a merchant by name": ("SELECT id FROM merchants WHERE name = $1", ["merchants"]),
    "an insert without the merchant": (
        "INSERT INTO refund_events (refund_id, status) VALUES ($1, $2)",
        ["refund_events"],
    ),
}


@pytest.mark.parametrize("what", UNSCOPED)
def test_the_checker_finds_a_statement_that_names_no_merchant(what: str) -> None:
    sql, tables = UNSCOPED[what]
    assert unrouted(sql) == tables


@pytest.mark.parametrize(
    "sql",
    [
        statements.HELD_AMOUNT,
        statements.LOCK_MERCHANT,
        statements.CLAIM_IDEMPOTENCY_KEY,
        "SELECT e.id FROM refund_events AS e JOIN refunds AS r ON r.merchant_id = e.merchant_id "
        "AND r.id = e.refund_id WHERE e.merchant_id = $1::uuid",
        f"SELECT {ACROSS_MERCHANTS} merchant_id FROM refunds GROUP BY merchant_id",
        "SELECT pg_notify($1, $2)",
    ],
)
def test_the_checker_passes_a_statement_routed_by_merchant(sql: str) -> None:
    assert unrouted(sql) == []


async def test_every_statement_of_the_representative_operations_names_one_merchant(
    api: Api, server: str, app: Starlette
) -> None:
    services, background = app.state.services, app.state.background
    with StatementLog(services.engine, background.engine) as log:
        await _representative_operations(api, server, app)
        await prune_idempotency_keys(services.engine)
        await RefundChanges(background.engine).since(0, limit=10)
        await services.authenticator.record_use()
        await log.settled()
    # then the operations reached every distributed table, through both drivers' paths
    touched = {t for sql in log.statements for t in DISTRIBUTION_COLUMN if f" {t} " in f"{sql} "}
    assert touched == set(DISTRIBUTION_COLUMN)
    assert statements.CREATE_REFUND in log.statements  # sent to asyncpg directly
    # and each one names its merchant, but for the reads and prunes marked as across merchants
    assert log.unrouted() == {}


async def _representative_operations(api: Api, server: str, app: Starlette) -> None:
    merchant = await api.create_merchant("Routed")
    async with live(server, merchant.key) as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        paid = await refund_on_rails(api, merchant, idempotencyKey="order-1")
        await client.refunds_until("PROCESSED")
        await refund_on_rails(api, merchant, source="bounce@okaxis")
        await client.refunds_until("REVERSED")
        frozen = await refund_on_rails(api, merchant, source="frozen@okaxis")
        await client.refunds_until("ACTION_REQUIRED")
        await _new_destination(api, merchant, frozen["id"])
        await client.refunds_until("PROCESSED")
    await _held_then_released(api, merchant)
    await _reads(api, merchant, paid["id"])
    await _batch(api, merchant)
    await _key_management(api, merchant, app)
    await _webhook_failed_then_delivered(api)


async def _webhook_failed_then_delivered(api: Api) -> None:
    """The dispatcher's claim, a failure's record (the endpoint's failing clock starts) and a
    success's (it stops)."""
    async with receiving(script=[500]) as receiver:
        hooked, _secret = await hooked_merchant(api, receiver, ["REFUND_CREATED"])
        await refund_of(api, hooked)
        await recorded(api, hooked, 1)
        assert [r.status for r in receiver.received] == [500, 204]


async def _batch(api: Api, merchant: Merchant) -> None:
    """A batch by transaction and by order, applied, read, listed; another cancelled; the
    lists' filters."""
    await api.recharge(merchant, 100_00)
    paid = await api.record_transaction(merchant, amount=10_00, orderId="batch-order")
    items = [
        {"transactionId": paid["id"], "amount": 1_00, "reason": "OTHER"},
        {"orderId": "batch-order", "amount": 1_00, "reason": "FRAUD"},
    ]
    done = await applied(api, merchant, (await submit(api, merchant, items))["batch"]["id"])
    assert done["created"] == 2
    await api.gql(
        "{ refundBatches(first: 5) { totalCount edges { node { id } } } }", token=merchant.key
    )
    running = (await submit(api, merchant, items))["batch"]["id"]
    await api.gql(CANCEL, {"id": running}, token=merchant.key)
    await applied(api, merchant, running)
    await api.gql(
        '{ refunds(filter: {orderId: "batch-order", reason: [FRAUD], speed: NORMAL,'
        ' bankReference: "ARN"}) { totalCount edges { node { id } } }'
        " transactions(filter: {refundState: PARTIAL}) { totalCount edges { node { id } } } }",
        token=merchant.key,
    )
    window = {"from": "2020-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
    await api.gql(
        "query($from: DateTime!, $to: DateTime!) { refundSummary(from: $from, to: $to) {"
        " total { count } byDay { date } byPaymentMethod { paymentMethod } } }",
        window,
        token=merchant.key,
    )
    for export in ("refunds", "ledger"):
        answer = await api.http.get(
            f"/exports/{export}.csv",
            params={**window, "status": "PROCESSED"},
            headers={"Authorization": f"Bearer {merchant.key}"},
        )
        assert answer.status_code == 200


async def _new_destination(api: Api, merchant: Merchant, refund_id: str) -> None:
    data = await api.gql(
        "mutation($input: UpdateRefundDestinationInput!) { updateRefundDestination(input: $input)"
        " { refund { status } userErrors { code } } }",
        {"input": {"refundId": refund_id, "upiVpa": "another@okaxis"}},
        token=merchant.key,
    )
    assert data["updateRefundDestination"]["userErrors"] == []


async def _held_then_released(api: Api, merchant: Merchant) -> None:
    """A refund the balance does not cover waits ON_HOLD; a recharge releases it. Another
    is cancelled while it waits."""
    balance = await api.balance(merchant)
    transaction = await api.record_transaction(merchant, amount=2 * balance + 500_00)
    held, cancelled = [
        await api.initiate_refund(
            merchant,
            transactionId=transaction["id"],
            amount=balance + amount,
            queueIfInsufficientBalance=True,
        )
        for amount in (300_00, 150_00)
    ]
    assert [held["refund"]["status"], cancelled["refund"]["status"]] == ["ON_HOLD", "ON_HOLD"]
    assert (await api.cancel_refund(merchant, cancelled["refund"]["id"]))["userErrors"] == []
    await api.recharge(merchant, 300_00)

    async def settled() -> bool:
        query = "query($id: ID!) { refund(id: $id) { status } }"
        found = await api.gql(query, {"id": held["refund"]["id"]}, token=merchant.key)
        return bool(found["refund"]["status"] == "PROCESSED")

    await wait_until(settled, "the released refund is processed")


async def _reads(api: Api, merchant: Merchant, refund_id: str) -> None:
    page = await api.gql(
        "{ viewer { name balance ledger(first: 5) { totalCount edges { node { id kind } } } }"
        " transactions(first: 2, filter: {status: SUCCESS}) { totalCount"
        " edges { node { id refunds { id events { status } } } } pageInfo { endCursor } }"
        " refunds(first: 2, filter: {status: [PROCESSED]}) { totalCount edges { node { id"
        " transaction { id } } } pageInfo { endCursor } } }",
        token=merchant.key,
    )
    after = page["transactions"]["pageInfo"]["endCursor"]
    transaction_id = page["transactions"]["edges"][0]["node"]["id"]
    await api.gql(
        "query($after: String) { transactions(first: 2, after: $after) { edges { node { id } } } }",
        {"after": after},
        token=merchant.key,
    )
    await api.gql("query($id: ID!) { node(id: $id) { id } }", {"id": refund_id}, token=merchant.key)
    docs = DOCUMENTS
    for name, variables in [
        ("BenchTransactions", {"first": 3}),
        ("BenchRefund", {"id": refund_id}),
        ("TransactionWithRefunds", {"id": transaction_id}),
    ]:
        body: dict[str, Any] = {"query": docs[name], "variables": variables, "operationName": name}
        response = await api.http.post(
            "/graphql", json=body, headers={"Authorization": f"Bearer {merchant.key}"}
        )
        assert response.status_code == 200
        assert "errors" not in response.json()


async def _key_management(api: Api, merchant: Merchant, app: Starlette) -> None:
    created = await create_key(api, merchant, name=f"Reports {secrets.token_hex(2)}")
    assert len(await list_keys(api, created["key"])) == 2  # the new key authenticates
    assert (await revoke_key(api, merchant.key, created["apiKey"]["id"]))["userErrors"] == []
    services = app.state.services
    revoked = await services.api_keys.revoked_among(
        [(_uuid(merchant.id), _uuid(created["apiKey"]["id"]))]
    )
    assert revoked == {_uuid(created["apiKey"]["id"])}


def _uuid(global_id: str) -> UUID:
    return UUID(hex=global_id.partition("_")[2])
