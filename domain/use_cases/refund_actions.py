"""What a merchant can do to a refund after creating it: cancel it, or give it a new account."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import refund_states
from domain.destinations import Destination
from domain.errors import RefundNotAwaitingAction, RefundNotCancellable, RefundNotFound
from domain.model import Refund, RefundStatus
from domain.ports import UnitOfWork
from domain.use_cases.balance import record_change


async def cancel_refund(
    uow: UnitOfWork, merchant_id: UUID, refund_id: UUID, now: datetime
) -> Refund:
    """Cancel a refund that has not reached the bank; any debit goes back to the balance."""
    async with uow:
        merchant = await uow.merchants.lock(merchant_id)  # lock order: merchant, then refund
        refund = await uow.refunds.lock(merchant_id, refund_id)
        if merchant is None or refund is None:
            raise RefundNotFound("No refund of yours has that id.")
        if refund.status not in refund_states.CANCELLABLE_STATUSES:
            allowed = ", ".join(sorted(refund_states.CANCELLABLE_STATUSES))
            raise RefundNotCancellable(
                f"The refund is {refund.status}; only refunds that are {allowed} can be cancelled."
            )
        change = refund_states.transition(
            refund.status, RefundStatus.CANCELLED, message="Cancelled by the merchant."
        )
        refund = await uow.refunds.set_status(refund, change, now)
        await record_change(uow, merchant, refund, change, now)
        await uow.commit()
    return refund


async def update_refund_destination(
    uow: UnitOfWork, merchant_id: UUID, refund_id: UUID, destination: Destination, now: datetime
) -> Refund:
    """Send an ACTION_REQUIRED refund back to PENDING towards another account."""
    async with uow:
        refund = await uow.refunds.lock(merchant_id, refund_id)
        if refund is None:
            raise RefundNotFound("No refund of yours has that id.")
        if refund.status is not RefundStatus.ACTION_REQUIRED:
            raise RefundNotAwaitingAction(
                f"The refund is {refund.status}; a new destination is taken only while it is "
                "ACTION_REQUIRED."
            )
        refund = await uow.refunds.set_destination(refund, destination)
        change = refund_states.transition(
            refund.status,
            RefundStatus.PENDING,
            message=f"New destination: {destination.display}.",
        )
        refund = await uow.refunds.set_status(refund, change, now)
        merchant = await uow.merchants.get(merchant_id)
        assert merchant is not None
        await record_change(uow, merchant, refund, change, now)  # no balance effect
        await uow.commit()
    return refund
