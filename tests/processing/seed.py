"""Setting up merchants, payments and refunds through the domain's use cases directly, in a
database of the test's own."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from db.uow import SqlUnitOfWork
from domain.model import PaymentMethod, RefundReason, TransactionStatus
from domain.use_cases.initiate_refund import InitiateRefund, initiate_refund
from domain.use_cases.platform import (
    RecordTransaction,
    create_merchant,
    recharge_balance,
    record_transaction,
)


@dataclass
class Seeded:
    merchant_id: UUID
    refund_ids: list[UUID]


async def refunds(
    engine: AsyncEngine, count: int, *, source: str = "customer@okaxis", amount: int = 10_00
) -> Seeded:
    now = datetime.now(UTC)
    merchant, _key = await create_merchant(SqlUnitOfWork(engine), "Seeded", "INR")
    await recharge_balance(
        SqlUnitOfWork(engine), merchant.id, amount * count, f"rch_{secrets.token_hex(4)}", now
    )
    ids = []
    for _ in range(count):
        txn = await record_transaction(
            SqlUnitOfWork(engine),
            RecordTransaction(
                merchant_id=merchant.id,
                reference=f"pay_{secrets.token_hex(6)}",
                order_id="o1",
                amount=amount,
                currency="INR",
                status=TransactionStatus.SUCCESS,
                payment_method=PaymentMethod.UPI,
                source=source,
                created_at=now,
            ),
        )
        refund = await initiate_refund(
            SqlUnitOfWork(engine),
            InitiateRefund(
                merchant_id=merchant.id,
                transaction_id=txn.id,
                amount=amount,
                reason=RefundReason.CUSTOMER_REQUEST,
            ),
            now=now,
            window_days=180,
        )
        ids.append(refund.id)
    return Seeded(merchant.id, ids)
