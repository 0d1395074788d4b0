"""Queries: webhookEndpoints, and the node(id:) loaders of endpoints and deliveries. Each read is
a function of the repository and the merchant, which the compiled plans (api/compiled/roots.py)
call too."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.types import Info

from api.webhooks.types import WebhookDeliveryType, WebhookEndpointType
from db.repositories.webhooks import WebhookReads


async def webhook_endpoints(reads: WebhookReads, merchant_id: UUID) -> list[WebhookEndpointType]:
    return [WebhookEndpointType.from_domain(e) for e in await reads.endpoints(merchant_id)]


async def webhook_endpoint(
    reads: WebhookReads, merchant_id: UUID, endpoint_id: UUID
) -> WebhookEndpointType | None:
    for endpoint in await reads.endpoints(merchant_id):
        if endpoint.id == endpoint_id:
            return WebhookEndpointType.from_domain(endpoint)
    return None


async def webhook_delivery(
    reads: WebhookReads, merchant_id: UUID, delivery_id: UUID
) -> WebhookDeliveryType | None:
    found = await reads.delivery(merchant_id, delivery_id)
    return WebhookDeliveryType.from_domain(found) if found else None


async def load_webhook_endpoint(info: Info, endpoint_id: UUID) -> WebhookEndpointType | None:
    context = info.context
    return await webhook_endpoint(context.services.webhooks, context.merchant_id, endpoint_id)


async def load_webhook_delivery(info: Info, delivery_id: UUID) -> WebhookDeliveryType | None:
    context = info.context
    return await webhook_delivery(context.services.webhooks, context.merchant_id, delivery_id)


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="Your webhook endpoints, oldest first.")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpointType]:
        context = info.context
        return await webhook_endpoints(context.services.webhooks, context.merchant_id)
