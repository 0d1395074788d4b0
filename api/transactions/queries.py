"""Queries: transaction(id:) and transactions(first:, after:, filter:)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api import ids
from api.pagination import (
    Connection,
    build_connection,
    newest_first_cursor,
    page_size,
    parse_newest_first_cursor,
)
from api.transactions.types import TransactionType, load_transaction
from db.queries import TransactionFilter as TransactionFilterQuery
from domain.model import PaymentMethod, RefundState, TransactionStatus


@strawberry.input
class TransactionFilter:
    status: TransactionStatus | None = None
    payment_method: PaymentMethod | None = None
    order_id: str | None = None
    created_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    created_to: datetime | None = strawberry.field(default=None, description="Exclusive.")
    refund_state: RefundState | None = strawberry.field(
        default=None,
        description="NONE: nothing refunded; PARTIAL: some; FULL: all (by refundedAmount).",
    )

    def to_query(self) -> TransactionFilterQuery:
        return TransactionFilterQuery(
            status=self.status,
            payment_method=self.payment_method,
            order_id=self.order_id,
            created_from=self.created_from,
            created_to=self.created_to,
            refund_state=self.refund_state,
        )


@strawberry.type
class TransactionQueries:
    @strawberry.field(description="One of your transactions, or null.")
    async def transaction(self, info: Info, id: strawberry.ID) -> TransactionType | None:
        key = ids.decode_uuid(ids.TRANSACTION, id)
        return await load_transaction(info, key) if key else None

    @strawberry.field(description="Your transactions, newest first.")
    async def transactions(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: TransactionFilter | None = None,
    ) -> Connection[TransactionType]:
        size = page_size(first)
        merchant_id = info.context.merchant_id
        query = filter.to_query() if filter else TransactionFilterQuery()
        reads = info.context.services.reads
        found = await reads.transactions(
            merchant_id, query, limit=size + 1, after=parse_newest_first_cursor(after)
        )
        for t in found:  # prime the loader: Refund.transaction needs no second read
            info.context.loaders.transaction.prime(t.id, t)
        return build_connection(
            found,
            size,
            TransactionType.from_domain,
            lambda t: newest_first_cursor(t.created_at, t.id),
            lambda: reads.transaction_count(merchant_id, query),
        )
