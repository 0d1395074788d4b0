"""The unit of work: one database transaction on one pooled connection, with the repositories
bound to it. Leaving the block without `commit()` rolls back.

The repositories' hot statements (db/statements.py) go straight to the asyncpg connection under
the SQLAlchemy one, so the transaction is begun eagerly through SQLAlchemy's asyncpg adapter:
its BEGIN would otherwise wait for the first SQLAlchemy statement, and statements sent before it
would run outside the transaction. Commit and rollback stay SQLAlchemy's.

That takes a private method of the adapter (`_start_transaction`), for want of a public one in
SQLAlchemy 2.1: `AsyncConnection.begin()` only opens SQLAlchemy's own transaction, the
dialect's `do_begin` is a no-op (a DBAPI begins implicitly), and the adapter sends BEGIN from
its cursor, right before the first statement SQLAlchemy executes. The public ways to make it
send BEGIN all execute a statement through SQLAlchemy (a `begin` event listener included): one
more round trip per unit of work, on initiateRefund's six. Beginning with asyncpg's public
`Connection.transaction()` instead would make the adapter's own BEGIN, on the colder SQLAlchemy
statements, a savepoint. `_begun` asserts what it relies on, so a SQLAlchemy that changes it
fails every unit of work's test at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from db.repositories.api_keys import SqlApiKeys
from db.repositories.batches import SqlRefundBatches
from db.repositories.idempotency import SqlIdempotency
from db.repositories.merchants import SqlLedger, SqlMerchants
from db.repositories.refunds import SqlRefundEvents, SqlRefunds
from db.repositories.transactions import SqlTransactions
from db.repositories.webhooks import SqlWebhooks
from db.secret_box import SecretBox


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine, secrets: SecretBox | None = None) -> None:
        self.engine = engine
        self.secrets = secrets  # seals webhook secrets; a unit of work that stores none has none
        self._conn: AsyncConnection | None = None
        self._tx: AsyncTransaction | None = None

    async def __aenter__(self) -> Self:
        conn = self._conn = await self.engine.connect()
        self._tx = await conn.begin()
        raw = await _begun(conn)
        self.merchants = SqlMerchants(conn, raw)
        self.api_keys = SqlApiKeys(conn, raw)
        self.transactions = SqlTransactions(conn, raw)
        self.refunds = SqlRefunds(conn, raw)
        self.events = SqlRefundEvents(conn, raw)
        self.ledger = SqlLedger(conn, raw)
        self.idempotency = SqlIdempotency(conn, raw)
        self.webhooks = SqlWebhooks(conn, self.secrets)
        self.batches = SqlRefundBatches(conn, raw)
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

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """What the block does is undone, alone, if it raises (SAVEPOINT; ROLLBACK TO)."""
        assert self._conn is not None
        nested = await self._conn.begin_nested()
        try:
            yield
        except BaseException:
            await nested.rollback()
            raise
        await nested.commit()


async def _begun(conn: AsyncConnection) -> Any:
    """Send the transaction's BEGIN now; returns the asyncpg connection inside it."""
    fairy = await conn.get_raw_connection()
    adapter: Any = fairy.dbapi_connection  # SQLAlchemy's AsyncAdapt_asyncpg_connection
    if adapter._transaction is None:
        await adapter._start_transaction()
    assert adapter._transaction is not None, "the unit of work must run inside a transaction"
    return fairy.driver_connection
