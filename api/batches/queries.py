"""Queries: refundBatch(id:) and refundBatches(first:, after:)."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.types import Info

from api import ids
from api.batches.types import RefundBatchType, load_refund_batch
from api.pagination import Connection, newest_first_page
from db.repositories.batches import RefundBatchReads


@strawberry.type
class RefundBatchQueries:
    @strawberry.field(description="One of your refund batches, or null.")
    async def refund_batch(self, info: Info, id: strawberry.ID) -> RefundBatchType | None:
        key = ids.decode_uuid(ids.REFUND_BATCH, id)
        return await load_refund_batch(info, key) if key else None

    @strawberry.field(description="Your refund batches, newest first.")
    async def refund_batches(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[RefundBatchType]:
        context = info.context
        return await batches_page(context.services.batches, context.merchant_id, first, after)


async def batches_page(
    reads: RefundBatchReads, merchant_id: UUID, first: int | None, after: str | None
) -> Connection[RefundBatchType]:
    """Query.refundBatches, for its resolver and the compiled plans (api/compiled)."""
    return await newest_first_page(
        first,
        after,
        lambda limit, key: reads.batches(merchant_id, limit, key),
        RefundBatchType.from_domain,
        lambda: reads.batch_count(merchant_id),
    )
