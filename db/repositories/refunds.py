"""Refunds and their append-only status events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

import orjson
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db import rows
from db.notifications import REFUND_EVENTS_CHANNEL
from db.tables import refund_events, refunds
from domain.destinations import Destination
from domain.model import RELEASED_STATUSES, Refund, RefundSpeed, RefundStatus
from domain.refund_states import RefundStatusChanged

# The columns the domain's Refund is made of (not the processing bookkeeping).
REFUND_COLUMNS = tuple(
    c
    for c in refunds.c
    if c.name
    not in {"destination_details", "attempts", "next_attempt_at", "claimed_by", "claim_expires_at"}
)
RELEASED = [s.value for s in RELEASED_STATUSES]


class SqlRefunds:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, refund: Refund, destination_details: dict[str, str] | None) -> None:
        await self.conn.execute(
            insert(refunds).values(
                id=refund.id,
                merchant_id=refund.merchant_id,
                transaction_id=refund.transaction_id,
                amount=refund.amount,
                currency=refund.currency,
                status=refund.status.value,
                reason=refund.reason.value,
                notes=refund.notes,
                metadata=refund.metadata,
                speed_requested=refund.speed_requested.value,
                destination_kind=refund.destination_kind.value,
                destination_display=refund.destination_display,
                destination_details=destination_details,
                estimated_settlement_at=refund.estimated_settlement_at,
                created_at=refund.created_at,
                updated_at=refund.updated_at,
                next_attempt_at=refund.created_at,
            )
        )

    async def get(self, merchant_id: UUID, refund_id: UUID) -> Refund | None:
        return await self._one(merchant_id, refund_id, for_update=False)

    async def lock(self, merchant_id: UUID, refund_id: UUID) -> Refund | None:
        return await self._one(merchant_id, refund_id, for_update=True)

    async def _one(self, merchant_id: UUID, refund_id: UUID, *, for_update: bool) -> Refund | None:
        stmt = select(*REFUND_COLUMNS).where(
            refunds.c.merchant_id == merchant_id, refunds.c.id == refund_id
        )
        if for_update:
            stmt = stmt.with_for_update(key_share=True)
        row = (await self.conn.execute(stmt)).one_or_none()
        return rows.refund(row) if row else None

    async def held_amount(self, transaction_id: UUID) -> int:
        stmt = select(func.coalesce(func.sum(refunds.c.amount), 0)).where(
            refunds.c.transaction_id == transaction_id, refunds.c.status.not_in(RELEASED)
        )
        return int((await self.conn.execute(stmt)).scalar_one())

    async def on_hold_oldest_first(self, merchant_id: UUID) -> Sequence[Refund]:
        stmt = (
            select(*REFUND_COLUMNS)
            .where(
                refunds.c.merchant_id == merchant_id, refunds.c.status == RefundStatus.ON_HOLD.value
            )
            .order_by(refunds.c.created_at, refunds.c.id)
            .with_for_update(key_share=True)
        )
        return [rows.refund(r) for r in (await self.conn.execute(stmt)).all()]

    async def set_status(self, refund: Refund, change: RefundStatusChanged, at: datetime) -> Refund:
        values: dict[str, object] = {"status": change.status.value, "updated_at": at}
        if change.failure_code is not None:
            values["failure_code"] = change.failure_code
            values["failure_message"] = change.message
        if change.status is RefundStatus.PENDING:
            values["next_attempt_at"] = at  # due for the processor now
        await self.conn.execute(update(refunds).where(refunds.c.id == refund.id).values(values))
        return replace(
            refund,
            status=change.status,
            updated_at=at,
            failure_code=change.failure_code or refund.failure_code,
            failure_message=change.message if change.failure_code else refund.failure_message,
        )

    async def set_destination(self, refund: Refund, destination: Destination) -> Refund:
        await self.conn.execute(
            update(refunds)
            .where(refunds.c.id == refund.id)
            .values(
                destination_kind=destination.kind.value,
                destination_display=destination.display,
                destination_details=destination.details,
            )
        )
        return replace(
            refund, destination_kind=destination.kind, destination_display=destination.display
        )

    async def record_settlement(
        self,
        refund: Refund,
        bank_reference: str | None,
        speed_processed: RefundSpeed | None,
        at: datetime,
    ) -> Refund:
        speed = speed_processed.value if speed_processed else None
        await self.conn.execute(
            update(refunds)
            .where(refunds.c.id == refund.id)
            .values(bank_reference=bank_reference, speed_processed=speed, processed_at=at)
        )
        return replace(
            refund,
            bank_reference=bank_reference,
            speed_processed=speed_processed,
            processed_at=at,
        )


class SqlRefundEvents:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def append(self, refund: Refund, change: RefundStatusChanged, at: datetime) -> None:
        stmt = (
            insert(refund_events)
            .values(
                merchant_id=refund.merchant_id,
                refund_id=refund.id,
                status=change.status.value,
                at=at,
                message=change.message,
                failure_code=change.failure_code,
            )
            .returning(refund_events.c.id)
        )
        event_id = (await self.conn.execute(stmt)).scalar_one()
        # Delivered by PostgreSQL at commit, and only then: subscribers never see a change
        # that was rolled back. Ids only; listeners read the state from the tables.
        payload = orjson.dumps(
            {
                "m": str(refund.merchant_id),
                "r": str(refund.id),
                "t": str(refund.transaction_id),
                "e": event_id,
            }
        ).decode()
        await self.conn.execute(select(func.pg_notify(REFUND_EVENTS_CHANNEL, payload)))
