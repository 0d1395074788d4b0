"""A merchant's webhook endpoints: create (the secret is shown once), update, rotate the
secret, delete, and redeliver. Like every mutation, they need a FULL key (api/keys/scope.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import strawberry
from strawberry.types import Info

from api import ids
from api.errors import UserError
from api.webhooks.queries import load_webhook_delivery
from api.webhooks.types import WebhookDeliveryType, WebhookEndpointType
from domain.errors import DomainError, WebhookDeliveryNotFound, WebhookEndpointNotFound
from domain.ports import WebhookEndpointChange
from domain.use_cases import webhooks
from domain.webhooks import WebhookEndpointStatus, WebhookEventType
from processor.webhooks.resolve import resolve


@strawberry.input
class CreateWebhookEndpointInput:
    url: str
    enabled_events: list[WebhookEventType]
    description: str | None = None


@strawberry.input
class UpdateWebhookEndpointInput:
    id: strawberry.ID
    url: str | None = None
    enabled_events: list[WebhookEventType] | None = None
    status: WebhookEndpointStatus | None = None


@strawberry.input
class RotateWebhookSecretInput:
    id: strawberry.ID


@strawberry.input
class DeleteWebhookEndpointInput:
    id: strawberry.ID


@strawberry.input
class RedeliverWebhookInput:
    delivery_id: strawberry.ID


@strawberry.type
class CreateWebhookEndpointPayload:
    endpoint: WebhookEndpointType | None = None
    secret: str | None = strawberry.field(
        default=None, description="whsec_…, shown once: verify our signatures with it."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookEndpointPayload:
    endpoint: WebhookEndpointType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookDeliveryPayload:
    delivery: WebhookDeliveryType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _endpoint_id(public_id: str) -> UUID:
    not_found = WebhookEndpointNotFound("No webhook endpoint of yours has that id.")
    return ids.decode_or_raise(ids.WEBHOOK_ENDPOINT, public_id, not_found)


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(description="A new endpoint; its signing secret is in the payload, once.")
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> CreateWebhookEndpointPayload:
        services = info.context.services
        try:
            endpoint, secret = await webhooks.create_endpoint(
                services.unit_of_work(),
                info.context.merchant_id,
                input.url,
                input.enabled_events,
                input.description,
                allow_private=services.settings.webhooks.allow_private,
                resolve=resolve,
            )
        except DomainError as error:
            return CreateWebhookEndpointPayload(user_errors=[UserError.from_domain(error)])
        return CreateWebhookEndpointPayload(
            endpoint=WebhookEndpointType.from_domain(endpoint), secret=secret
        )

    @strawberry.mutation(description="Change an endpoint's URL, events or status.")
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        services = info.context.services
        change = WebhookEndpointChange(
            url=input.url,
            events=tuple(input.enabled_events) if input.enabled_events is not None else None,
            status=input.status,
        )
        try:
            endpoint = await webhooks.update_endpoint(
                services.unit_of_work(),
                info.context.merchant_id,
                _endpoint_id(input.id),
                change,
                allow_private=services.settings.webhooks.allow_private,
                resolve=resolve,
            )
        except DomainError as error:
            return WebhookEndpointPayload(user_errors=[UserError.from_domain(error)])
        return WebhookEndpointPayload(endpoint=WebhookEndpointType.from_domain(endpoint))

    @strawberry.mutation(
        description="A new signing secret, shown once; the old one keeps signing beside it "
        "for 24 hours."
    )
    async def rotate_webhook_secret(
        self, info: Info, input: RotateWebhookSecretInput
    ) -> CreateWebhookEndpointPayload:
        try:
            endpoint, secret = await webhooks.rotate_secret(
                info.context.services.unit_of_work(),
                info.context.merchant_id,
                _endpoint_id(input.id),
                datetime.now(UTC),
            )
        except DomainError as error:
            return CreateWebhookEndpointPayload(user_errors=[UserError.from_domain(error)])
        return CreateWebhookEndpointPayload(
            endpoint=WebhookEndpointType.from_domain(endpoint), secret=secret
        )

    @strawberry.mutation(description="Remove an endpoint and its deliveries.")
    async def delete_webhook_endpoint(
        self, info: Info, input: DeleteWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        try:
            endpoint = await webhooks.delete_endpoint(
                info.context.services.unit_of_work(),
                info.context.merchant_id,
                _endpoint_id(input.id),
            )
        except DomainError as error:
            return WebhookEndpointPayload(user_errors=[UserError.from_domain(error)])
        return WebhookEndpointPayload(endpoint=WebhookEndpointType.from_domain(endpoint))

    @strawberry.mutation(description="Send a delivery again now, with the same webhook-id.")
    async def redeliver_webhook(
        self, info: Info, input: RedeliverWebhookInput
    ) -> WebhookDeliveryPayload:
        try:
            delivery_id = ids.decode_or_raise(
                ids.WEBHOOK_DELIVERY,
                input.delivery_id,
                WebhookDeliveryNotFound("No webhook delivery of yours has that id."),
            )
            await webhooks.redeliver(
                info.context.services.unit_of_work(), info.context.merchant_id, delivery_id
            )
        except DomainError as error:
            return WebhookDeliveryPayload(user_errors=[UserError.from_domain(error)])
        return WebhookDeliveryPayload(delivery=await load_webhook_delivery(info, delivery_id))
