"""refundBatchUpdated: a batch's progress, then its final state.

The batch is read again every PROGRESS_SECONDS and pushed when its counts or status moved: a
batch applies hundreds of items a second, so one push per item would only flood the client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from api import ids
from api.batches.types import RefundBatchType
from domain.batches import RefundBatchStatus

PROGRESS_SECONDS = 0.5


@strawberry.type
class RefundBatchSubscription:
    @strawberry.subscription(
        description="The batch's progress while it runs, then its final state (COMPLETED or "
        "CANCELLED), after which the subscription completes. Nothing for an id not yours."
    )
    async def refund_batch_updated(
        self, info: Info, batch_id: strawberry.ID
    ) -> AsyncGenerator[RefundBatchType, None]:
        merchant_id = info.context.merchant_id  # UNAUTHENTICATED / FORBIDDEN without a key
        reads = info.context.services.batches
        key = ids.decode_uuid(ids.REFUND_BATCH, batch_id)
        last = None
        while key is not None:
            batch = await reads.batch(merchant_id, key)
            if batch is None:
                return
            if batch != last:
                last = batch
                yield RefundBatchType.from_domain(batch)
            if batch.status is not RefundBatchStatus.RUNNING:
                return
            await asyncio.sleep(PROGRESS_SECONDS)
