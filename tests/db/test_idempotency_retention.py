"""Idempotency keys are kept at least 24 hours, then pruned by the service itself."""

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api import ids
from api.housekeeping import prune_idempotency_keys
from tests.support import Api


async def test_keys_younger_than_24_hours_are_kept_and_older_ones_pruned(
    api: Api, engine: AsyncEngine
) -> None:
    # given two refunds made with keys, one of them backdated to 25 hours ago
    merchant = await api.create_merchant()
    await api.recharge(merchant, 1_000_00)
    transaction = await api.record_transaction(merchant, amount=500_00)
    for key in ("fresh-key", "old-key"):
        payload = await api.initiate_refund(
            merchant, transactionId=transaction["id"], amount=10_00, idempotencyKey=key
        )
        assert payload["userErrors"] == []
    merchant_id = ids.decode_uuid(ids.MERCHANT, merchant.id)
    assert isinstance(merchant_id, UUID)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' "
                "WHERE merchant_id = :m AND key = 'old-key'"
            ),
            {"m": merchant_id},
        )
    # when the housekeeping runs
    await prune_idempotency_keys(engine)
    # then only the fresh key remains
    async with engine.connect() as conn:
        keys = (
            (
                await conn.execute(
                    text("SELECT key FROM idempotency_keys WHERE merchant_id = :m"),
                    {"m": merchant_id},
                )
            )
            .scalars()
            .all()
        )
    assert keys == ["fresh-key"]
    # and the fresh key still replays its refund instead of making a new one
    again = await api.initiate_refund(
        merchant, transactionId=transaction["id"], amount=10_00, idempotencyKey="fresh-key"
    )
    assert again["userErrors"] == []
    count = await api.gql("{ refunds { totalCount } }", token=merchant.key)
    assert count["refunds"]["totalCount"] == 2
