"""Queries: refundBatch(id:) and refundBatches(first:, after:)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api import ids
from api.batches.types import RefundBatchType, load_refund_batch
from api.pagination import (
    Connection,
    build_connection,
    newest_first_cursor,
    page_size,
    parse_newest_first_cursor,
)


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
        size = page_size(first)
        merchant_id = info.context.merchant_id
        reads = info.context.services.batches
        found = await reads.batches(merchant_id, size + 1, parse_newest_first_cursor(after))
        return build_connection(
            found,
            size,
            RefundBatchType.from_domain,
            lambda b: newest_first_cursor(b.created_at, b.id),
            lambda: reads.batch_count(merchant_id),
        )
