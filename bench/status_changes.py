"""Status changes for the live-status benchmark (bench/subscriptions.py), made and timed here:
each returns the CLOCK_MONOTONIC time its commit returned."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from db.uow import SqlUnitOfWork
from domain.model import PaymentMethod, RefundReason, RefundSpeed, RefundStatus, TransactionStatus
from domain.use_cases.initiate_refund import InitiateRefund, initiate_refund
from domain.use_cases.platform import (
    RecordTransaction,
    create_merchant,
    recharge_balance,
    record_transaction,
)
from domain.use_cases.processing import RailOutcome, record_outcome, start_processing

# The steady-rate committer writes what the repositories write for a status change (the row,
# the event, the NOTIFY) in one statement and one commit, so that the offered rate is not
# capped by the benchmark's own Python (the use cases cost ~2 ms of CPU per change here).
CHANGE_STATUS = """
WITH u AS (UPDATE refunds SET status = $2, updated_at = now() WHERE id = $1
           RETURNING id, merchant_id, transaction_id),
     e AS (INSERT INTO refund_events (merchant_id, refund_id, status, at)
           SELECT merchant_id, id, $2, now() FROM u RETURNING id)
SELECT pg_notify('refund_events', json_build_object(
    'm', u.merchant_id, 'r', u.id, 't', u.transaction_id, 'e', e.id)::text) FROM u, e
"""


@dataclass
class Tenant:
    merchant_id: UUID
    key: str
    refund_ids: list[UUID] = field(default_factory=list)


def public_refund_id(refund_id: UUID) -> str:
    return f"rfd_{refund_id.hex}"


async def new_tenant(engine: AsyncEngine, refunds: int) -> Tenant:
    """A merchant with `refunds` PENDING refunds, made before anyone subscribes."""
    merchant, key = await create_merchant(SqlUnitOfWork(engine), "Bench", "INR")
    tenant = Tenant(merchant.id, key)
    await recharge_balance(
        SqlUnitOfWork(engine),
        merchant.id,
        10_000_000_00,
        f"rch_{secrets.token_hex(4)}",
        datetime.now(UTC),
    )
    gate = asyncio.Semaphore(8)

    async def one() -> None:
        async with gate:
            tenant.refund_ids.append(await make_refund(engine, merchant.id))

    await asyncio.gather(*(one() for _ in range(refunds)))
    return tenant


async def make_refund(engine: AsyncEngine, merchant_id: UUID) -> UUID:
    now = datetime.now(UTC)
    txn = await record_transaction(
        SqlUnitOfWork(engine),
        RecordTransaction(
            merchant_id=merchant_id,
            reference=f"pay_{secrets.token_hex(8)}",
            order_id="bench",
            amount=1_00,
            currency="INR",
            status=TransactionStatus.SUCCESS,
            payment_method=PaymentMethod.UPI,
            source="customer@okaxis",
            created_at=now,
        ),
    )
    refund = await initiate_refund(
        SqlUnitOfWork(engine),
        InitiateRefund(
            merchant_id=merchant_id,
            transaction_id=txn.id,
            amount=1_00,
            reason=RefundReason.CUSTOMER_REQUEST,
        ),
        now=now,
        window_days=180,
    )
    return refund.id


async def start(engine: AsyncEngine, merchant_id: UUID, refund_id: UUID) -> float:
    """PENDING -> PROCESSING; returns when its commit returned."""
    await start_processing(SqlUnitOfWork(engine), merchant_id, refund_id, datetime.now(UTC))
    return time.monotonic()


async def settle(engine: AsyncEngine, merchant_id: UUID, refund_id: UUID) -> float:
    """PROCESSING -> PROCESSED; returns when its commit returned."""
    outcome = RailOutcome(
        RefundStatus.PROCESSED, bank_reference="123456789012", speed_processed=RefundSpeed.NORMAL
    )
    await record_outcome(SqlUnitOfWork(engine), merchant_id, refund_id, outcome, datetime.now(UTC))
    return time.monotonic()


async def change_status(pool: asyncpg.Pool, refund_id: UUID, status: str) -> float:
    """Any status change in one statement (CHANGE_STATUS); returns when its commit returned."""
    await pool.execute(CHANGE_STATUS, refund_id, status)
    return time.monotonic()
