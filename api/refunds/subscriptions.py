"""refundUpdated: every status change of the viewer's refunds, as it is committed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from uuid import UUID

import strawberry
from strawberry.types import Info

from api import ids
from api.batches.subscriptions import RefundBatchSubscription
from api.refunds.types import RefundType

# An id that does not parse behaves like one that names nothing: the subscription stays open
# and quiet (as it would for another merchant's refund), never an error that reveals anything.
_NOTHING = UUID(int=0)


def decode_filter(prefix: str, public_id: str | None) -> UUID | None:
    if public_id is None:
        return None
    return ids.decode_uuid(prefix, public_id) or _NOTHING


@strawberry.type
class Subscription(RefundBatchSubscription):
    @strawberry.subscription(
        description="Every status change of your refunds, narrowed by the arguments when given."
        " Each change comes once, in order, with the refund as that change left it."
    )
    async def refund_updated(
        self,
        info: Info,
        refund_id: strawberry.ID | None = None,
        transaction_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[RefundType, None]:
        ctx = info.context
        merchant_id = ctx.merchant_id  # UNAUTHENTICATED / FORBIDDEN without a merchant key
        broker = ctx.services.broker
        async with broker.subscribe(
            merchant_id,
            decode_filter(ids.REFUND, refund_id),
            decode_filter(ids.TRANSACTION, transaction_id),
        ) as subscriber:
            while True:
                pushed = await subscriber.next()  # built once per change by the broker
                # The context lives as long as the socket: its DataLoaders would serve stale
                # rows to later events. Drop them; the next resolver builds fresh ones.
                ctx.__dict__.pop("loaders", None)
                yield pushed
