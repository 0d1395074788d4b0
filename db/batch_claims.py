"""The batch appliers' queue, in the refund_batches table: claimed as refunds are (db/claims.py),
with FOR UPDATE SKIP LOCKED and a lease, merchant by merchant, the slots shared out among the
merchants with batches due. A RUNNING batch is due at `next_attempt_at`; a claim moves that to
the lease's end, so a batch whose holder died is due again once its lease runs out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from uuid import UUID

from sqlalchemy import func, select, update

from db.claims import Leases, share_out
from db.distribution import ACROSS_MERCHANTS
from db.tables import refund_batch_items, refund_batches
from domain.batches import RefundBatchItemStatus, RefundBatchStatus

b = refund_batches.c
i = refund_batch_items.c
RUNNING = RefundBatchStatus.RUNNING.value


@dataclass(frozen=True, slots=True)
class BatchClaim:
    batch_id: UUID
    merchant_id: UUID


class BatchClaims(Leases[BatchClaim]):
    table = refund_batches

    def _row_of(self, claim: BatchClaim) -> tuple[UUID, UUID]:
        return claim.merchant_id, claim.batch_id

    async def claim(self, limit: int, lease_seconds: float) -> list[BatchClaim]:
        """Up to `limit` due batches, shared out among the merchants with batches due."""
        oldest_due = func.min(b.next_attempt_at)
        merchants = (
            select(b.merchant_id)
            .prefix_with(ACROSS_MERCHANTS)
            .where(b.status == RUNNING, b.next_attempt_at <= func.now())
            .group_by(b.merchant_id)
            .order_by(oldest_due)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            hungry = list((await conn.execute(merchants)).scalars())
        return await share_out(limit, hungry, partial(self._claim_of, lease_seconds=lease_seconds))

    async def _claim_of(
        self, merchant_id: UUID, limit: int, lease_seconds: float
    ) -> list[BatchClaim]:
        due = (
            select(b.id)
            .where(
                b.merchant_id == merchant_id, b.status == RUNNING, b.next_attempt_at <= func.now()
            )
            .order_by(b.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
            .prefix_with("MATERIALIZED")
        )
        until = func.now() + timedelta(seconds=lease_seconds)
        stmt = (
            update(refund_batches)
            .where(b.merchant_id == merchant_id, b.id == due.c.id)
            .values(claimed_by=self.worker_id, claim_expires_at=until, next_attempt_at=until)
            .returning(b.id, b.merchant_id)
        )
        async with self.engine.begin() as conn:
            found = (await conn.execute(stmt)).all()
        return [BatchClaim(r.id, r.merchant_id) for r in found]

    async def pending(self, claim: BatchClaim, lane: int, limit: int) -> list[int]:
        """The lane's next PENDING items, in the batch's order."""
        stmt = (
            select(i.index)
            .where(
                i.merchant_id == claim.merchant_id,
                i.batch_id == claim.batch_id,
                i.lane == lane,
                i.status == RefundBatchItemStatus.PENDING.value,
            )
            .order_by(i.index)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return list((await conn.execute(stmt)).scalars())
