"""The processor's queue, in the refunds table itself: claims with FOR UPDATE SKIP LOCKED and a
lease, so that any number of processes share the work and a dead one's claims come back.

A claim sets `next_attempt_at` to the lease's end as well as `claim_expires_at`: a claimed refund
is then simply "not due" until its lease runs out, and one condition on the partial index
`ix_refunds_due` (status PENDING or PROCESSING, next_attempt_at <= now()) finds both fresh
PENDING refunds and PROCESSING ones whose holder died or is waiting out a retry's backoff."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables import refunds, transactions
from domain.model import DestinationKind, PaymentMethod, RefundSpeed, RefundStatus

CLAIMABLE = [RefundStatus.PENDING.value, RefundStatus.PROCESSING.value]


@dataclass(frozen=True, slots=True)
class Claim:
    refund_id: UUID
    merchant_id: UUID
    status: RefundStatus  # when claimed: PENDING (fresh) or PROCESSING (re-driven)
    attempts: int  # gateway calls this processing run, this one included


@dataclass(frozen=True, slots=True)
class WorkOrder:
    """What the rails need to know about a PROCESSING refund."""

    refund_id: UUID
    merchant_id: UUID
    amount: int
    currency: str
    payment_method: PaymentMethod
    destination_kind: DestinationKind
    source: str
    destination_details: dict[str, str] | None
    speed_requested: RefundSpeed


class RefundClaims:
    def __init__(self, engine: AsyncEngine, worker_id: str) -> None:
        self.engine = engine
        self.worker_id = worker_id

    async def claim(self, limit: int, lease_seconds: float) -> Sequence[Claim]:
        c = refunds.c
        due = (
            select(c.id)
            .where(c.status.in_(CLAIMABLE), c.next_attempt_at <= func.now())
            .order_by(c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        until = func.now() + timedelta(seconds=lease_seconds)
        stmt = (
            update(refunds)
            .where(c.id.in_(due.scalar_subquery()))
            .values(
                claimed_by=self.worker_id,
                claim_expires_at=until,
                next_attempt_at=until,
                # A PENDING refund starts a new run of attempts (e.g. after a new destination).
                attempts=case((c.status == RefundStatus.PENDING.value, 1), else_=c.attempts + 1),
            )
            .returning(c.id, c.merchant_id, c.status, c.attempts)
        )
        async with self.engine.begin() as conn:
            found = (await conn.execute(stmt)).all()
        return [Claim(r.id, r.merchant_id, RefundStatus(r.status), r.attempts) for r in found]

    async def extend(self, refund_id: UUID, lease_seconds: float) -> bool:
        """Renew a claim still held; False when it was lost (expired and taken by another)."""
        until = func.now() + timedelta(seconds=lease_seconds)
        return await self._mine(refund_id, claim_expires_at=until, next_attempt_at=until)

    async def retry_later(self, refund_id: UUID, delay_seconds: float) -> bool:
        """Give the claim back, due again after `delay_seconds`."""
        due = func.now() + timedelta(seconds=delay_seconds)
        return await self._mine(
            refund_id, claimed_by=None, claim_expires_at=None, next_attempt_at=due
        )

    async def release(self, refund_id: UUID) -> bool:
        return await self._mine(refund_id, claimed_by=None, claim_expires_at=None)

    async def _mine(self, refund_id: UUID, **values: Any) -> bool:
        stmt = (
            update(refunds)
            .where(refunds.c.id == refund_id, refunds.c.claimed_by == self.worker_id)
            .values(**values)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount > 0

    async def work_order(self, refund_id: UUID) -> WorkOrder | None:
        """The refund as the rails need it, or None unless it is PROCESSING."""
        r, t = refunds.c, transactions.c
        stmt = (
            select(
                r.id,
                r.merchant_id,
                r.amount,
                r.currency,
                r.destination_kind,
                r.destination_details,
                r.speed_requested,
                t.payment_method,
                t.source,
            )
            .join_from(refunds, transactions, t.id == r.transaction_id)
            .where(r.id == refund_id, r.status == RefundStatus.PROCESSING.value)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).one_or_none()
        if row is None:
            return None
        return WorkOrder(
            refund_id=row.id,
            merchant_id=row.merchant_id,
            amount=row.amount,
            currency=row.currency,
            payment_method=PaymentMethod(row.payment_method),
            destination_kind=DestinationKind(row.destination_kind),
            source=row.source,
            destination_details=row.destination_details,
            speed_requested=RefundSpeed(row.speed_requested),
        )

    async def status(self, refund_id: UUID) -> RefundStatus | None:
        async with self.engine.connect() as conn:
            found = (
                await conn.execute(select(refunds.c.status).where(refunds.c.id == refund_id))
            ).scalar_one_or_none()
        return RefundStatus(found) if found else None
