"""The hottest of db/queries.py's reads as plain SQL on one asyncpg connection of the service's
pool, for the compiled read plans (api/compiled): the same tables, columns, predicates and order,
turned into the same domain values. Two differences, both about cost, none about results:
`= ANY($n::uuid[])` instead of an expanded `IN ($n, …)`, so that one prepared statement serves
every batch size; and no BEGIN/ROLLBACK around a single read-only statement. Filtered lists, the
refunds list, the ledger and the merchant are read through ReadQueries itself, webhooks, refund
batches and the refund summary through their own repositories, all on the same connection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from db.queries import NewestFirstKey, ReadQueries, RefundFilter, TransactionFilter
from db.reports import Reports
from db.repositories.api_keys import ApiKeyStore
from db.repositories.batches import RefundBatchReads
from db.repositories.refunds import REFUND_COLUMNS
from db.repositories.webhooks import WebhookReads
from db.rows import refund_event_record, refund_record, transaction_record
from db.tables import refund_events, transactions
from domain.model import LedgerEntry, Merchant, Refund, RefundEvent, Transaction

# The columns each decoder of db/rows.py reads, by name.
TX = ", ".join(c.name for c in transactions.c)
REFUND = ", ".join(c.name for c in REFUND_COLUMNS)
EVENT = ", ".join(c.name for c in refund_events.c)
NEWEST = "ORDER BY created_at DESC, id DESC"

PAGE = f"SELECT {TX} FROM transactions WHERE merchant_id = $1 {NEWEST} LIMIT $2"
PAGE_AFTER = (
    f"SELECT {TX} FROM transactions WHERE merchant_id = $1 "
    f"AND (created_at, id) < ($3, $4) {NEWEST} LIMIT $2"
)
COUNT = "SELECT count(*) FROM transactions WHERE merchant_id = $1"
TX_BY_ID = f"SELECT {TX} FROM transactions WHERE merchant_id = $1 AND id = ANY($2::uuid[])"
REFUNDS_BY_ID = f"SELECT {REFUND} FROM refunds WHERE merchant_id = $1 AND id = ANY($2::uuid[])"
REFUNDS_OF = (
    f"SELECT {REFUND} FROM refunds WHERE merchant_id = $1 "
    f"AND transaction_id = ANY($2::uuid[]) {NEWEST}"
)
EVENTS_OF = (
    f"SELECT {EVENT} FROM refund_events WHERE merchant_id = $1 "
    "AND refund_id = ANY($2::uuid[]) ORDER BY id"
)


class PooledReads:
    """ReadQueries' interface for one request: the unfiltered hot reads on one connection."""

    def __init__(self, conn: Any, queries: ReadQueries, api_keys: ApiKeyStore) -> None:
        self.conn = conn  # asyncpg.Connection
        self.queries = queries
        self.api_keys = api_keys  # on the same connection
        # webhooks, batches and the summary: their own repositories' reads, on it too
        on = queries.connection
        assert on is not None
        self.webhooks = WebhookReads(queries.engine, on)
        self.batches = RefundBatchReads(queries.engine, on)
        self.reports = Reports(queries.engine, on)

    async def answer(self, statement: str, merchant_id: UUID, values: Sequence[Any]) -> str:
        """A compiled plan's single statement (db/compiled_sql.py): the answer's JSON text."""
        found: str = await self.conn.fetchval(statement, merchant_id, *values)
        return found

    async def merchant(self, merchant_id: UUID) -> Merchant | None:
        return await self.queries.merchant(merchant_id)

    async def ledger(
        self, merchant_id: UUID, *, limit: int, after: int | None
    ) -> Sequence[LedgerEntry]:
        return await self.queries.ledger(merchant_id, limit=limit, after=after)

    async def ledger_count(self, merchant_id: UUID) -> int:
        return await self.queries.ledger_count(merchant_id)

    async def refunds(
        self, merchant_id: UUID, f: RefundFilter, *, limit: int, after: NewestFirstKey | None
    ) -> Sequence[Refund]:
        return await self.queries.refunds(merchant_id, f, limit=limit, after=after)

    async def refund_count(self, merchant_id: UUID, f: RefundFilter) -> int:
        return await self.queries.refund_count(merchant_id, f)

    async def transactions(
        self, merchant_id: UUID, f: TransactionFilter, *, limit: int, after: NewestFirstKey | None
    ) -> Sequence[Transaction]:
        if f != TransactionFilter():
            return await self.queries.transactions(merchant_id, f, limit=limit, after=after)
        if after is None:
            found = await self.conn.fetch(PAGE, merchant_id, limit)
        else:
            found = await self.conn.fetch(PAGE_AFTER, merchant_id, limit, *after)
        return [transaction_record(r) for r in found]

    async def transaction_count(self, merchant_id: UUID, f: TransactionFilter) -> int:
        if f != TransactionFilter():
            return await self.queries.transaction_count(merchant_id, f)
        return int(await self.conn.fetchval(COUNT, merchant_id))

    async def transactions_by_id(
        self, merchant_id: UUID, ids: Sequence[UUID]
    ) -> list[Transaction | None]:
        found = {
            r["id"]: transaction_record(r)
            for r in await self.conn.fetch(TX_BY_ID, merchant_id, list(ids))
        }
        return [found.get(i) for i in ids]

    async def refunds_by_id(self, merchant_id: UUID, ids: Sequence[UUID]) -> list[Refund | None]:
        found = {
            r["id"]: refund_record(r)
            for r in await self.conn.fetch(REFUNDS_BY_ID, merchant_id, list(ids))
        }
        return [found.get(i) for i in ids]

    async def refunds_by_transaction(
        self, merchant_id: UUID, transaction_ids: Sequence[UUID]
    ) -> list[list[Refund]]:
        grouped: dict[UUID, list[Refund]] = defaultdict(list)
        for r in await self.conn.fetch(REFUNDS_OF, merchant_id, list(transaction_ids)):
            grouped[r["transaction_id"]].append(refund_record(r))
        return [grouped.get(i, []) for i in transaction_ids]

    async def events_by_refund(
        self, merchant_id: UUID, refund_ids: Sequence[UUID]
    ) -> list[list[RefundEvent]]:
        grouped: dict[UUID, list[RefundEvent]] = defaultdict(list)
        for r in await self.conn.fetch(EVENTS_OF, merchant_id, list(refund_ids)):
            grouped[r["refund_id"]].append(refund_event_record(r))
        return [grouped.get(i, []) for i in refund_ids]


@asynccontextmanager
async def pooled_reads(queries: ReadQueries, api_keys: ApiKeyStore) -> AsyncIterator[PooledReads]:
    """One pooled connection for the whole request, returned to the pool afterwards; every read
    of the request goes through it, API keys' too."""
    async with queries.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        yield PooledReads(raw.driver_connection, queries.on(conn), api_keys.on(conn))
