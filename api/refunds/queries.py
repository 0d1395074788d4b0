"""Queries: refund(id:) and refunds(first:, after:, filter:)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.types import Info

from api import ids
from api.pagination import Connection, newest_first_page
from api.refunds.types import RefundType
from db.queries import RefundFilter as RefundFilterQuery
from domain.model import RefundReason, RefundSpeed, RefundStatus

# Stands for a transactionId that names nothing of the caller's: matches no refund.
NO_SUCH_TRANSACTION = UUID(int=0)


@strawberry.input
class RefundFilter:
    status: list[RefundStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )
    transaction_id: strawberry.ID | None = None
    created_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    created_to: datetime | None = strawberry.field(default=None, description="Exclusive.")
    order_id: str | None = strawberry.field(
        default=None, description="Refunds of the transactions with this order id."
    )
    reason: list[RefundReason] | None = strawberry.field(
        default=None, description="Any of these reasons."
    )
    speed: RefundSpeed | None = strawberry.field(default=None, description="The speed requested.")
    bank_reference: str | None = strawberry.field(
        default=None, description="The ARN / UTR the bank gave (a customer may quote it)."
    )

    def to_query(self) -> RefundFilterQuery:
        transaction_id = None
        if self.transaction_id is not None:
            transaction_id = (
                ids.decode_uuid(ids.TRANSACTION, self.transaction_id) or NO_SUCH_TRANSACTION
            )
        return RefundFilterQuery(
            statuses=self.status,
            transaction_id=transaction_id,
            created_from=self.created_from,
            created_to=self.created_to,
            order_id=self.order_id,
            reasons=self.reason,
            speed=self.speed,
            bank_reference=self.bank_reference,
        )


async def load_refund(info: Info, refund_id: UUID) -> RefundType | None:
    found = await info.context.loaders.refund.load(refund_id)
    return RefundType.from_domain(found) if found else None


@strawberry.type
class RefundQueries:
    @strawberry.field(description="One of your refunds, or null.")
    async def refund(self, info: Info, id: strawberry.ID) -> RefundType | None:
        key = ids.decode_uuid(ids.REFUND, id)
        return await load_refund(info, key) if key else None

    @strawberry.field(description="Your refunds, newest first.")
    async def refunds(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: RefundFilter | None = None,
    ) -> Connection[RefundType]:
        merchant_id = info.context.merchant_id
        query = filter.to_query() if filter else RefundFilterQuery()
        reads = info.context.services.reads
        return await newest_first_page(
            first,
            after,
            lambda limit, key: reads.refunds(merchant_id, query, limit=limit, after=key),
            RefundType.from_domain,
            lambda: reads.refund_count(merchant_id, query),
        )
