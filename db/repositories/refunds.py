"""Refunds and their append-only status events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db import rows, statements
from db.notifications import REFUND_EVENTS_CHANNEL
from db.tables import refunds
from domain import webhooks
from domain.destinations import Destination
from domain.model import Merchant, Refund, RefundSpeed, RefundStatus
from domain.ports import BalanceRange
from domain.refund_states import RefundStatusChanged

# The columns the domain's Refund is made of (not the processing bookkeeping).
REFUND_COLUMNS = rows.columns(refunds, Refund)


def _jsonb(value: object) -> str:
    """A jsonb parameter as the engine's codec takes it: JSON text. None is JSON null, as
    SQLAlchemy's JSONB stored it (none_as_null is off)."""
    return orjson.dumps(value).decode()


# The announcement of a refund event, delivered by PostgreSQL at commit, and only then:
# subscribers never see a change that was rolled back. Ids only; listeners read the state from
# the tables. CREATE_REFUND appends the event id in SQL to all but the last characters.
_EVENT_ID_LAST = "0}"


def _notice(refund: Refund, event_id: int = 0) -> str:
    notice = {
        "m": str(refund.merchant_id),
        "r": str(refund.id),
        "t": str(refund.transaction_id),
        "e": event_id,
    }
    return orjson.dumps(notice).decode()


def _this(refund: Refund) -> tuple[Any, Any]:
    return refunds.c.merchant_id == refund.merchant_id, refunds.c.id == refund.id


class SqlRefunds:
    def __init__(self, conn: AsyncConnection, raw: Any) -> None:
        self.conn = conn
        self.raw = raw  # the asyncpg connection under `conn`, in its transaction

    async def create(
        self,
        refund: Refund,
        change: RefundStatusChanged,
        *,
        debit: int,
        if_balance: BalanceRange,
        idempotency_key: str | None,
    ) -> bool:
        notice = _notice(refund)
        created = await self.raw.fetchrow(
            statements.CREATE_REFUND,
            refund.merchant_id,
            refund.id,
            refund.transaction_id,
            refund.amount,
            refund.currency,
            refund.status.value,
            refund.reason.value,
            refund.notes,
            _jsonb(refund.metadata),
            refund.speed_requested.value,
            refund.destination_kind.value,
            refund.destination_display,
            _jsonb(None),  # destination_details: the original source needs none
            refund.estimated_settlement_at,
            refund.created_at,
            refund.updated_at,
            refund.initiated_by_key_id,
            change.message,
            webhooks.new_event_id(),
            REFUND_EVENTS_CHANNEL,
            notice[: -len(_EVENT_ID_LAST)],
            webhooks.event_type(change.previous, change.status).value,
            debit,
            if_balance.at_least,
            if_balance.at_most,
            idempotency_key,
        )
        return created is not None

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

    async def held_amount_and_merchant(
        self, merchant_id: UUID, transaction_id: UUID
    ) -> tuple[int, Merchant | None]:
        record = await self.raw.fetchrow(
            statements.HELD_AMOUNT_AND_MERCHANT, merchant_id, transaction_id
        )
        if record is None:
            return 0, None
        return int(record["held"]), rows.merchant_record(record)

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
        await self.conn.execute(update(refunds).where(*_this(refund)).values(values))
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
            .where(*_this(refund))
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
            .where(*_this(refund))
            .values(bank_reference=bank_reference, speed_processed=speed, processed_at=at)
        )
        return replace(
            refund,
            bank_reference=bank_reference,
            speed_processed=speed_processed,
            processed_at=at,
        )


class SqlRefundEvents:
    def __init__(self, conn: AsyncConnection, raw: Any) -> None:
        self.conn = conn
        self.raw = raw  # the asyncpg connection under `conn`, in its transaction

    async def append(self, refund: Refund, change: RefundStatusChanged, at: datetime) -> None:
        event_id: int = await self.raw.fetchval(
            statements.INSERT_REFUND_EVENT,
            refund.merchant_id,
            refund.id,
            change.status.value,
            at,
            change.message,
            change.failure_code,
            webhooks.new_event_id(),
            webhooks.event_type(change.previous, change.status).value,
        )
        payload = _notice(refund, event_id)
        await self.raw.execute(statements.NOTIFY, REFUND_EVENTS_CHANNEL, payload)
