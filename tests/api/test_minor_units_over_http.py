"""The MinorUnits scalar on the wire: a JSON integer from 0 to 2^53-1, nothing else.

Anything else is a malformed request: a top-level error that says what a MinorUnits is, no
data, and nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.account_state import account, merchant_with_balance
from tests.support import INITIATE_REFUND, RECHARGE, Api

NOT_MINOR_UNITS = [
    pytest.param(100.5, "JSON integer", id="a-fraction"),
    pytest.param(100.0, "JSON integer", id="a-whole-float"),
    pytest.param("100", "JSON integer", id="a-string"),
    pytest.param(-1, "between 0 and 9007199254740991", id="negative"),
    pytest.param(2**53, "between 0 and 9007199254740991", id="2^53"),
    pytest.param(True, "JSON integer", id="a-boolean"),
]


def _only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    assert len(body["errors"]) == 1, body
    error: dict[str, Any] = body["errors"][0]
    assert "Traceback" not in error["message"]
    return error


@pytest.mark.parametrize(("amount", "says"), NOT_MINOR_UNITS)
async def test_a_refund_amount_that_is_not_minor_units_is_a_malformed_request(
    api: Api, amount: object, says: str
) -> None:
    # given
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    before = await account(api, merchant)
    # when
    response = await api.post(
        INITIATE_REFUND,
        {"input": {"transactionId": paid["id"], "amount": amount, "reason": "OTHER"}},
        token=merchant.key,
    )
    # then
    assert response.status_code in (200, 400)
    error = _only_error(response.json())
    assert "MinorUnits" in error["message"]
    assert says in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert await account(api, merchant) == before


@pytest.mark.parametrize(("amount", "says"), NOT_MINOR_UNITS)
async def test_a_recharge_amount_that_is_not_minor_units_is_a_malformed_request(
    api: Api, amount: object, says: str
) -> None:
    merchant = await merchant_with_balance(api, 10_000)
    before = await account(api, merchant)
    response = await api.post(
        RECHARGE,
        {"input": {"merchantId": merchant.id, "amount": amount, "reference": "rch_bad"}},
        token=api.admin_token,
    )
    assert response.status_code in (200, 400)
    error = _only_error(response.json())
    assert "MinorUnits" in error["message"]
    assert says in error["message"]
    assert await account(api, merchant) == before


@pytest.mark.parametrize("literal", ["100.5", "100.0", '"100"', "-1", str(2**53)])
async def test_a_refund_amount_literal_that_is_not_minor_units_is_refused(
    api: Api, literal: str
) -> None:
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    before = await account(api, merchant)
    query = (
        f'mutation {{ initiateRefund(input: {{transactionId: "{paid["id"]}", '
        f"amount: {literal}, reason: OTHER}}) {{ refund {{ id }} }} }}"
    )
    response = await api.post(query, token=merchant.key)
    assert response.status_code in (200, 400)
    error = _only_error(response.json())
    assert "MinorUnits" in error["message"]
    assert await account(api, merchant) == before


async def test_the_largest_exact_integer_is_a_valid_amount(api: Api) -> None:
    # 2^53-1 passes the scalar and is refused by the rules instead (it exceeds the payment)
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    payload = await api.initiate_refund(merchant, transactionId=paid["id"], amount=2**53 - 1)
    assert [e["code"] for e in payload["userErrors"]] == ["AMOUNT_EXCEEDS_REFUNDABLE"]
