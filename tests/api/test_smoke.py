from tests.support import Api


async def test_a_new_merchant_sees_an_empty_account(api: Api) -> None:
    merchant = await api.create_merchant()
    data = await api.gql(
        "{ viewer { id balance } transactions { totalCount edges { node { id } } } }",
        token=merchant.key,
    )
    assert data["viewer"] == {"id": merchant.id, "balance": 0}
    assert data["transactions"] == {"totalCount": 0, "edges": []}


async def test_a_recorded_transaction_is_listed_with_its_refundable_amount(api: Api) -> None:
    merchant = await api.create_merchant()
    recorded = await api.record_transaction(merchant, amount=250_00)
    data = await api.gql(
        "{ transactions { edges { node { id refundableAmount } } } }", token=merchant.key
    )
    assert data["transactions"]["edges"] == [
        {"node": {"id": recorded["id"], "refundableAmount": 250_00}}
    ]
