"""The webhook dispatcher's queue, in the outbox table itself, claimed as refunds are
(db/claims.py): FOR UPDATE SKIP LOCKED with a lease, merchant by merchant, so that any number
of processes share the work and a dead one's claims come back when the lease runs out.

A delivery is claimable when it is due, its endpoint is enabled, and no earlier event of the
same refund is still owed to the same endpoint: a refund's events arrive in order. A claim moves
`next_attempt_at` to the lease's end, so a claimed delivery is simply not due meanwhile."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, exists, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.claims import share_out
from db.distribution import ACROSS_MERCHANTS
from db.repositories.webhooks import deliveries_with_sources, delivery
from db.tables import webhook_deliveries, webhook_endpoints
from domain.webhooks import (
    UNDELIVERED,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpointStatus,
)

d = webhook_deliveries.c
w = webhook_endpoints.c
OWED = [s.value for s in UNDELIVERED]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A claimed delivery with where it goes and the secrets that sign it."""

    delivery: WebhookDelivery
    url: str
    secrets: tuple[str, ...]  # the current secret, and the old one during its grace period
    endpoint_failing: bool  # when claimed: a success has the endpoint's failing clock to stop


def _due(merchant_id: UUID) -> Any:
    earlier = webhook_deliveries.alias("earlier")
    e = earlier.c
    # Each subquery names the merchant itself, so that it is routed on its own (Citus).
    owed_before = exists().where(
        e.merchant_id == merchant_id,
        e.endpoint_id == d.endpoint_id,
        e.refund_id == d.refund_id,
        e.refund_event_id < d.refund_event_id,
        e.status.in_(OWED),
    )
    enabled = exists().where(
        w.merchant_id == merchant_id,
        w.id == d.endpoint_id,
        w.status == WebhookEndpointStatus.ENABLED.value,
    )
    return and_(
        d.merchant_id == merchant_id,
        d.status.in_(OWED),
        d.next_attempt_at <= func.now(),
        enabled,
        ~owed_before,
    )


