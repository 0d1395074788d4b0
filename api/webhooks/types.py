"""GraphQL types of webhook endpoints and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Self, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api import ids
from api.node import Node
from api.pagination import Connection, newest_first_page
from api.webhooks.payload import webhook_body
from db.repositories.webhooks import WebhookReads
from domain.values import made_from
from domain.webhooks import (
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointStatus,
    WebhookEventType,
)

strawberry.enum(WebhookEventType, name="WebhookEventType")
strawberry.enum(WebhookEndpointStatus, name="WebhookEndpointStatus")
strawberry.enum(WebhookDeliveryStatus, name="WebhookDeliveryStatus")


@strawberry.type(
    name="WebhookDelivery",
    description="One event for one endpoint: sent until a 2xx, with the same webhook-id.",
)
class WebhookDeliveryType(Node):
    event_id: str = strawberry.field(description="The webhook-id header of every attempt.")
    event_type: WebhookEventType
    status: WebhookDeliveryStatus
    attempts: int
    last_response_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    payload: JSON = strawberry.field(description="The body sent (signed as it is sent).")

    @classmethod
    def from_domain(cls, d: WebhookDelivery) -> Self:
        undelivered = d.status in (WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.RETRYING)
        return made_from(
            cls,
            d,
            id=strawberry.ID(ids.encode(ids.WEBHOOK_DELIVERY, d.id)),
            next_attempt_at=d.next_attempt_at if undelivered else None,
            payload=cast(JSON, webhook_body(d)),
        )


@strawberry.type(name="WebhookEndpoint", description="Where your back end hears of refunds.")
class WebhookEndpointType(Node):
    url: str
    description: str | None
    enabled_events: list[WebhookEventType]
    status: WebhookEndpointStatus
    created_at: datetime
    domain: strawberry.Private[WebhookEndpoint]

    @classmethod
    def from_domain(cls, e: WebhookEndpoint) -> Self:
        return made_from(
            cls,
            e,
            id=strawberry.ID(ids.encode(ids.WEBHOOK_ENDPOINT, e.id)),
            enabled_events=list(e.enabled_events),
            domain=e,
        )

    @strawberry.field(description="This endpoint's deliveries, newest first.")
    async def deliveries(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: WebhookDeliveryStatus | None = None,
    ) -> Connection[WebhookDeliveryType]:
        return await deliveries_page(
            info.context.services.webhooks, self.domain, first, after, status
        )


async def deliveries_page(
    webhooks: WebhookReads,
    endpoint: WebhookEndpoint,
    first: int | None,
    after: str | None,
    status: WebhookDeliveryStatus | None,
) -> Connection[WebhookDeliveryType]:
    """WebhookEndpoint.deliveries, for its resolver and the compiled plans (api/compiled)."""
    merchant_id, endpoint_id = endpoint.merchant_id, endpoint.id

    async def count() -> int:
        total: int = await webhooks.delivery_count(merchant_id, endpoint_id, status)
        return total

    return await newest_first_page(
        first,
        after,
        lambda limit, key: webhooks.deliveries(merchant_id, endpoint_id, limit, key, status),
        WebhookDeliveryType.from_domain,
        count,
    )
