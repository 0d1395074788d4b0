"""A merchant's webhook endpoints: create (the secret is shown once), update, rotate the
secret, delete, and redeliver one delivery. The URL is checked where it leads (after DNS
resolution) on creation and on change; the dispatcher checks again before every attempt."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import webhooks
from domain.errors import WebhookDeliveryNotFound, WebhookEndpointNotFound
from domain.ports import UnitOfWork, WebhookEndpointChange
from domain.webhooks import (
    Resolver,
    WebhookEndpoint,
    WebhookEventType,
)


def _not_found() -> WebhookEndpointNotFound:
    return WebhookEndpointNotFound("No webhook endpoint of yours has that id.")


async def create_endpoint(
    uow: UnitOfWork,
    merchant_id: UUID,
    url: str,
    events: list[WebhookEventType],
    description: str | None,
    *,
    allow_private: bool,
    resolve: Resolver,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret (`whsec_…`), which is not shown again."""
    enabled = webhooks.enabled_events(events)
    description = webhooks.description(description)
    await webhooks.checked_target(url, allow_private=allow_private, resolve=resolve)
    secret = webhooks.new_secret()
    async with uow:
        endpoint = await uow.webhooks.add(merchant_id, url, description, enabled, secret)
        await uow.commit()
    return endpoint, secret


async def update_endpoint(
    uow: UnitOfWork,
    merchant_id: UUID,
    endpoint_id: UUID,
    change: WebhookEndpointChange,
    *,
    allow_private: bool,
    resolve: Resolver,
) -> WebhookEndpoint:
    if change.events is not None:
        webhooks.enabled_events(list(change.events))
    if change.url is not None:
        await webhooks.checked_target(change.url, allow_private=allow_private, resolve=resolve)
    async with uow:
        endpoint = await uow.webhooks.update(merchant_id, endpoint_id, change)
        if endpoint is None:
            raise _not_found()
        await uow.commit()
    return endpoint


async def rotate_secret(
    uow: UnitOfWork, merchant_id: UUID, endpoint_id: UUID, now: datetime
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the one it replaces keeps signing beside it for OLD_SECRET_GRACE."""
    secret = webhooks.new_secret()
    async with uow:
        endpoint = await uow.webhooks.rotate(
            merchant_id, endpoint_id, secret, now + webhooks.OLD_SECRET_GRACE
        )
        if endpoint is None:
            raise _not_found()
        await uow.commit()
    return endpoint, secret


async def delete_endpoint(uow: UnitOfWork, merchant_id: UUID, endpoint_id: UUID) -> WebhookEndpoint:
    async with uow:
        endpoint = await uow.webhooks.delete(merchant_id, endpoint_id)
        if endpoint is None:
            raise _not_found()
        await uow.commit()
    return endpoint


async def redeliver(uow: UnitOfWork, merchant_id: UUID, delivery_id: UUID) -> None:
    """Send the delivery again, now, with the same webhook-id (a receiver that dedupes by it
    sees a duplicate, as it should). Nothing else of its refund is resent."""
    async with uow:
        if not await uow.webhooks.redeliver(merchant_id, delivery_id):
            raise WebhookDeliveryNotFound("No webhook delivery of yours has that id.")
        await uow.commit()