class WebhookClaims:
    def __init__(self, engine: AsyncEngine, worker_id: str) -> None:
        self.engine = engine
        self.worker_id = worker_id

    async def claim(self, limit: int, lease_seconds: float) -> Sequence[Outgoing]:
        """Up to `limit` due deliveries, shared out among the merchants that have some."""
        async with self.engine.connect() as conn:
            hungry = await _merchants_with_deliveries_due(conn, limit)
        return await share_out(limit, hungry, partial(self._claim_of, lease_seconds=lease_seconds))

    async def _claim_of(
        self, merchant_id: UUID, limit: int, lease_seconds: float
    ) -> list[Outgoing]:
        due = (
            select(d.id)
            .where(_due(merchant_id))
            .order_by(d.next_attempt_at, d.refund_event_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
            .prefix_with("MATERIALIZED")
        )
        until = func.now() + timedelta(seconds=lease_seconds)
        stmt = (
            update(webhook_deliveries)
            .where(d.merchant_id == merchant_id, d.id == due.c.id)
            .values(claimed_by=self.worker_id, claim_expires_at=until, next_attempt_at=until)
            .returning(d.id)
        )
        async with self.engine.begin() as conn:
            ids = list((await conn.execute(stmt)).scalars())
            if not ids:
                return []
            return await _outgoing(conn, merchant_id, ids)

    async def oldest_undelivered_seconds(self) -> float:
        """Age of the oldest event still owed to an endpoint (across merchants)."""
        async with self.engine.connect() as conn:
            return await _oldest_undelivered(conn)

    async def succeeded(self, sent: Outgoing, status_code: int) -> bool:
        """Delivered: the endpoint's failing clock stops."""
        values = {
            "status": WebhookDeliveryStatus.SUCCEEDED.value,
            "attempts": d.attempts + 1,
            "last_response_status": status_code,
            "last_error": None,
            "delivered_at": func.now(),
            "next_attempt_at": None,
        }
        async with self.engine.begin() as conn:
            if not await self._mine(conn, sent, values):
                return False
            if not sent.endpoint_failing:
                return True
            # Only when it was failing: successes must not queue on the endpoint's row lock.
            await conn.execute(
                update(webhook_endpoints)
                .where(*_endpoint_of(sent), w.failing_since.is_not(None))
                .values(failing_since=None)
            )
        return True

    async def failed(
        self,
        sent: Outgoing,
        status_code: int | None,
        error: str | None,
        retry_in_seconds: float | None,
        disable_after: timedelta,
    ) -> bool:
        """An attempt that got no 2xx: due again after `retry_in_seconds`, or FAILED when
        None. An endpoint that has failed every attempt for `disable_after` is DISABLED."""
        retry = retry_in_seconds is not None
        values = {
            "status": (
                WebhookDeliveryStatus.RETRYING if retry else WebhookDeliveryStatus.FAILED
            ).value,
            "attempts": d.attempts + 1,
            "last_response_status": status_code,
            "last_error": error,
            "next_attempt_at": func.now() + timedelta(seconds=retry_in_seconds or 0)
            if retry
            else None,
        }
        failing_since = func.coalesce(w.failing_since, func.now())
        async with self.engine.begin() as conn:
            if not await self._mine(conn, sent, values):
                return False
            await conn.execute(
                update(webhook_endpoints)
                .where(*_endpoint_of(sent))
                .values(
                    failing_since=failing_since,
                    status=case(
                        (
                            failing_since <= func.now() - disable_after,
                            WebhookEndpointStatus.DISABLED.value,
                        ),
                        else_=w.status,
                    ),
                )
            )
        return True

    async def _mine(self, conn: AsyncConnection, sent: Outgoing, values: dict[str, Any]) -> bool:
        """Record the attempt on a claim still held (a claim lost to an expired lease is
        recorded by its new holder). Without waiting for the disk: a record lost in a crash
        only means that the delivery is sent again, under the same webhook-id, which the
        receiver already has to expect (at least once)."""
        await conn.execute(text("SET LOCAL synchronous_commit TO off"))
        stmt = (
            update(webhook_deliveries)
            .where(
                d.merchant_id == sent.delivery.merchant_id,
                d.id == sent.delivery.id,
                d.claimed_by == self.worker_id,
            )
            .values(claimed_by=None, claim_expires_at=None, **values)
        )
        return (await conn.execute(stmt)).rowcount > 0


def _endpoint_of(sent: Outgoing) -> tuple[Any, Any]:
    return w.merchant_id == sent.delivery.merchant_id, w.id == sent.delivery.endpoint_id


async def _outgoing(conn: AsyncConnection, merchant_id: UUID, ids: list[UUID]) -> list[Outgoing]:
    stmt = (
        deliveries_with_sources()
        .add_columns(
            w.url,
            w.secret,
            w.old_secret,
            w.old_secret_expires_at,
            w.failing_since,
            func.now().label("db_now"),
        )
        .join(webhook_endpoints, (w.merchant_id == d.merchant_id) & (w.id == d.endpoint_id))
        .where(d.merchant_id == merchant_id, d.id.in_(ids))
        .order_by(d.refund_event_id)
    )
    found = (await conn.execute(stmt)).all()
    return [
        Outgoing(delivery(r), r.url, _signing_secrets(r, r.db_now), r.failing_since is not None)
        for r in found
    ]


def _signing_secrets(row: Any, now: datetime) -> tuple[str, ...]:
    if row.old_secret is not None and row.old_secret_expires_at > now:
        return (row.secret, row.old_secret)
    return (row.secret,)


async def _merchants_with_deliveries_due(conn: AsyncConnection, limit: int) -> list[UUID]:
    """The first `limit` merchants by their oldest due delivery: the one read across merchants."""
    stmt = (
        select(d.merchant_id)
        .prefix_with(ACROSS_MERCHANTS)
        .where(d.status.in_(OWED), d.next_attempt_at <= func.now())
        .group_by(d.merchant_id)
        .order_by(func.min(d.next_attempt_at))
        .limit(limit)
    )
    return list((await conn.execute(stmt)).scalars())


async def _oldest_undelivered(conn: AsyncConnection) -> float:
    oldest = (
        select(func.coalesce(func.extract("epoch", func.now() - func.min(d.created_at)), 0))
        .prefix_with(ACROSS_MERCHANTS)
        .where(d.status.in_(OWED))
    )
    return float((await conn.execute(oldest)).scalar_one())
