"""What the bank rails report back, applied to a refund and the ledger.

The processor (claims, retries, the gateway) lives outside `domain/`; these functions are the
only way it changes a refund. Each is safe to repeat: an outcome that finds the refund already
past the state it expects changes nothing, so a retried call after a crash never settles twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain import refund_states
from domain.model import Refund, RefundSpeed, RefundStatus
from domain.ports import UnitOfWork
from domain.use_cases.balance import record_change

# Where each outcome may come from.
OUTCOME_SOURCES = {
    RefundStatus.PROCESSED: RefundStatus.PROCESSING,
    RefundStatus.FAILED: RefundStatus.PROCESSING,
    RefundStatus.ACTION_REQUIRED: RefundStatus.PROCESSING,
    RefundStatus.REVERSED: RefundStatus.PROCESSED,
}


@dataclass(frozen=True, slots=True)
class RailOutcome:
    status: RefundStatus
    failure_code: str | None = None
    message: str | None = None
    bank_reference: str | None = None
    speed_processed: RefundSpeed | None = None


async def start_processing(
    uow: UnitOfWork, merchant_id: UUID, refund_id: UUID, now: datetime
) -> Refund | None:
    """PENDING -> PROCESSING. None when the refund is no longer PENDING (e.g. cancelled)."""
    async with uow:
        refund = await uow.refunds.lock(merchant_id, refund_id)
        if refund is None or refund.status is not RefundStatus.PENDING:
            return None
        change = refund_states.transition(refund.status, RefundStatus.PROCESSING)
        refund = await uow.refunds.set_status(refund, change, now)
        await uow.events.append(refund, change, now)
        await uow.commit()
    return refund


async def record_outcome(
    uow: UnitOfWork, merchant_id: UUID, refund_id: UUID, outcome: RailOutcome, now: datetime
) -> Refund | None:
    """Apply what the rails said. None when the refund is not in the state the outcome
    follows from (already applied, or cancelled meanwhile): nothing changes then."""
    async with uow:
        merchant = await uow.merchants.lock(merchant_id)  # lock order: merchant, then refund
        refund = await uow.refunds.lock(merchant_id, refund_id)
        if merchant is None or refund is None:
            return None
        if refund.status is not OUTCOME_SOURCES.get(outcome.status):
            return None
        change = refund_states.transition(
            refund.status,
            outcome.status,
            message=outcome.message,
            failure_code=outcome.failure_code,
        )
        if outcome.status is RefundStatus.PROCESSED:
            refund = await uow.refunds.record_settlement(
                refund, outcome.bank_reference, outcome.speed_processed, now
            )
        refund = await uow.refunds.set_status(refund, change, now)
        await record_change(uow, merchant, refund, change, now)
        await uow.commit()
    return refund
