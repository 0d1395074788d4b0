"""The platform operator's mutations: createMerchant, recordTransaction, rechargeBalance."""

import pytest

from tests.support import RECHARGE, RECORD_TRANSACTION, Api, transaction_input


async def test_create_merchant_returns_a_working_key_once(api: Api) -> None:
    merchant = await api.create_merchant("Chai Point", "INR")
    data = await api.gql("{ viewer { id name currency balance } }", token=merchant.key)
    assert data["viewer"] == {
        "id": merchant.id,
        "name": "Chai Point",
        "currency": "INR",
        "balance": 0,
    }


@pytest.mark.parametrize(
    ("name", "currency", "field"),
    [
        ("", "INR", "name"),
        ("   ", "INR", "name"),
        ("x" * 201, "INR", "name"),
        ("Shop", "inr", "currency"),
        ("Shop", "RUPEES", "currency"),
    ],
)
async def test_create_merchant_refuses_bad_input_with_the_field(
    api: Api, name: str, currency: str, field: str
) -> None:
    data = await api.admin(
        "mutation($i: CreateMerchantInput!) { createMerchant(input: $i) { merchant { id } apiKey "
        "userErrors { code field message } } }",
        {"i": {"name": name, "currency": currency}},
    )
    payload = data["createMerchant"]
    assert payload["merchant"] is None
    assert payload["apiKey"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_INPUT", ["input", field])
    ]


async def test_recording_the_same_reference_twice_returns_the_same_transaction(api: Api) -> None:
    merchant = await api.create_merchant()
    values = transaction_input(merchant, amount=999_00)
    first = await api.admin(RECORD_TRANSACTION, {"input": values})
    again = await api.admin(RECORD_TRANSACTION, {"input": values})
    assert first == again
    count = await api.gql("{ transactions { totalCount } }", token=merchant.key)
    assert count["transactions"]["totalCount"] == 1


async def test_the_same_reference_with_different_data_is_a_conflict(api: Api) -> None:
    merchant = await api.create_merchant()
    values = transaction_input(merchant, amount=999_00)
    await api.admin(RECORD_TRANSACTION, {"input": values})
    clash = await api.admin(RECORD_TRANSACTION, {"input": {**values, "amount": 1_000_00}})
    assert clash["recordTransaction"]["transaction"] is None
    assert [(e["code"], e["field"]) for e in clash["recordTransaction"]["userErrors"]] == [
        ("TRANSACTION_CONFLICT", ["input", "reference"])
    ]


@pytest.mark.parametrize(
    ("override", "code", "field"),
    [
        ({"merchantId": "mer_" + "0" * 32}, "MERCHANT_NOT_FOUND", "merchantId"),
        ({"merchantId": "not-an-id"}, "MERCHANT_NOT_FOUND", "merchantId"),
        ({"amount": 0}, "AMOUNT_INVALID", "amount"),
        ({"currency": "rupee"}, "INVALID_INPUT", "currency"),
        ({"reference": ""}, "INVALID_INPUT", "reference"),
        ({"createdAt": "2999-01-01T00:00:00Z"}, "INVALID_INPUT", "createdAt"),
    ],
)
async def test_record_transaction_refuses_bad_input_and_records_nothing(
    api: Api, override: dict[str, object], code: str, field: str
) -> None:
    merchant = await api.create_merchant()
    data = await api.admin(RECORD_TRANSACTION, {"input": transaction_input(merchant, **override)})
    assert [(e["code"], e["field"]) for e in data["recordTransaction"]["userErrors"]] == [
        (code, ["input", field])
    ]
    count = await api.gql("{ transactions { totalCount } }", token=merchant.key)
    assert count["transactions"]["totalCount"] == 0


async def test_recharge_credits_the_balance_once_per_reference(api: Api) -> None:
    merchant = await api.create_merchant()
    assert await api.recharge(merchant, 500_00, "neft-001") == 500_00
    assert await api.recharge(merchant, 500_00, "neft-001") == 500_00  # a retry: no double credit
    clash = await api.admin(
        RECHARGE, {"input": {"merchantId": merchant.id, "amount": 7, "reference": "neft-001"}}
    )
    assert [e["code"] for e in clash["rechargeBalance"]["userErrors"]] == ["INVALID_INPUT"]
    assert await api.recharge(merchant, 250_00, "neft-002") == 750_00
    ledger = await api.gql("{ viewer { ledger { totalCount } } }", token=merchant.key)
    assert ledger["viewer"]["ledger"]["totalCount"] == 2


async def test_recharge_of_an_unknown_merchant_is_merchant_not_found(api: Api) -> None:
    data = await api.admin(
        RECHARGE, {"input": {"merchantId": "mer_" + "1" * 32, "amount": 1, "reference": "x"}}
    )
    assert [e["code"] for e in data["rechargeBalance"]["userErrors"]] == ["MERCHANT_NOT_FOUND"]
