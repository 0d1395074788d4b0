"""Automatic persisted queries (api/persisted_queries.py) over real HTTP, POST and GET, as Apollo
Client sends them: a hash alone, then the document with its hash when the server does not know
it; for reads the compiled plans answer and for reads strawberry answers alike."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import orjson
import pytest

from api.persisted_queries import PersistedQueries, PersistedQueryError
from tests.api.both_paths import Both
from tests.api.read_documents import TRANSACTIONS
from tests.support import Api, Merchant

INTROSPECTION = "query Schema { __schema { queryType { name } } }"  # answered by strawberry

INITIATE = """mutation Refund($input: InitiateRefundInput!) {
  initiateRefund(input: $input) { refund { id } userErrors { code } }
}"""


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def persisted(document: str, *, with_query: bool, **body: Any) -> dict[str, Any]:
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(document)}}
    return {**({"query": document} if with_query else {}), "extensions": extensions, **body}


async def post(api: Api, merchant: Merchant, body: dict[str, Any]) -> httpx.Response:
    return await api.http.post(
        "/graphql", json=body, headers={"Authorization": f"Bearer {merchant.key}"}
    )


async def get(api: Api, merchant: Merchant, body: dict[str, Any]) -> httpx.Response:
    params = {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in body.items()}
    return await api.http.get(
        "/graphql",
        params=params,
        headers={"Authorization": f"Bearer {merchant.key}", "Accept": "application/json"},
    )


def error_code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


@pytest.mark.parametrize("document", [TRANSACTIONS, INTROSPECTION], ids=["compiled", "strawberry"])
async def test_a_hash_is_unknown_until_sent_with_its_document_then_answers_by_post_and_get(
    api: Api, both: Both, shop: dict[str, Any], document: str
) -> None:
    merchant = shop["merchant"]
    variables = {"first": 5} if document == TRANSACTIONS else {}
    full = await post(api, merchant, {"query": document, "variables": variables})
    assert full.status_code == 200
    assert "errors" not in full.json()

    unknown = await post(api, merchant, persisted(document, with_query=False, variables=variables))
    assert unknown.status_code == 200
    assert unknown.json()["errors"] == [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]

    registered = await post(
        api, merchant, persisted(document, with_query=True, variables=variables)
    )
    assert registered.content == full.content
    by_hash = persisted(document, with_query=False, variables=variables)
    answered_fast: list[bool] = []
    original = both.planned.respond

    async def spy(*args: Any) -> bytes | None:
        result = await original(*args)
        answered_fast.append(result is not None)
        return result

    both.planned.respond = spy  # type: ignore[method-assign, assignment]
    try:
        assert (await post(api, merchant, by_hash)).content == full.content
        assert (await get(api, merchant, by_hash)).content == full.content
        assert (await get(api, merchant, {"query": document, "variables": variables})).content == (
            full.content
        )
    finally:
        both.planned.respond = original  # type: ignore[method-assign]
    assert answered_fast == [document == TRANSACTIONS] * 3


async def test_a_hash_one_merchant_registered_is_unknown_to_another(
    api: Api, shop: dict[str, Any]
) -> None:
    document = "query Mine { viewer { balance } }"
    registered = await post(api, shop["merchant"], persisted(document, with_query=True))
    assert "errors" not in registered.json()
    elsewhere = await post(api, shop["other"], persisted(document, with_query=False))
    assert error_code(elsewhere) == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_hash_that_is_not_the_documents_is_refused_and_not_registered(
    api: Api, shop: dict[str, Any]
) -> None:
    merchant = shop["merchant"]
    document = "query Balance { viewer { balance } }"
    lying = {"query": document, **persisted("query Other { viewer { id } }", with_query=False)}
    refused = await post(api, merchant, lying)
    assert refused.status_code == 400
    assert error_code(refused) == "PERSISTED_QUERY_HASH_MISMATCH"
    again = await post(api, merchant, persisted("query Other { viewer { id } }", with_query=False))
    assert error_code(again) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    "persisted_query",
    [
        {"version": 2, "sha256Hash": sha256("{ viewer { id } }")},
        {"version": True, "sha256Hash": sha256("{ viewer { id } }")},
        {"version": 1, "sha256Hash": "abc"},
        {"version": 1, "sha256Hash": sha256("{ viewer { id } }").upper()},
        {"version": 1},
        "a string",
    ],
)
async def test_a_malformed_persisted_query_is_a_typed_400(
    api: Api, shop: dict[str, Any], persisted_query: Any
) -> None:
    body = {"extensions": {"persistedQuery": persisted_query}}
    for send in (post, get):
        refused = await send(api, shop["merchant"], body)
        assert refused.status_code == 400
        assert error_code(refused) == "PERSISTED_QUERY_NOT_SUPPORTED"


async def test_a_mutation_by_get_is_refused_and_changes_nothing(
    api: Api, shop: dict[str, Any]
) -> None:
    merchant, tx = shop["merchant"], shop["txs"][5]
    variables = {"input": {"transactionId": tx["id"], "amount": 1_00, "idempotencyKey": "by-get-1"}}
    before = await api.gql(
        "query($id: ID!) { transaction(id: $id) { refundedAmount } }",
        {"id": tx["id"]},
        token=merchant.key,
    )
    plain = await get(api, merchant, {"query": INITIATE, "variables": variables})
    registered = await post(api, merchant, persisted(INITIATE, with_query=True, variables={}))
    assert registered.status_code == 200  # the document is kept (its variables were refused)
    by_hash = await get(api, merchant, persisted(INITIATE, with_query=False, variables=variables))
    for refused in (plain, by_hash):
        assert refused.status_code in (400, 405), refused.text
        assert error_code(refused) == "BAD_REQUEST"
        assert "GET" in refused.json()["errors"][0]["message"]
    after = await api.gql(
        "query($id: ID!) { transaction(id: $id) { refundedAmount } }",
        {"id": tx["id"]},
        token=merchant.key,
    )
    assert after == before


async def test_graphiql_is_still_served_to_a_browser(api: Api) -> None:
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


def test_the_store_keeps_the_most_recently_used_documents_up_to_its_size() -> None:
    store = PersistedQueries(size=2)
    documents = [f"query Q{i} {{ viewer {{ id }} }}" for i in range(3)]
    for document in documents[:2]:
        store.resolve(persisted(document, with_query=True), "m")
    store.resolve(persisted(documents[0], with_query=False), "m")  # Q0 used: Q1 is the oldest
    store.resolve(persisted(documents[2], with_query=True), "m")
    assert store.resolve(persisted(documents[0], with_query=False), "m")["query"] == documents[0]
    assert store.resolve(persisted(documents[2], with_query=False), "m")["query"] == documents[2]
    with pytest.raises(PersistedQueryError):
        store.resolve(persisted(documents[1], with_query=False), "m")
    huge = "query Huge { viewer { id } }" + " " * 70_000
    store.resolve(persisted(huge, with_query=True), "m")  # answered, never kept
    with pytest.raises(PersistedQueryError):
        store.resolve(persisted(huge, with_query=False), "m")
