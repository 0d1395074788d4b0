"""A merchant's own API keys over real HTTP: create, list, revoke, READ_ONLY scope, who made a
refund, and what an unknown key costs."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from tests.api.test_statement_count import counting_statements
from tests.support import Api, Merchant

KEY_FIELDS = "id name prefix scope createdAt lastUsedAt revokedAt"
CREATE_KEY = f"""mutation($input: CreateApiKeyInput!) {{
  createApiKey(input: $input) {{ apiKey {{ {KEY_FIELDS} }} key userErrors {{ code field }} }} }}"""
REVOKE_KEY = f"""mutation($id: ID!) {{
  revokeApiKey(input: {{id: $id}}) {{ apiKey {{ {KEY_FIELDS} }} userErrors {{ code field }} }} }}"""
LIST_KEYS = f"{{ viewer {{ apiKeys {{ {KEY_FIELDS} }} }} }}"


async def create_key(
    api: Api, merchant: Merchant, name: str = "Reports", scope: str = "FULL"
) -> dict[str, Any]:
    """The createApiKey payload."""
    data = await api.gql(CREATE_KEY, {"input": {"name": name, "scope": scope}}, token=merchant.key)
    payload: dict[str, Any] = data["createApiKey"]
    return payload


async def revoke_key(api: Api, token: str, key_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = (await api.gql(REVOKE_KEY, {"id": key_id}, token=token))[
        "revokeApiKey"
    ]
    return payload


async def list_keys(api: Api, token: str) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = (await api.gql(LIST_KEYS, token=token))["viewer"]["apiKeys"]
    return keys


async def test_a_merchant_creates_named_keys_and_sees_them_listed_without_the_key(
    api: Api,
) -> None:
    merchant = await api.create_merchant()
    # when the merchant creates a READ_ONLY key
    payload = await create_key(api, merchant, "  Nightly reports ", "READ_ONLY")
    assert payload["userErrors"] == []
    created, key = payload["apiKey"], payload["key"]
    # then the key works, names its merchant, and is shown only by its prefix
    viewer = (await api.gql("{ viewer { id } }", token=key))["viewer"]
    assert viewer["id"] == merchant.id
    assert key.startswith(created["prefix"])
    assert len(created["prefix"]) < len(key) // 3
    assert (created["name"], created["scope"], created["revokedAt"]) == (
        "Nightly reports",
        "READ_ONLY",
        None,
    )
    listed = await list_keys(api, merchant.key)
    assert [(k["name"], k["scope"]) for k in listed] == [
        ("Default", "FULL"),
        ("Nightly reports", "READ_ONLY"),
    ]
    assert all(key not in str(k) for k in listed)
    # and node(id:) fetches it, for its merchant only
    node = f'{{ node(id: "{created["id"]}") {{ ... on ApiKey {{ id name }} }} }}'
    assert (await api.gql(node, token=merchant.key))["node"] == {
        "id": created["id"],
        "name": "Nightly reports",
    }
    other = await api.create_merchant()
    assert (await api.gql(node, token=other.key))["node"] is None


async def test_a_blank_or_too_long_key_name_is_a_user_error_and_creates_nothing(
    api: Api,
) -> None:
    merchant = await api.create_merchant()
    for name in ("", "   ", "k" * 101):
        payload = await create_key(api, merchant, name)
        assert payload == {
            "apiKey": None,
            "key": None,
            "userErrors": [{"code": "INVALID_INPUT", "field": ["input", "name"]}],
        }
    assert len(await list_keys(api, merchant.key)) == 1


async def test_a_read_only_key_reads_but_every_mutation_is_forbidden_and_changes_nothing(
    api: Api,
) -> None:
    # given a merchant with money and a paid transaction, and a READ_ONLY key
    merchant = await api.create_merchant()
    await api.recharge(merchant, 1_000_00)
    transaction = await api.record_transaction(merchant, amount=500_00)
    reader = (await create_key(api, merchant, "Dashboards", "READ_ONLY"))["key"]
    assert (await api.gql("{ viewer { balance } }", token=reader))["viewer"]["balance"] == 1_000_00
    refund = f"""mutation {{ initiateRefund(input: {{transactionId: "{transaction["id"]}",
      amount: 100, reason: OTHER}}) {{ refund {{ id }} }} }}"""
    mutations = [
        refund,
        'mutation { createApiKey(input: {name: "escalate"}) { key } }',
        'mutation { revokeApiKey(input: {id: "key_00"}) { apiKey { id } } }',
    ]
    for mutation in mutations:
        # when the READ_ONLY key sends a mutation
        response = await api.post(mutation, token=reader)
        # then it is refused as a whole, with FORBIDDEN
        body = response.json()
        assert response.status_code == 200
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    # and nothing changed
    assert await api.balance(merchant) == 1_000_00
    assert len(await list_keys(api, merchant.key)) == 2


async def test_a_revoked_key_is_refused_at_once_and_revoking_it_again_changes_nothing(
    api: Api,
) -> None:
    merchant = await api.create_merchant()
    created = await create_key(api, merchant, "Leaked")
    leaked, key_id = created["key"], created["apiKey"]["id"]
    await api.gql("{ viewer { id } }", token=leaked)  # cached by now
    # when the merchant revokes it
    first = await revoke_key(api, merchant.key, key_id)
    # then it is refused on the next request
    assert first["userErrors"] == []
    assert first["apiKey"]["revokedAt"] is not None
    refused = await api.post("{ viewer { id } }", token=leaked)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # and a second revocation returns the key as the first left it
    second = await revoke_key(api, merchant.key, key_id)
    assert second == first


async def test_the_last_full_key_cannot_be_revoked(api: Api) -> None:
    merchant = await api.create_merchant()
    await create_key(api, merchant, "Read", "READ_ONLY")
    default = (await list_keys(api, merchant.key))[0]
    payload = await revoke_key(api, merchant.key, default["id"])
    assert payload == {
        "apiKey": None,
        "userErrors": [{"code": "LAST_FULL_API_KEY", "field": ["input", "id"]}],
    }
    assert (await api.gql("{ viewer { id } }", token=merchant.key))["viewer"]["id"] == merchant.id


async def test_an_unknown_or_another_merchants_key_id_is_not_found(api: Api) -> None:
    merchant, other = await api.create_merchant(), await api.create_merchant()
    others_key = (await list_keys(api, other.key))[0]["id"]
    for key_id in (others_key, "key_" + "0" * 32, "key_nonsense", "rfd_" + "1" * 32):
        payload = await revoke_key(api, merchant.key, key_id)
        assert payload == {
            "apiKey": None,
            "userErrors": [{"code": "API_KEY_NOT_FOUND", "field": ["input", "id"]}],
        }
    assert (await list_keys(api, other.key))[0]["revokedAt"] is None


async def test_a_refund_names_the_key_that_made_it(api: Api) -> None:
    merchant = await api.create_merchant()
    await api.recharge(merchant, 1_000_00)
    transaction = await api.record_transaction(merchant, amount=500_00)
    created = await create_key(api, merchant, "Support desk")
    desk = Merchant(merchant.id, created["key"])
    refund = (await api.initiate_refund(desk, transactionId=transaction["id"], amount=100))[
        "refund"
    ]
    query = f'{{ refund(id: "{refund["id"]}") {{ initiatedBy {{ id name prefix }} }} }}'
    found = (await api.gql(query, token=merchant.key))["refund"]["initiatedBy"]
    assert found == {
        "id": created["apiKey"]["id"],
        "name": "Support desk",
        "prefix": created["apiKey"]["prefix"],
    }


async def test_a_flood_of_one_unknown_key_costs_at_most_one_key_lookup(
    api: Api, app: Starlette
) -> None:
    unknown = "rk_" + secrets.token_urlsafe(32)
    with counting_statements(app) as statements:
        # when the same unknown key comes 50 times one after another, then 50 times at once
        answers = [(await api.post("{ viewer { id } }", token=unknown)).status_code]
        answers += [
            (await api.post("{ viewer { id } }", token=unknown)).status_code for _ in range(49)
        ]
        answers += [
            r.status_code
            for r in await asyncio.gather(
                *(api.post("{ viewer { id } }", token=unknown) for _ in range(50))
            )
        ]
    # then every one is refused, and the key store was asked once (an unknown key has no route)
    assert answers == [401] * 100
    assert len([s for s in statements if "api_key" in s]) == 1


async def test_the_database_refuses_a_refund_initiated_by_another_merchants_key(
    api: Api, engine: AsyncEngine
) -> None:
    merchant, other = await api.create_merchant(), await api.create_merchant()
    await api.recharge(merchant, 1_000_00)
    transaction = await api.record_transaction(merchant, amount=500_00)
    refund = (await api.initiate_refund(merchant, transactionId=transaction["id"], amount=100))[
        "refund"
    ]
    others_key = (await list_keys(api, other.key))[0]["id"].partition("_")[2]
    with pytest.raises(IntegrityError, match="fk_refunds_initiated_by_key_api_keys"):
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE refunds SET initiated_by_key_id = :k WHERE id = :r"),
                {"k": others_key, "r": refund["id"].partition("_")[2]},
            )
