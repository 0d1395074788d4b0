"""Driving a refund along the rails from a test, through the same use cases the processor uses.

The background processor may be driving the same refund at the same moment; both use cases are
no-ops when the refund is past the state they expect, so whichever runs first wins and the end
state is the same. Call these only for refunds whose source leads the sandbox rails to the same
outcome (a plain source settles PROCESSED, `frozen` gives ACTION_REQUIRED, `reject` FAILED)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from api import ids
from db.uow import SqlUnitOfWork
from domain.model import RefundStatus
from domain.use_cases.processing import RailOutcome, record_outcome, start_processing
from tests.support import Merchant


def merchant_key(merchant: Merchant) -> UUID:
    key = ids.decode_uuid(ids.MERCHANT, merchant.id)
    assert key is not None
    return key


def refund_key(refund_id: str) -> UUID:
    key = ids.decode_uuid(ids.REFUND, refund_id)
    assert key is not None
    return key


async def start(engine: AsyncEngine, merchant: Merchant, refund_id: str) -> None:
    """PENDING -> PROCESSING (unless the processor already took it there)."""
    await start_processing(
        SqlUnitOfWork(engine), merchant_key(merchant), refund_key(refund_id), datetime.now(UTC)
    )


async def settle(
    engine: AsyncEngine, merchant: Merchant, refund_id: str, outcome: RailOutcome
) -> None:
    """Apply a rail outcome (unless the processor already applied it)."""
    await record_outcome(
        SqlUnitOfWork(engine),
        merchant_key(merchant),
        refund_key(refund_id),
        outcome,
        datetime.now(UTC),
    )


async def drive(
    engine: AsyncEngine, merchant: Merchant, refund_id: str, *outcomes: RailOutcome
) -> None:
    """PENDING -> PROCESSING, then each outcome in turn."""
    await start(engine, merchant, refund_id)
    for outcome in outcomes:
        await settle(engine, merchant, refund_id, outcome)


PAID = RailOutcome(RefundStatus.PROCESSED, bank_reference="UTR0001", message="Paid.")
REJECTED = RailOutcome(RefundStatus.FAILED, failure_code="REJECTED_BY_BANK", message="No.")
FROZEN = RailOutcome(
    RefundStatus.ACTION_REQUIRED, failure_code="CUSTOMER_ACCOUNT_FROZEN", message="Frozen."
)
RETURNED = RailOutcome(RefundStatus.REVERSED, failure_code="RETURNED_BY_BANK", message="Back.")
