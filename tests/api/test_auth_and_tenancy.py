"""Authentication and tenancy, as the README and schema.graphql describe them."""

import pytest

from tests.support import Api

VIEWER = "{ viewer { id } }"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer rk_not_a_real_key", "Basic dXNlcjpwYXNz", "rk_missing_scheme"],
)
async def test_a_request_without_a_valid_key_gets_401_with_a_graphql_shaped_error(
    api: Api, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await api.http.post("/graphql", json={"query": VIEWER}, headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Bearer" in body["errors"][0]["message"]


async def test_api_keys_are_stored_only_as_a_hash(api: Api, engine) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    merchant = await api.create_merchant()
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text(
                    "SELECT r.key_hash, k.display_prefix FROM api_keys AS k JOIN api_key_routes"
                    " AS r ON r.merchant_id = k.merchant_id AND r.key_id = k.id"
                )
            )
        ).all()
    assert all(merchant.key not in (row.key_hash, row.display_prefix) for row in stored)
    assert any(merchant.key.startswith(row.display_prefix) for row in stored)


@pytest.mark.parametrize(
    ("mutation", "variables"),
    [
        (
            "mutation($i: CreateMerchantInput!) { createMerchant(input: $i) { apiKey } }",
            {"i": {"name": "Sneaky"}},
        ),
        (
            "mutation($i: RechargeBalanceInput!) "
            "{ rechargeBalance(input: $i) { merchant { id } } }",
            {
                "i": {
                    "merchantId": "mer_00000000000000000000000000000000",
                    "amount": 1,
                    "reference": "x",
                }
            },
        ),
        (
            "mutation($i: RecordTransactionInput!) { recordTransaction(input: $i) { "
            "transaction { id } } }",
            {
                "i": {
                    "merchantId": "mer_00000000000000000000000000000000",
                    "reference": "r",
                    "orderId": "o",
                    "amount": 1,
                    "currency": "INR",
                    "status": "SUCCESS",
                    "paymentMethod": "UPI",
                    "source": "a@b",
                }
            },
        ),
    ],
)
async def test_a_merchant_key_cannot_call_platform_mutations(
    api: Api, mutation: str, variables: dict[str, object]
) -> None:
    merchant = await api.create_merchant()
    response = await api.post(mutation, variables, token=merchant.key)
    assert response.status_code == 200
    errors = response.json()["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
    assert await api.balance(merchant) == 0


async def test_the_admin_token_has_no_merchant_data(api: Api) -> None:
    response = await api.post(VIEWER, token=api.admin_token)
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_another_merchants_ids_behave_exactly_like_missing_ones(api: Api) -> None:
    # given two merchants, one with a transaction and a refund
    owner, stranger = await api.create_merchant(), await api.create_merchant()
    await api.recharge(owner, 1_000_00)
    transaction = await api.record_transaction(owner, amount=500_00)
    refund = (await api.initiate_refund(owner, transactionId=transaction["id"], amount=100_00))[
        "refund"
    ]
    missing_txn = "txn_" + "0" * 32
    missing_rfd = "rfd_" + "0" * 32
    query = """query($t: ID!, $r: ID!, $m: ID!) {
      transaction(id: $t) { id } refund(id: $r) { id }
      nt: node(id: $t) { id } nr: node(id: $r) { id } nm: node(id: $m) { id }
      refunds(filter: {transactionId: $t}) { totalCount }
    }"""
    # when the stranger asks for the owner's ids, and for ids that exist nowhere
    theirs = await api.gql(
        query, {"t": transaction["id"], "r": refund["id"], "m": owner.id}, token=stranger.key
    )
    nowhere = await api.gql(
        query, {"t": missing_txn, "r": missing_rfd, "m": "mer_" + "0" * 32}, token=stranger.key
    )
    # then both answers are the same: nothing
    assert (
        theirs
        == nowhere
        == {
            "transaction": None,
            "refund": None,
            "nt": None,
            "nr": None,
            "nm": None,
            "refunds": {"totalCount": 0},
        }
    )
    # and the stranger cannot act on the owner's refund or transaction either
    cancel = await api.cancel_refund(stranger, refund["id"])
    assert [e["code"] for e in cancel["userErrors"]] == ["REFUND_NOT_FOUND"]
    initiate = await api.initiate_refund(stranger, transactionId=transaction["id"])
    assert [e["code"] for e in initiate["userErrors"]] == ["TRANSACTION_NOT_FOUND"]


async def test_node_fetches_the_callers_own_objects_by_global_id(api: Api) -> None:
    merchant = await api.create_merchant()
    await api.recharge(merchant, 1_000_00)
    transaction = await api.record_transaction(merchant)
    refund = (await api.initiate_refund(merchant, transactionId=transaction["id"]))["refund"]
    for node_id, typename in [
        (transaction["id"], "Transaction"),
        (refund["id"], "Refund"),
        (merchant.id, "Merchant"),
    ]:
        data = await api.gql(
            "query($id: ID!) { node(id: $id) { __typename id } }",
            {"id": node_id},
            token=merchant.key,
        )
        assert data["node"] == {"__typename": typename, "id": node_id}
    for garbage in ["", "txn_", "txn_zz", "rfd_" + "g" * 32, "nope", "led_1"]:
        data = await api.gql(
            "query($id: ID!) { node(id: $id) { id } }", {"id": garbage}, token=merchant.key
        )
        assert data["node"] is None
