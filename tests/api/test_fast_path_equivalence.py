"""Compiled reads (api/compiled) answer exactly what plain strawberry execution answers: the
same status and the same bytes, for the same operation, variables and data, errors included.
Each request is sent twice to the same server, once with compiled reads on and once off."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette

from api.graphql_view import GraphQLEndpoint
from tests.api.read_documents import REFUND, TRANSACTION, TRANSACTIONS
from tests.support import Api, Merchant

UNKNOWN_UUID = "0" * 31 + "1"


def endpoint_of(app: Starlette) -> GraphQLEndpoint:
    for route in app.routes:
        found = getattr(route, "endpoint", None)
        if isinstance(found, GraphQLEndpoint):
            return found
    raise AssertionError("no GraphQL endpoint")


class Both:
    """Sends each request with compiled reads on, then off, and records which path answered."""

    def __init__(self, api: Api, endpoint: GraphQLEndpoint) -> None:
        self.api, self.endpoint = api, endpoint
        self.planned = endpoint.compiled_reads
        assert self.planned is not None, "compiled reads are on by default"
        self.answered_fast: list[bool] = []

    async def _send(self, body: dict[str, Any], token: str | None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.api.http.post("/graphql", json=body, headers=headers)
        return response.status_code, response.content

    async def compare(self, body: dict[str, Any], token: str | None) -> tuple[int, bytes]:
        planned = self.planned
        original = planned.respond
        answers: list[bool] = []

        async def spy(*args: Any) -> bytes | None:
            result = await original(*args)
            answers.append(result is not None)
            return result

        planned.respond = spy  # type: ignore[method-assign]
        try:
            fast = await self._send(body, token)
        finally:
            planned.respond = original  # type: ignore[method-assign]
        self.endpoint.compiled_reads = None
        try:
            plain = await self._send(body, token)
        finally:
            self.endpoint.compiled_reads = planned
        assert fast == plain, f"compiled read differs for {body}:\n{fast}\n{plain}"
        self.answered_fast.append(any(answers))
        return fast


@pytest.fixture
async def both(api: Api, app: Starlette) -> Both:
    return Both(api, endpoint_of(app))


async def _refund(api: Api, merchant: Merchant, transaction_id: str, amount: int | None) -> str:
    payload = await api.initiate_refund(merchant, transactionId=transaction_id, amount=amount)
    assert payload["userErrors"] == [], payload
    return str(payload["refund"]["id"])


async def _settled(api: Api, merchant: Merchant, body: dict[str, Any]) -> None:
    """Wait until the background processor has nothing left to change in what `body` reads."""
    previous = None
    for _ in range(100):
        current = (await api.post(body["query"], body["variables"], token=merchant.key)).content
        if current == previous:
            return
        previous = current
        await asyncio.sleep(0.1)


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
    page = {"query": TRANSACTIONS, "variables": {"first": 20}}
    await _settled(api, merchant, page)
    for refund_id in refunds:
        await _settled(api, merchant, {"query": REFUND, "variables": {"id": refund_id}})
    return {
        "merchant": merchant,
        "other": other,
        "txs": txs,
        "refunds": refunds,
        "other_tx": other_tx,
        "other_refund": other_refund,
    }


async def test_pages_of_transactions_are_the_same_bytes(both: Both, shop: dict[str, Any]) -> None:
    key = shop["merchant"].key
    status, first = await both.compare({"query": TRANSACTIONS, "variables": {"first": 4}}, key)
    assert status == 200
    assert b'"refunds":[{' in first
    cursor = orjson.loads(first)["data"]["transactions"]["pageInfo"]["endCursor"]
    for variables in [
        {"first": 20},
        {"first": 0},
        {"first": 100},
        {"first": 3, "after": cursor},
        {"first": 20, "after": None},
    ]:
        await both.compare({"query": TRANSACTIONS, "variables": variables}, key)
    await both.compare(
        {"query": TRANSACTIONS, "variables": {"first": 5}, "operationName": "BenchTransactions"},
        key,
    )
    assert all(both.answered_fast)


async def test_single_refunds_and_transactions_are_the_same_bytes(
    both: Both, shop: dict[str, Any]
) -> None:
    key = shop["merchant"].key
    for refund_id in shop["refunds"]:
        await both.compare({"query": REFUND, "variables": {"id": refund_id}}, key)
    for tx in shop["txs"]:
        await both.compare({"query": TRANSACTION, "variables": {"id": tx["id"]}}, key)
    assert all(both.answered_fast)


@pytest.mark.parametrize("which", ["unknown", "malformed", "other merchant's", "wrong type"])
async def test_ids_that_name_nothing_of_yours_are_null_on_both_paths(
    both: Both, shop: dict[str, Any], which: str
) -> None:
    refund_id, tx_id = {
        "unknown": (f"rfd_{UNKNOWN_UUID}", f"txn_{UNKNOWN_UUID}"),
        "malformed": ("rfd_nope", "nope"),
        "other merchant's": (shop["other_refund"], shop["other_tx"]["id"]),
        "wrong type": (shop["txs"][0]["id"], shop["refunds"][0]),
    }[which]
    key = shop["merchant"].key
    _, body = await both.compare({"query": REFUND, "variables": {"id": refund_id}}, key)
    assert body == b'{"data":{"refund":null}}'
    await both.compare({"query": TRANSACTION, "variables": {"id": tx_id}}, key)


@pytest.mark.parametrize(
    "body",
    [
        {"query": TRANSACTIONS, "variables": {"first": 101}},
        {"query": TRANSACTIONS, "variables": {"first": -1}},
        {"query": TRANSACTIONS, "variables": {"first": 2, "after": "not a cursor!"}},
        {"query": TRANSACTIONS, "variables": {"first": 2, "after": "bm90IGEgY3Vyc29y"}},
        {"query": TRANSACTIONS, "variables": {}},
        {"query": TRANSACTIONS, "variables": {"first": "3"}},
        {"query": TRANSACTIONS, "variables": {"first": 2}, "operationName": "Other"},
        {"query": TRANSACTIONS, "variables": {"first": 2}, "extensions": {"x": 1}},
        {"query": TRANSACTIONS, "variables": [1]},
        {"query": REFUND, "variables": {"id": None}},
        {"query": REFUND, "variables": {"id": 5}},
        {"query": REFUND},
    ],
    ids=lambda b: str(b.get("variables", "none")) + str(b.get("operationName", "")),
)
async def test_errors_are_the_same_bytes(
    both: Both, shop: dict[str, Any], body: dict[str, Any]
) -> None:
    await both.compare(body, shop["merchant"].key)


@pytest.mark.parametrize("token", ["admin", None, "rk_not_a_key"])
async def test_callers_that_are_not_merchants_get_the_same_answer(
    both: Both, api: Api, token: str | None
) -> None:
    key = api.admin_token if token == "admin" else token
    status, _ = await both.compare({"query": TRANSACTIONS, "variables": {"first": 2}}, key)
    assert status == (200 if token == "admin" else 401)
    assert not any(both.answered_fast)
