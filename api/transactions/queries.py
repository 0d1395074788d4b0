"""Queries: transaction(id:) and transactions(first:, after:, filter:)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.types import Info

from api import ids
from api.pagination import Connection, newest_first_page
from api.transactions.types import TransactionType, load_transaction
from db.queries import TransactionFilter as TransactionFilterQuery
from domain.model import PaymentMethod, RefundState, Transaction, TransactionStatus


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
        merchant_id = info.context.merchant_id
        query = filter.to_query() if filter else TransactionFilterQuery()
        reads = info.context.services.reads

        async def read(limit: int, key: tuple[datetime, UUID] | None) -> list[Transaction]:
            found: list[Transaction] = await reads.transactions(
                merchant_id, query, limit=limit, after=key
            )
            for t in found:  # prime the loader: Refund.transaction needs no second read
                info.context.loaders.transaction.prime(t.id, t)
            return found

        return await newest_first_page(
            first,
            after,
            read,
            TransactionType.from_domain,
            lambda: reads.transaction_count(merchant_id, query),
        )
