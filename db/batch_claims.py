"""The batch appliers' queue, in the refund_batches table: claimed as refunds are (db/claims.py),
with FOR UPDATE SKIP LOCKED and a lease, merchant by merchant, the slots shared out among the
merchants with batches due. A RUNNING batch is due at `next_attempt_at`; a claim moves that to
the lease's end, so a batch whose holder died is due again once its lease runs out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import select

from db import rows
from db.claims import Leases
from db.tables import refund_batch_items, refund_batches
from domain.batches import RefundBatchItemStatus, RefundBatchStatus

b = refund_batches.c
i = refund_batch_items.c
RUNNING = RefundBatchStatus.RUNNING.value


@dataclass(frozen=True, slots=True)
class BatchClaim:
    batch_id: UUID
    merchant_id: UUID
    holder: str  # what this claim wrote in claimed_by (db/claims.py, Leases)


class BatchClaims(Leases[BatchClaim]):
    table = refund_batches
    queued = b.status == RUNNING
    returning = rows.columns(refund_batches, BatchClaim, batch_id="id", holder="claimed_by")

    def _row_of(self, claim: BatchClaim) -> tuple[UUID, UUID, str]:
        return claim.merchant_id, claim.batch_id, claim.holder

    def _claimed(self, row: Any) -> BatchClaim:
        return rows.record(BatchClaim, row._mapping)

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
