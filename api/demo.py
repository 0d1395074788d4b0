"""Demo data for a first start: one merchant with a recharge balance and ~50 transactions
across the four payment methods and three statuses, some carrying the sandbox rails' markers
(the table in processor/sandbox.py) so that every refund outcome can be tried from GraphiQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from db.uow import SqlUnitOfWork
from domain.model import PaymentMethod, RefundReason, TransactionStatus
from domain.use_cases import platform
from domain.use_cases.initiate_refund import InitiateRefund, initiate_refund

DEMO_MERCHANT_NAME = "Demo Store"
DEMO_RECHARGE = 50_000_00  # ₹50,000.00
TRANSACTION_COUNT = 50
MARKERS = ["frozen", "inactive", "flaky", "reject", "bounce"]


def _source(method: PaymentMethod, n: int, marker: str | None) -> str:
    tag = f"{marker}-" if marker else ""
    if method is PaymentMethod.UPI:
        return f"{tag}customer{n}@okaxis"
    if method is PaymentMethod.CARD:
        return f"{tag}card •••• {4000 + n}"
    if method is PaymentMethod.NET_BANKING:
        return f"{tag}HDFC a/c ••••{1000 + n}"
    return f"{tag}wallet ••••{2000 + n}"


def demo_transactions(merchant_id, now: datetime) -> list[platform.RecordTransaction]:  # type: ignore[no-untyped-def]
    rng = random.Random(2026)
    methods = list(PaymentMethod)
    statuses = [TransactionStatus.SUCCESS] * 7 + [
        TransactionStatus.FAILED,
        TransactionStatus.PENDING,
    ]
    commands = []
    for n in range(1, TRANSACTION_COUNT + 1):
        method = methods[n % len(methods)]
        status = TransactionStatus.SUCCESS if n <= len(MARKERS) * 2 else rng.choice(statuses)
        marker = MARKERS[(n - 1) % len(MARKERS)] if n <= len(MARKERS) * 2 else None
        commands.append(
            platform.RecordTransaction(
                merchant_id=merchant_id,
                reference=f"pay_demo_{n:04d}",
                order_id=f"order_{1000 + n}",
                amount=rng.randrange(100_00, 25_000_00, 50),
                currency="INR",
                status=status,
                payment_method=method,
                source=_source(method, n, marker),
                created_at=now - timedelta(hours=n * 7, minutes=rng.randrange(60)),
            )
        )
    return commands


async def seed(engine: AsyncEngine) -> str:
    """Create the demo merchant and its data; return its API key (shown once)."""
    now = datetime.now(UTC)
    merchant, key = await platform.create_merchant(SqlUnitOfWork(engine), DEMO_MERCHANT_NAME, "INR")
    await platform.recharge_balance(
        SqlUnitOfWork(engine), merchant.id, DEMO_RECHARGE, "demo-initial-recharge", now
    )
    recorded = []
    for cmd in demo_transactions(merchant.id, now):
        recorded.append(await platform.record_transaction(SqlUnitOfWork(engine), cmd))
    # A few refunds of ordinary (marker-free) successful payments, so the lists are not empty.
    plain = [
        t
        for t in recorded
        if t.status is TransactionStatus.SUCCESS and not any(m in t.source for m in MARKERS)
    ]
    for transaction, amount in zip(plain[:3], (None, 50_00, 120_00), strict=True):
        await initiate_refund(
            SqlUnitOfWork(engine),
            InitiateRefund(merchant.id, transaction.id, amount, RefundReason.CUSTOMER_REQUEST),
            now=now,
            window_days=3650,
        )
    return key
