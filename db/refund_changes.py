"""The read side of live status: a stored event together with its refund, as the change it
was. One query per merchant serves every subscriber of a batch of notifications."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db import rows
from db.distribution import ACROSS_MERCHANTS
from db.repositories.refunds import REFUND_COLUMNS
from db.tables import refund_events, refunds
from domain.model import Refund, RefundEvent, RefundStatus

SETTLED = frozenset({RefundStatus.PROCESSED, RefundStatus.REVERSED})


@dataclass(frozen=True, slots=True)
class Change:
    """What a NOTIFY on `refund_events` names (ids only)."""

    merchant_id: UUID
    refund_id: UUID
    transaction_id: UUID
    event_id: int


def as_of(refund: Refund, event: RefundEvent) -> Refund:
    """The refund as the event left it. The row may have moved on since (a later change was
    committed before this one was pushed): the status is then the event's, not the row's, and
    what belongs to later statuses is left out."""
    if refund.status is event.status and refund.updated_at <= event.at:
        return refund
    settled = event.status in SETTLED
    return replace(
        refund,
        status=event.status,
        updated_at=event.at,
        failure_code=event.failure_code,
        failure_message=event.message if event.failure_code else None,
        bank_reference=refund.bank_reference if settled else None,
        processed_at=refund.processed_at if settled else None,
        speed_processed=refund.speed_processed if settled else None,
    )


# A refund's event in a row beside its refund's columns, labelled apart from them.
_e = refund_events.c
EVENT_COLUMNS = (
    _e.id.label("event_row_id"),
    _e.status.label("event_status"),
    _e.at.label("event_at"),
    _e.message.label("event_message"),
    _e.failure_code.label("event_failure_code"),
)


def _its_refund() -> Any:
    e, r = refund_events.c, refunds.c
    return (r.merchant_id == e.merchant_id) & (r.id == e.refund_id)


def _events_with_refunds(merchant_id: UUID, event_ids: Sequence[int]) -> Select[Any]:
    e = refund_events.c
    return (
        select(*EVENT_COLUMNS, *REFUND_COLUMNS)
        .join_from(refund_events, refunds, _its_refund())
        .where(e.merchant_id == merchant_id, e.id.in_(list(event_ids)))
    )


def event_beside_refund(row: Any) -> RefundEvent:
    """The event of a row that holds EVENT_COLUMNS beside the REFUND_COLUMNS of its refund."""
    return RefundEvent(
        row.event_row_id,
        row.id,
        RefundStatus(row.event_status),
        row.event_at,
        row.event_message,
        row.event_failure_code,
    )


class RefundChanges:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def load(self, changes: Sequence[Change]) -> dict[int, Refund]:
        """event id -> the refund as that event left it. One statement per merchant in the
        batch (each goes to that merchant's node on Citus)."""
        by_merchant: dict[UUID, list[int]] = defaultdict(list)
        for change in changes:
            by_merchant[change.merchant_id].append(change.event_id)
        out: dict[int, Refund] = {}
        async with self.engine.connect() as conn:
            for merchant_id, event_ids in by_merchant.items():
                found = (await conn.execute(_events_with_refunds(merchant_id, event_ids))).all()
                for row in found:
                    out[row.event_row_id] = as_of(rows.refund(row), event_beside_refund(row))
        return out

    async def since(self, event_id: int, limit: int = 10_000) -> Sequence[Change]:
        """Changes stored after `event_id`, oldest first (to catch up after a lost listener)."""
        e = refund_events.c
        stmt = (
            select(e.id, e.merchant_id, e.refund_id, refunds.c.transaction_id)
            .prefix_with(ACROSS_MERCHANTS)
            .join_from(refund_events, refunds, _its_refund())
            .where(e.id > event_id)
            .order_by(e.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            found = (await conn.execute(stmt)).all()
        return [Change(r.merchant_id, r.refund_id, r.transaction_id, r.id) for r in found]
