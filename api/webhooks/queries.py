"""Queries: webhookEndpoints, and the node(id:) loaders of endpoints and deliveries."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.types import Info

from api.webhooks.types import WebhookDeliveryType, WebhookEndpointType


async def load_webhook_endpoint(info: Info, endpoint_id: UUID) -> WebhookEndpointType | None:
    for endpoint in await info.context.services.webhooks.endpoints(info.context.merchant_id):
        if endpoint.id == endpoint_id:
            return WebhookEndpointType.from_domain(endpoint)
    return None


async def load_webhook_delivery(info: Info, delivery_id: UUID) -> WebhookDeliveryType | None:
    found = await info.context.services.webhooks.delivery(info.context.merchant_id, delivery_id)
    return WebhookDeliveryType.from_domain(found) if found else None


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="Your webhook endpoints, oldest first.")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpointType]:
        endpoints = await info.context.services.webhooks.endpoints(info.context.merchant_id)
        return [WebhookEndpointType.from_domain(e) for e in endpoints]
