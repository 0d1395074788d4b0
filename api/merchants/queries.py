"""Queries: viewer (the calling merchant) and node(id:)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api import ids
from api.batches.types import load_refund_batch
from api.keys.types import load_api_key
from api.merchants.types import MerchantType
from api.node import Node
from api.refunds.queries import load_refund
from api.transactions.types import load_transaction
from api.webhooks.queries import load_webhook_delivery, load_webhook_endpoint


async def load_viewer(info: Info) -> MerchantType:
    merchant = await info.context.services.reads.merchant(info.context.merchant_id)
    assert merchant is not None  # the key was just resolved to this merchant
    return MerchantType.from_domain(merchant)


@strawberry.type
class MerchantQueries:
    @strawberry.field(description="The merchant whose API key made this request.")
    async def viewer(self, info: Info) -> MerchantType:
        return await load_viewer(info)

    @strawberry.field(description="Any of your objects by its global ID, or null.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        merchant_id = info.context.merchant_id
        prefix = ids.prefix_of(id)
        if prefix == ids.TRANSACTION and (key := ids.decode_uuid(prefix, id)):
            return await load_transaction(info, key)
        if prefix == ids.REFUND and (key := ids.decode_uuid(prefix, id)):
            return await load_refund(info, key)
        if prefix == ids.API_KEY and (key := ids.decode_uuid(prefix, id)):
            return await load_api_key(info, key)
        if prefix == ids.WEBHOOK_ENDPOINT and (key := ids.decode_uuid(prefix, id)):
            return await load_webhook_endpoint(info, key)
        if prefix == ids.WEBHOOK_DELIVERY and (key := ids.decode_uuid(prefix, id)):
            return await load_webhook_delivery(info, key)
        if prefix == ids.REFUND_BATCH and (key := ids.decode_uuid(prefix, id)):
            return await load_refund_batch(info, key)
        if prefix == ids.MERCHANT and ids.decode_uuid(prefix, id) == merchant_id:
            return await load_viewer(info)
        return None
