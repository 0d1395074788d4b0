"""Merchants' webhook endpoints and their deliveries: the unit of work's repository (create,
update, rotate, delete, redeliver) and the reads the API lists them with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Select, delete, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import rows
from db.connected import ConnectedReads
from db.distribution import ACROSS_MERCHANTS
from db.refund_changes import EVENT_COLUMNS, as_of, event_beside_refund
from db.repositories.refunds import REFUND_COLUMNS
from db.secret_box import SecretBox, UnreadableSecret
from db.tables import refund_events, refunds, transactions, webhook_deliveries, webhook_endpoints
from domain.ports import WebhookEndpointChange
from domain.webhooks import (
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointStatus,
    WebhookEventType,
)

w = webhook_endpoints.c
d = webhook_deliveries.c
ENDPOINT_COLUMNS = rows.columns(webhook_endpoints, WebhookEndpoint)


def endpoint(row: Any) -> WebhookEndpoint:
    return rows.record(WebhookEndpoint, row._mapping)


def _sources() -> tuple[tuple[Any, ...], tuple[tuple[Any, Any], ...]]:
    """A delivery's columns with what its body is made of (the event, its refund and the
    order), and each source table with the condition that joins it to the delivery."""
    e, r, t = refund_events.c, refunds.c, transactions.c
    columns = (
        d.id.label("delivery_id"),
        d.endpoint_id,
        d.event_id.label("webhook_id"),
        d.event_type,
        d.status.label("delivery_status"),
        d.attempts.label("delivery_attempts"),
        d.last_response_status,
        d.last_error,
        d.next_attempt_at.label("delivery_next_attempt_at"),
        d.created_at.label("delivery_created_at"),
        d.delivered_at,
        *EVENT_COLUMNS,
        t.order_id,
        *REFUND_COLUMNS,
    )
    joins = (
        (refund_events, (e.merchant_id == d.merchant_id) & (e.id == d.refund_event_id)),
        (refunds, (r.merchant_id == d.merchant_id) & (r.id == d.refund_id)),
        (transactions, (t.merchant_id == r.merchant_id) & (t.id == r.transaction_id)),
    )
    return columns, joins


# What delivery() reads, and how its sources join a webhook_deliveries row: a SELECT joins them
# (deliveries_with_sources), the dispatcher's claim names them in its UPDATE's FROM and WHERE
# and RETURNs these columns (db/webhook_claims.py).
DELIVERY_COLUMNS, DELIVERY_SOURCES = _sources()


def deliveries_with_sources() -> Select[Any]:
    """Deliveries with what their body is made of: the event, its refund and the order."""
    stmt = select(*DELIVERY_COLUMNS).select_from(webhook_deliveries)
    for table, on in DELIVERY_SOURCES:
        stmt = stmt.join(table, on)
    return stmt


def delivery(row: Any) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.delivery_id,
        merchant_id=row.merchant_id,
        endpoint_id=row.endpoint_id,
        event_id=row.webhook_id,
        event_type=WebhookEventType(row.event_type),
        status=WebhookDeliveryStatus(row.delivery_status),
        attempts=row.delivery_attempts,
        last_response_status=row.last_response_status,
        last_error=row.last_error,
        next_attempt_at=row.delivery_next_attempt_at,
        created_at=row.delivery_created_at,
        delivered_at=row.delivered_at,
        refund=as_of(rows.refund(row), event_beside_refund(row)),
        order_id=row.order_id,
        event_at=row.event_at,
    )


class SqlWebhooks:
    def __init__(self, conn: AsyncConnection, secrets: SecretBox | None) -> None:
        self.conn = conn
        self._secrets = secrets

    def _sealed(self, secret: str, merchant_id: UUID, endpoint_id: UUID) -> str:
        if self._secrets is None:
            raise RuntimeError("this unit of work was made without the webhook secret keys")
        return self._secrets.seal(secret, merchant_id, endpoint_id)

    async def add(
        self,
        merchant_id: UUID,
        url: str,
        description: str | None,
        events: tuple[WebhookEventType, ...],
        secret: str,
    ) -> WebhookEndpoint:
        endpoint_id = uuid4()  # the sealed secret is bound to it
        stmt = (
            insert(webhook_endpoints)
            .values(
                merchant_id=merchant_id,
                id=endpoint_id,
                url=url,
                description=description,
                enabled_events=[e.value for e in events],
                status=WebhookEndpointStatus.ENABLED.value,
                secret=self._sealed(secret, merchant_id, endpoint_id),
            )
            .returning(*ENDPOINT_COLUMNS)
        )
        return endpoint((await self.conn.execute(stmt)).one())

    async def get(self, merchant_id: UUID, endpoint_id: UUID) -> WebhookEndpoint | None:
        stmt = select(*ENDPOINT_COLUMNS).where(w.merchant_id == merchant_id, w.id == endpoint_id)
        row = (await self.conn.execute(stmt)).one_or_none()
        return endpoint(row) if row else None

    async def update(
        self, merchant_id: UUID, endpoint_id: UUID, values: WebhookEndpointChange
    ) -> WebhookEndpoint | None:
        changes: dict[str, Any] = {}
        if values.url is not None:
            changes["url"] = values.url
        if values.events is not None:
            changes["enabled_events"] = [e.value for e in dict.fromkeys(values.events)]
        if values.status is not None:
            changes["status"] = values.status.value
            if values.status is WebhookEndpointStatus.ENABLED:
                changes["failing_since"] = None  # enabled again: the failing clock restarts
        if not changes:
            return await self.get(merchant_id, endpoint_id)
        return await self._one(
            update(webhook_endpoints)
            .where(w.merchant_id == merchant_id, w.id == endpoint_id)
            .values(changes)
        )

    async def rotate(
        self, merchant_id: UUID, endpoint_id: UUID, secret: str, old_expires_at: datetime
    ) -> WebhookEndpoint | None:
        return await self._one(
            update(webhook_endpoints)
            .where(w.merchant_id == merchant_id, w.id == endpoint_id)
            .values(
                old_secret=w.secret,  # sealed for the same row: it still opens
                secret=self._sealed(secret, merchant_id, endpoint_id),
                old_secret_expires_at=old_expires_at,
            )
        )

    async def delete(self, merchant_id: UUID, endpoint_id: UUID) -> WebhookEndpoint | None:
        return await self._one(
            delete(webhook_endpoints).where(w.merchant_id == merchant_id, w.id == endpoint_id)
        )

    async def _one(self, stmt: Any) -> WebhookEndpoint | None:
        row = (await self.conn.execute(stmt.returning(*ENDPOINT_COLUMNS))).one_or_none()
        return endpoint(row) if row else None

    async def redeliver(self, merchant_id: UUID, delivery_id: UUID) -> bool:
        stmt = (
            update(webhook_deliveries)
            .where(d.merchant_id == merchant_id, d.id == delivery_id)
            .values(
                status=WebhookDeliveryStatus.PENDING.value,
                attempts=0,
                next_attempt_at=d.created_at,  # due at once, and in its place among its refund's
                claimed_by=None,
                claim_expires_at=None,
            )
        )
        return (await self.conn.execute(stmt)).rowcount > 0


class WebhookReads(ConnectedReads):
    async def endpoints(self, merchant_id: UUID) -> Sequence[WebhookEndpoint]:
        stmt = (
            select(*ENDPOINT_COLUMNS)
            .where(w.merchant_id == merchant_id)
            .order_by(w.created_at, w.id)
        )
        async with self._connected() as conn:
            return [endpoint(r) for r in (await conn.execute(stmt)).all()]

    async def delivery(self, merchant_id: UUID, delivery_id: UUID) -> WebhookDelivery | None:
        stmt = deliveries_with_sources().where(d.merchant_id == merchant_id, d.id == delivery_id)
        async with self._connected() as conn:
            row = (await conn.execute(stmt)).one_or_none()
        return delivery(row) if row else None

    async def deliveries(
        self,
        merchant_id: UUID,
        endpoint_id: UUID,
        limit: int,
        after: tuple[datetime, UUID] | None,
        status: WebhookDeliveryStatus | None,
    ) -> Sequence[WebhookDelivery]:
        """Newest first, keyset-paginated by (created_at, id)."""
        stmt = deliveries_with_sources().where(
            d.merchant_id == merchant_id, d.endpoint_id == endpoint_id
        )
        if status is not None:
            stmt = stmt.where(d.status == status.value)
        if after is not None:
            stmt = stmt.where(tuple_(d.created_at, d.id) < tuple_(*after))
        stmt = stmt.order_by(d.created_at.desc(), d.id.desc()).limit(limit)
        async with self._connected() as conn:
            return [delivery(r) for r in (await conn.execute(stmt)).all()]

    async def delivery_count(
        self, merchant_id: UUID, endpoint_id: UUID, status: WebhookDeliveryStatus | None
    ) -> int:
        stmt = select(func.count()).where(
            d.merchant_id == merchant_id, d.endpoint_id == endpoint_id
        )
        if status is not None:
            stmt = stmt.where(d.status == status.value)
        async with self._connected() as conn:
            return int((await conn.execute(stmt)).scalar_one())


async def reseal_secrets(
    engine: AsyncEngine, box: SecretBox, merchants: Sequence[UUID] | None = None
) -> int:
    """Every endpoint's secrets (of `merchants`, or of all) sealed again under the box's first
    key, those stored in plain text before encryption included, merchant by merchant, each in
    a transaction of its own; returns how many endpoints changed. After a new key is put first,
    this lets the old one be dropped (docs/webhook-secrets.md)."""
    if merchants is None:
        async with engine.connect() as conn:
            every = select(w.merchant_id).prefix_with(ACROSS_MERCHANTS).distinct()
            merchants = list((await conn.execute(every)).scalars())
    current = box.sealed_prefix()
    changed = 0
    for merchant_id in merchants:
        async with engine.begin() as conn:
            found = await conn.execute(
                select(w.id, w.secret, w.old_secret)
                .where(w.merchant_id == merchant_id)
                .with_for_update()
            )
            for row in found.all():
                stored = {"secret": row.secret, "old_secret": row.old_secret}
                try:
                    values = {
                        column: box.seal(box.open(value, merchant_id, row.id), merchant_id, row.id)
                        for column, value in stored.items()
                        if value is not None and not value.startswith(current)
                    }
                except UnreadableSecret as unreadable:
                    raise UnreadableSecret(f"endpoint {row.id}: {unreadable}") from None
                if values:
                    await conn.execute(
                        update(webhook_endpoints)
                        .where(w.merchant_id == merchant_id, w.id == row.id)
                        .values(values)
                    )
                    changed += 1
    return changed
