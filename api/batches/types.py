"""GraphQL types of refund batches and their items."""

from __future__ import annotations

from datetime import datetime
from typing import Self
from uuid import UUID

import strawberry
from strawberry.types import Info

from api import ids
from api.errors import UserError
from api.node import Node
from api.pagination import Connection, numbered_page
from api.refunds.queries import load_refund
from api.refunds.types import RefundType
from api.scalars import MinorUnits
from db.repositories.batches import RefundBatchReads
from domain.batches import (
    RefundBatch,
    RefundBatchItem,
    RefundBatchItemStatus,
    RefundBatchStatus,
)
from domain.errors import ErrorCode
from domain.values import made_from

strawberry.enum(RefundBatchStatus, name="RefundBatchStatus")
strawberry.enum(RefundBatchItemStatus, name="RefundBatchItemStatus")


@strawberry.type(name="RefundBatchItem", description="One refund asked in a batch.")
class RefundBatchItemType:
    index: int = strawberry.field(description="Its place in the batch, from 0.")
    status: RefundBatchItemStatus
    transaction_id: strawberry.ID | None = strawberry.field(description="As given.")
    order_id: str | None = strawberry.field(description="As given.")
    amount: MinorUnits | None = strawberry.field(description="As given; null: all refundable.")
    user_errors: list[UserError] = strawberry.field(
        description="Why it was REFUSED: initiateRefund's userErrors."
    )
    refund_id: strawberry.Private[UUID | None]

    @classmethod
    def from_domain(cls, item: RefundBatchItem) -> Self:
        errors = []
        if item.error is not None:
            e = item.error
            errors.append(
                UserError(
                    code=ErrorCode(e.code),
                    field=list(e.field) if e.field else None,
                    message=e.message,
                )
            )
        given = item.item
        return cls(
            index=item.index,
            status=item.status,
            transaction_id=strawberry.ID(given.transaction) if given.transaction else None,
            order_id=given.order_id,
            amount=MinorUnits(given.amount) if given.amount is not None else None,
            user_errors=errors,
            refund_id=item.refund_id,
        )

    @strawberry.field(description="The refund it created, when CREATED.")
    async def refund(self, info: Info) -> RefundType | None:
        if self.refund_id is None:
            return None
        return await load_refund(info, self.refund_id)


@strawberry.type(name="RefundBatch", description="Many refunds asked at once.")
class RefundBatchType(Node):
    status: RefundBatchStatus
    total: int = strawberry.field(description="Items in the batch.")
    created: int = strawberry.field(description="Items that created their refund.")
    refused: int = strawberry.field(description="Items refused, each with its userErrors.")
    cancelled: int = strawberry.field(description="Items cancelled before they were applied.")
    created_at: datetime
    completed_at: datetime | None
    domain: strawberry.Private[RefundBatch]

    @classmethod
    def from_domain(cls, batch: RefundBatch) -> Self:
        return made_from(
            cls, batch, id=strawberry.ID(ids.encode(ids.REFUND_BATCH, batch.id)), domain=batch
        )

    @strawberry.field(description="The batch's items in its order.")
    async def items(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: RefundBatchItemStatus | None = None,
    ) -> Connection[RefundBatchItemType]:
        return await items_page(info.context.services.batches, self.domain, first, after, status)


async def items_page(
    reads: RefundBatchReads,
    batch: RefundBatch,
    first: int | None,
    after: str | None,
    status: RefundBatchItemStatus | None,
) -> Connection[RefundBatchItemType]:
    """RefundBatch.items, for its resolver and the compiled plans (api/compiled)."""
    merchant_id, batch_id = batch.merchant_id, batch.id

    async def count() -> int:
        total: int = await reads.item_count(merchant_id, batch_id, status)
        return total

    return await numbered_page(
        first,
        after,
        lambda limit, key: reads.items(
            merchant_id, batch_id, limit=limit, after=key, status=status
        ),
        lambda item: item.index,
        RefundBatchItemType.from_domain,
        count,
    )


async def refund_batch(
    reads: RefundBatchReads, merchant_id: UUID, batch_id: UUID
) -> RefundBatchType | None:
    found = await reads.batch(merchant_id, batch_id)
    return RefundBatchType.from_domain(found) if found else None


async def load_refund_batch(info: Info, batch_id: UUID) -> RefundBatchType | None:
    return await refund_batch(info.context.services.batches, info.context.merchant_id, batch_id)
