"""The read side: connections, keyset cursors, filters, nested relations."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.support import Api, Merchant

PAGE = """query($first: Int, $after: String, $filter: TransactionFilter) {
  transactions(first: $first, after: $after, filter: $filter) {
    totalCount edges { cursor node { id reference } } pageInfo { hasNextPage endCursor }
  }
}"""


async def _merchant_with_transactions(api: Api, count: int) -> tuple[Merchant, list[str]]:
    merchant = await api.create_merchant()
    start = datetime.now(UTC) - timedelta(days=1)
    references = []
    for n in range(count):
        created = (start + timedelta(minutes=n)).isoformat()
        recorded = await api.record_transaction(
            merchant,
            reference=f"pay_{n:03d}",
            createdAt=created,
            paymentMethod=["UPI", "CARD", "NET_BANKING", "WALLET"][n % 4],
            status=["SUCCESS", "SUCCESS", "FAILED", "PENDING"][n % 4],
            orderId=f"order_{n % 3}",
        )
        references.append(recorded["reference"])
    return merchant, references


async def test_pages_walk_all_transactions_newest_first_without_gaps_or_repeats(api: Api) -> None:
    # given 7 transactions a minute apart
    merchant, references = await _merchant_with_transactions(api, 7)
    seen: list[str] = []
    after = None
    pages = 0
    # when we walk pages of 3
    while True:
        data = (await api.gql(PAGE, {"first": 3, "after": after}, token=merchant.key))[
            "transactions"
        ]
        assert data["totalCount"] == 7
        seen += [edge["node"]["reference"] for edge in data["edges"]]
        pages += 1
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
        assert after == data["edges"][-1]["cursor"]
    # then every one is seen once, newest first
    assert seen == list(reversed(references))
    assert pages == 3


async def test_transactions_filter_by_status_method_order_and_time(api: Api) -> None:
    merchant, references = await _merchant_with_transactions(api, 8)

    async def refs(filter_: dict[str, object]) -> list[str]:
        data = await api.gql(PAGE, {"first": 100, "filter": filter_}, token=merchant.key)
        edges = data["transactions"]["edges"]
        assert data["transactions"]["totalCount"] == len(edges)
        return sorted(edge["node"]["reference"] for edge in edges)

    assert await refs({"status": "FAILED"}) == ["pay_002", "pay_006"]
    assert await refs({"paymentMethod": "CARD"}) == ["pay_001", "pay_005"]
    assert await refs({"orderId": "order_1"}) == ["pay_001", "pay_004", "pay_007"]
    assert await refs({"status": "SUCCESS", "paymentMethod": "UPI"}) == ["pay_000", "pay_004"]
    all_ = await api.gql(
        "{ transactions(first: 100) { edges { node { reference createdAt } } } }",
        token=merchant.key,
    )
    stamps = {e["node"]["reference"]: e["node"]["createdAt"] for e in all_["transactions"]["edges"]}
    window = {"createdFrom": stamps["pay_002"], "createdTo": stamps["pay_005"]}
    assert await refs(window) == ["pay_002", "pay_003", "pay_004"]


@pytest.mark.parametrize("first", [-1, 101, 1000])
async def test_first_outside_0_to_100_is_a_clear_error(api: Api, first: int) -> None:
    merchant = await api.create_merchant()
    response = await api.post(PAGE, {"first": first}, token=merchant.key)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "between 0 and 100" in error["message"]


@pytest.mark.parametrize("cursor", ["garbage!", "bm90LWEtY3Vyc29y", ""])
async def test_a_cursor_we_never_gave_out_is_a_clear_error(api: Api, cursor: str) -> None:
    merchant = await api.create_merchant()
    response = await api.post(PAGE, {"after": cursor}, token=merchant.key)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_refunds_list_filters_and_nests_transaction_and_events(api: Api) -> None:
    merchant = await api.create_merchant()
    await api.recharge(merchant, 10_000_00)
    first_txn = await api.record_transaction(merchant, amount=1_000_00)
    second_txn = await api.record_transaction(merchant, amount=2_000_00)
    r1 = await api.initiate_refund(merchant, transactionId=first_txn["id"], amount=100_00)
    r2 = await api.initiate_refund(merchant, transactionId=second_txn["id"], amount=200_00)
    assert r1["userErrors"] == r2["userErrors"] == []
    query = """query($f: RefundFilter) { refunds(first: 10, filter: $f) {
      totalCount edges { node { id amount transaction { id amount } events { status } } } } }"""
    everything = (await api.gql(query, {}, token=merchant.key))["refunds"]
    assert everything["totalCount"] == 2
    assert [e["node"]["id"] for e in everything["edges"]] == [
        r2["refund"]["id"],
        r1["refund"]["id"],
    ]
    assert everything["edges"][1]["node"]["transaction"] == {
        "id": first_txn["id"],
        "amount": 1_000_00,
    }
    assert everything["edges"][1]["node"]["events"][0]["status"] == "PENDING"
    only_first = (
        await api.gql(query, {"f": {"transactionId": first_txn["id"]}}, token=merchant.key)
    )["refunds"]
    assert [e["node"]["id"] for e in only_first["edges"]] == [r1["refund"]["id"]]
    by_status = await api.gql(query, {"f": {"status": ["CANCELLED"]}}, token=merchant.key)
    assert by_status["refunds"]["totalCount"] == 0


async def test_viewer_shows_balance_and_a_paginated_ledger(api: Api) -> None:
    merchant = await api.create_merchant()
    await api.recharge(merchant, 300_00, "r1")
    await api.recharge(merchant, 200_00, "r2")
    transaction = await api.record_transaction(merchant, amount=100_00)
    refund = (await api.initiate_refund(merchant, transactionId=transaction["id"]))["refund"]
    query = """query($after: String) { viewer { name currency balance
      ledger(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
        edges { node { kind amount balanceAfter reference refund { id } } } } } }"""
    first = (await api.gql(query, token=merchant.key))["viewer"]
    assert first["balance"] == 400_00
    assert first["ledger"]["totalCount"] == 3
    assert [e["node"] for e in first["ledger"]["edges"]] == [
        {
            "kind": "REFUND_DEBIT",
            "amount": 100_00,
            "balanceAfter": 400_00,
            "reference": None,
            "refund": {"id": refund["id"]},
        },
        {
            "kind": "RECHARGE",
            "amount": 200_00,
            "balanceAfter": 500_00,
            "reference": "r2",
            "refund": None,
        },
    ]
    rest = (
        await api.gql(
            query, {"after": first["ledger"]["pageInfo"]["endCursor"]}, token=merchant.key
        )
    )["viewer"]["ledger"]
    assert [e["node"]["reference"] for e in rest["edges"]] == ["r1"]
    assert rest["pageInfo"]["hasNextPage"] is False
