"""Compiled reads (api/compiled) answer exactly what plain strawberry execution answers: the
same status and the same bytes, for the same operation, variables and data, errors included.
Each request is sent twice to the same server, once with compiled reads on and once off."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from sqlalchemy.pool import QueuePool

from db.pooled_reads import PooledReads
from tests.api.both_paths import Both, api_key_ids
from tests.api.read_documents import REFUND, TRANSACTION, TRANSACTIONS
from tests.support import Api

UNKNOWN_UUID = "0" * 31 + "1"


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


# -- documents as clients send them: none is special --------------------------------------------

APOLLO = """query Transactions($first: Int!) {
  transactions(first: $first) {
    __typename
    edges { __typename cursor node { ...TransactionParts __typename } }
    pageInfo { __typename hasNextPage endCursor }
  }
}
fragment TransactionParts on Transaction {
  __typename id amount status createdAt refundedAmount refundableAmount
  refunds { __typename id amount status }
}"""

DASHBOARD = """query Dashboard($status: TransactionStatus = SUCCESS, $withViewer: Boolean = true) {
  viewer @include(if: $withViewer) { __typename id name currency balance }
  transactions(first: 5, filter: {status: $status}) {
    totalCount edges { node { id status amount } }
  }
  settled: refunds(filter: {status: [PROCESSED, CANCELLED]}) { totalCount }
}"""

REFUNDS_PAGE = """{ refunds(first: 10) {
  edges { cursor node { id status amount reason
    transaction { id amount refundableAmount refunds { id } } events { status message } } }
  pageInfo { hasNextPage endCursor } } }"""

NODE = """query Node($id: ID!, $brief: Boolean!) {
  node(id: $id) {
    __typename id
    ... on Refund { amount status transaction @skip(if: $brief) { id amount } }
    ... on Transaction { amount refunds { id status } }
    ... on ApiKey { name prefix scope createdAt revokedAt }
    ...MerchantParts
  }
}
fragment MerchantParts on Merchant { name balance }"""


LEDGER = """query Ledger($first: Int) { viewer { balance ledger(first: $first) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { __typename id kind amount balanceAfter reference createdAt
    refund { id status transaction { id } } } } } } }"""


async def test_documents_as_clients_send_them_compile_to_the_same_bytes(
    both: Both, shop: dict[str, Any]
) -> None:
    key = shop["merchant"].key
    reformatted = " ".join(TRANSACTIONS.split()).replace("Bench", "")
    requests: list[dict[str, Any]] = [
        {"query": reformatted, "variables": {"first": 3}},
        {"query": APOLLO, "variables": {"first": 4}},
        {"query": DASHBOARD},
        {"query": DASHBOARD, "variables": {"status": "FAILED", "withViewer": False}},
        {"query": DASHBOARD, "variables": {"status": None}, "operationName": "Dashboard"},
        {"query": REFUNDS_PAGE},
        {"query": "{ __typename a: viewer { __typename n: name } b: viewer { balance } }"},
        {"query": LEDGER, "variables": {"first": 2}},
        {"query": LEDGER, "variables": {"first": 100}},
    ]
    for body in requests:
        await both.compare(body, key)
    assert all(both.answered_fast), both.answered_fast


async def test_node_compiles_for_every_type_it_can_return(both: Both, shop: dict[str, Any]) -> None:
    key = shop["merchant"].key
    ids = [
        shop["refunds"][0],
        shop["txs"][0]["id"],
        shop["merchant"].id,
        shop["other"].id,
        shop["other_refund"],
        *await api_key_ids(both.api, shop["merchant"].key),
        *await api_key_ids(both.api, shop["other"].key),
        f"rfd_{UNKNOWN_UUID}",
        f"key_{UNKNOWN_UUID}",
        "nope",
    ]
    for node_id in ids:
        for brief in (True, False):
            await both.compare({"query": NODE, "variables": {"id": node_id, "brief": brief}}, key)
    assert all(both.answered_fast), both.answered_fast


API_KEYS = """query Keys { viewer { apiKeys {
  __typename id name prefix scope createdAt lastUsedAt revokedAt } } }"""

INITIATORS = """query Initiators { refunds(first: 50) { edges { node {
  id initiatedBy { id name scope }
  transaction { refunds { id initiatedBy { __typename id revokedAt } } } } } } }"""


async def test_api_keys_and_who_initiated_a_refund_compile_to_the_same_bytes(
    both: Both, shop: dict[str, Any]
) -> None:
    # given a merchant with a second key, revoked, and refunds its first key initiated
    merchant = shop["merchant"]
    created = await both.api.gql(
        'mutation { createApiKey(input: {name: "old", scope: READ_ONLY}) { apiKey { id } } }',
        token=merchant.key,
    )
    revoked = created["createApiKey"]["apiKey"]["id"]
    await both.api.gql(
        "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { userErrors { code } } }",
        {"id": revoked},
        token=merchant.key,
    )
    # when both paths read the keys and each refund's initiator; then the same bytes, compiled
    _, keys = await both.compare({"query": API_KEYS}, merchant.key)
    assert revoked.encode() in keys
    _, initiators = await both.compare({"query": INITIATORS}, merchant.key)
    assert b'"initiatedBy":{"id":"key_' in initiators
    await both.compare({"query": API_KEYS}, shop["other"].key)
    await both.compare({"query": INITIATORS}, shop["other"].key)
    assert all(both.answered_fast), both.answered_fast


@pytest.mark.parametrize(
    "body",
    [
        {"query": APOLLO, "variables": {"first": 101}},
        {"query": DASHBOARD, "variables": {"status": "NOPE"}},
        {"query": DASHBOARD, "operationName": "Other"},
        {"query": '{ viewer { ledger(after: "bm90IG91cnM") { totalCount } } }'},
        {"query": "{ __schema { queryType { name } } }"},
        {"query": '{ refunds(filter: {createdFrom: "yesterday"}) { totalCount } }'},
        {"query": 'mutation { revokeApiKey(input: {id: "x"}) { userErrors { code } } }'},
        {"query": "{ nope }"},
        {"query": "{ viewer { "},
    ],
    ids=lambda b: b["query"][:40],
)
async def test_what_does_not_compile_goes_to_strawberry(
    both: Both, shop: dict[str, Any], body: dict[str, Any]
) -> None:
    await both.compare(body, shop["merchant"].key)
    assert not any(both.answered_fast)


async def test_the_plan_cache_is_bounded_and_keyed_by_document_and_operation(
    both: Both, shop: dict[str, Any]
) -> None:
    # given a cache of two plans
    planned = both.planned
    assert planned is not None
    size, planned.cache_size = planned.cache_size, 2
    try:
        planned.plans.clear()
        # when three documents and a second operation name are read
        for i in range(3):
            await both.compare({"query": f"{{ viewer {{ n{i}: name }} }}"}, shop["merchant"].key)
        two_operations = "query A { viewer { name } } query B { viewer { balance } }"
        for name in ("A", "B"):
            body = {"query": two_operations, "operationName": name}
            await both.compare(body, shop["merchant"].key)
        # then only the last two are kept, one plan per operation
        assert list(planned.plans) == [(two_operations, "A"), (two_operations, "B")]
        assert all(both.answered_fast)
    finally:
        planned.cache_size = size


@pytest.mark.parametrize(
    "body",
    [
        {"query": DASHBOARD, "variables": {"status": "SUCCESS"}},
        {"query": INITIATORS},
        {"query": API_KEYS},
    ],
    ids=["dashboard", "initiators", "api keys"],
)
async def test_concurrent_reads_beyond_the_pool_each_hold_one_connection(
    both: Both, shop: dict[str, Any], body: dict[str, Any]
) -> None:
    # given three times as many concurrent compiled reads as the pool has connections, each with
    # reads that go through ReadQueries or ApiKeyStore (the merchant, a filtered list, API keys)
    # after the pooled ones
    planned = both.planned
    assert planned is not None
    pool = both.endpoint.services.reads.engine.pool
    assert isinstance(pool, QueuePool)  # db/engine.py: a fixed pool of pool_size connections
    pool_size = pool.size()
    original, answers = planned.respond, []

    async def spy(*args: Any) -> bytes | None:
        answers.append(result := await original(*args))
        return result

    planned.respond = spy  # type: ignore[method-assign, assignment]
    try:
        headers = {"Authorization": f"Bearer {shop['merchant'].key}"}
        responses = await asyncio.gather(
            *(
                both.api.http.post("/graphql", json=body, headers=headers)
                for _ in range(3 * pool_size)
            )
        )
    finally:
        planned.respond = original  # type: ignore[method-assign]
    # then every one is answered by its plan: none waited for a second connection until the
    # pool timed out and sent it to strawberry
    assert {r.status_code for r in responses} == {200}
    assert len(answers) == 3 * pool_size
    assert all(a is not None for a in answers)


async def test_a_fault_in_the_compiled_path_alone_leaves_the_answer_to_strawberry(
    both: Both, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the compiled path's own read (its single statement) failing
    async def broken(*_args: Any) -> str:
        raise RuntimeError("a bug in db/pooled_reads.py")

    monkeypatch.setattr(PooledReads, "answer", broken)
    # when a page with its count is read; then strawberry answers it, as it would anyway
    status, body = await both.compare(
        {"query": "{ transactions { totalCount } }"}, shop["merchant"].key
    )
    assert status == 200
    assert orjson.loads(body)["data"]["transactions"]["totalCount"] == len(shop["txs"])
    assert not any(both.answered_fast)
