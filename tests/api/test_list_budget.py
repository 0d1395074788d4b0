"""Plain lists are counted as they load (api/list_budget.py), against the real `refunds serve`:
a payment with many partial refunds cannot make `transaction { refunds { transaction { refunds
} } }` answer refunds² objects, over HTTP or in a subscription's pushes (the fuzzing found a
9 MB push), while the same lists taken once stay within the limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from tests.api.serve_process import ADMIN_TOKEN, Served, running
from tests.fuzz.verdicts import error_lines
from tests.support import (
    CREATE_MERCHANT,
    INITIATE_REFUND,
    RECHARGE,
    RECORD_TRANSACTION,
    Merchant,
    transaction_input,
)

LIMIT = 1_000  # the cost limit of this server: its static cost allows the documents below
REFUNDS = 40  # one list: 40 objects; a list in each of its items: 40 + 40 × 40 = 1,640

ONCE = "query($id: ID!) { transaction(id: $id) { refunds { id } } }"
NESTED = """query($id: ID!) {
  transaction(id: $id) { refunds { id transaction { refunds { id } } } }
}"""
NESTED_PUSH = """subscription($id: ID!) {
  refundUpdated(transactionId: $id) {
    id transaction { refunds { transaction { refunds { id } } } }
  }
}"""


def _gql(served: Served, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    response = httpx.post(
        f"{served.base_url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[Served]:
    with running(database_url, REFUNDS_MAX_QUERY_COST=str(LIMIT)) as served:
        yield served


@pytest.fixture(scope="module")
def payment(served: Served) -> tuple[str, str]:
    """A merchant's key and a payment of theirs with REFUNDS one-paisa refunds."""
    created = _gql(served, CREATE_MERCHANT, {"input": {"name": "Many refunds"}}, ADMIN_TOKEN)
    merchant = Merchant(
        created["data"]["createMerchant"]["merchant"]["id"],
        created["data"]["createMerchant"]["apiKey"],
    )
    recharge = {"merchantId": merchant.id, "amount": 10_000, "reference": "rch_many"}
    assert _gql(served, RECHARGE, {"input": recharge}, ADMIN_TOKEN)["data"]
    recorded = _gql(served, RECORD_TRANSACTION, {"input": transaction_input(merchant)}, ADMIN_TOKEN)
    transaction_id = recorded["data"]["recordTransaction"]["transaction"]["id"]
    for n in range(REFUNDS):
        refund = {
            "transactionId": transaction_id,
            "amount": 1,
            "reason": "CUSTOMER_REQUEST",
            "idempotencyKey": f"many-{n}",
        }
        payload = _gql(served, INITIATE_REFUND, {"input": refund}, merchant.key)
        assert payload["data"]["initiateRefund"]["userErrors"] == []
    return merchant.key, transaction_id


def test_a_list_taken_once_is_answered_whole(served: Served, payment: tuple[str, str]) -> None:
    key, transaction_id = payment
    body = _gql(served, ONCE, {"id": transaction_id}, key)
    assert "errors" not in body
    assert len(body["data"]["transaction"]["refunds"]) == REFUNDS


def test_lists_nested_past_the_limit_are_refused_with_one_error(
    served: Served, payment: tuple[str, str]
) -> None:
    key, transaction_id = payment
    body = _gql(served, NESTED, {"id": transaction_id}, key)
    assert body["data"] == {"transaction": None}
    assert [error["extensions"]["code"] for error in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert f"{LIMIT:,}" in body["errors"][0]["message"]
    assert error_lines(served.log()) == []


def test_a_push_whose_lists_nest_past_the_limit_is_refused(
    served: Served, payment: tuple[str, str]
) -> None:
    key, transaction_id = payment
    with ws_connect(
        f"ws://127.0.0.1:{served.port}/graphql",
        subprotocols=[Subprotocol("graphql-transport-ws")],
        open_timeout=10,
        max_size=None,  # the answer's size is what is under test
    ) as ws:
        ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
        )
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        subscribe = {"query": NESTED_PUSH, "variables": {"id": transaction_id}}
        ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": subscribe}))
        refund = {
            "transactionId": transaction_id,
            "amount": 1,
            "reason": "CUSTOMER_REQUEST",
            "idempotencyKey": "many-pushed",
        }
        assert _gql(served, INITIATE_REFUND, {"input": refund}, key)["data"]["initiateRefund"]
        pushed = json.loads(ws.recv(timeout=20))
    assert pushed["type"] == "next", pushed
    assert [e["extensions"]["code"] for e in pushed["payload"]["errors"]] == ["QUERY_TOO_COMPLEX"]
