"""The unit of work is one database transaction, raw asyncpg statements included."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from api import ids
from db.uow import SqlUnitOfWork
from tests.support import Api


async def test_leaving_without_commit_undoes_every_statement_even_the_raw_ones(
    api: Api, engine: AsyncEngine
) -> None:
    # given a merchant with a balance
    merchant = await api.create_merchant()
    await api.recharge(merchant, 500_00)
    merchant_id = ids.decode_uuid(ids.MERCHANT, merchant.id)
    assert isinstance(merchant_id, UUID)
    # when a unit of work changes the balance (a raw asyncpg statement) and is not committed
    async with SqlUnitOfWork(engine) as uow:
        locked = await uow.merchants.lock(merchant_id)
        assert locked is not None
        await uow.merchants.set_balance(merchant_id, 1)
    # then nothing of it is left
    assert await api.balance(merchant) == 500_00
