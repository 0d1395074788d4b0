"""A card number given as a transaction's source is masked before it is stored: the API, the
database and the refunds to that source only ever see its last four digits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from api import ids
from db.tables import transactions
from tests.support import RECORD_TRANSACTION, Api, transaction_input

CARD = "4242 4242 4242 4242"
MASKED = "XXXX XXXX XXXX 4242"


async def _stored_source(engine: AsyncEngine, transaction_id: str) -> str:
    row_id = ids.decode_uuid(ids.TRANSACTION, transaction_id)
    async with engine.connect() as conn:
        source: str = (
            await conn.execute(select(transactions.c.source).where(transactions.c.id == row_id))
        ).scalar_one()
    return source


async def test_a_card_number_in_the_source_is_stored_and_returned_masked(
    api: Api, engine: AsyncEngine
) -> None:
    # given a merchant with a balance
    merchant = await api.create_merchant()
    await api.recharge(merchant, 1_000_00)
    # when the operator records a card payment whose source holds the full card number
    recorded = await api.record_transaction(
        merchant, paymentMethod="CARD", source=f"frozen card {CARD} exp 12/28"
    )
    # then only the last four digits are kept, and the rest of the text (the rails' marker) too
    assert recorded["source"] == f"frozen card {MASKED} exp 12/28"
    assert await _stored_source(engine, recorded["id"]) == f"frozen card {MASKED} exp 12/28"
    read = await api.gql(
        "query($id: ID!) { transaction(id: $id) { source } }",
        {"id": recorded["id"]},
        token=merchant.key,
    )
    assert read["transaction"]["source"] == f"frozen card {MASKED} exp 12/28"
    # and a refund to the original source shows the masked number
    payload = await api.initiate_refund(merchant, transactionId=recorded["id"], amount=10_00)
    assert payload["refund"]["destination"]["display"] == f"frozen card {MASKED} exp 12/28"


async def test_recording_the_same_card_payment_again_returns_the_stored_one(api: Api) -> None:
    # given a card payment recorded with its full number
    merchant = await api.create_merchant()
    fields = transaction_input(merchant, paymentMethod="CARD", source="4111-1111-1111-1111")
    first = (await api.admin(RECORD_TRANSACTION, {"input": fields}))["recordTransaction"]
    # when the same record is sent again (a retry)
    again = (await api.admin(RECORD_TRANSACTION, {"input": fields}))["recordTransaction"]
    # then it is the same payment, stored once, masked
    assert again["userErrors"] == []
    assert again["transaction"] == first["transaction"]
    assert first["transaction"]["source"] == "XXXX-XXXX-XXXX-1111"
