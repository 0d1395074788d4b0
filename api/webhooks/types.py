"""GraphQL types of webhook endpoints and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Self, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api import ids
from api.node import Node
from api.pagination import (
    Connection,
    build_connection,
    newest_first_cursor,
    page_size,
    parse_newest_first_cursor,
)
from api.webhooks.payload import webhook_body
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
        return cls(
            id=strawberry.ID(ids.encode(ids.WEBHOOK_DELIVERY, d.id)),
            event_id=d.event_id,
            event_type=d.event_type,
            status=d.status,
            attempts=d.attempts,
            last_response_status=d.last_response_status,
            last_error=d.last_error,
            next_attempt_at=d.next_attempt_at if undelivered else None,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
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
        return cls(
            id=strawberry.ID(ids.encode(ids.WEBHOOK_ENDPOINT, e.id)),
            url=e.url,
            description=e.description,
            enabled_events=list(e.enabled_events),
            status=e.status,
            created_at=e.created_at,
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
        size = page_size(first)
        webhooks = info.context.services.webhooks
        merchant_id, endpoint_id = self.domain.merchant_id, self.domain.id
        found = await webhooks.deliveries(
            merchant_id, endpoint_id, size + 1, parse_newest_first_cursor(after), status
        )

        async def count() -> int:
            total: int = await webhooks.delivery_count(merchant_id, endpoint_id, status)
            return total

        return build_connection(
            found,
            size,
            WebhookDeliveryType.from_domain,
            lambda d: newest_first_cursor(d.created_at, d.id),
            count,
        )
