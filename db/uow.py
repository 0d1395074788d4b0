"""The unit of work: one database transaction on one pooled connection, with the repositories
bound to it. Leaving the block without `commit()` rolls back."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from db.repositories.idempotency import SqlIdempotency
from db.repositories.merchants import SqlApiKeys, SqlLedger, SqlMerchants
from db.repositories.refunds import SqlRefundEvents, SqlRefunds
from db.repositories.transactions import SqlTransactions


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._conn: AsyncConnection | None = None
        self._tx: AsyncTransaction | None = None

    async def __aenter__(self) -> Self:
        conn = self._conn = await self.engine.connect()
        self._tx = await conn.begin()
        self.merchants = SqlMerchants(conn)
        self.api_keys = SqlApiKeys(conn)
        self.transactions = SqlTransactions(conn)
        self.refunds = SqlRefunds(conn)
        self.events = SqlRefundEvents(conn)
        self.ledger = SqlLedger(conn)
        self.idempotency = SqlIdempotency(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        assert self._tx is not None
        try:
            if self._tx.is_active:
                await self._tx.rollback()
        finally:
            await self._conn.close()
            self._conn = self._tx = None

    async def commit(self) -> None:
        assert self._tx is not None
        await self._tx.commit()
