"""refundBatchUpdated: a batch's progress, then its final state, read again each time the
batch moves (api/batches/followers.py), never polled."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from api import ids
from api.batches.types import RefundBatchType
from domain.batches import RefundBatchStatus


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
        services = info.context.services
        key = ids.decode_uuid(ids.REFUND_BATCH, batch_id)
        if key is None:
            return
        last = None
        with services.batch_followers.follow(key) as moved:
            while True:
                moved.clear()  # before the read: a commit after it wakes the next round
                batch = await services.batches.batch(merchant_id, key)
                if batch is None:
                    return
                if batch != last:
                    last = batch
                    yield RefundBatchType.from_domain(batch)
                if batch.status is not RefundBatchStatus.RUNNING:
                    return
                await moved.wait()
