"""initiateRefund decides on the merchant's balance as read, unlocked, and locks the balance row
only when it stores the refund (domain/use_cases/initiate_refund.py). These tests move the
balance, through the API, between that read and the store, or commit another refund of the
payment while the use case waits for the payment's lock, and check that the refund is what the
locked balance and the payment's refunds give, and that the ledger agrees with it to the
paisa."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api import ids
from api.config import Settings
from db import statements
from db.uow import SqlUnitOfWork
from domain.errors import AmountExceedsRefundable, InsufficientBalance
from domain.model import Merchant as MerchantRow
from domain.model import RefundReason, RefundStatus
from domain.use_cases.initiate_refund import InitiateRefund, initiate_refund
from tests.api.account_state import account, created, merchant_with_balance
from tests.support import Api, Merchant


class MovedAfterTheRead(SqlUnitOfWork):
    """A unit of work that runs `meanwhile` (committed on its own) right after the use case has
    read the held sum and the balance."""

    def __init__(self, engine: AsyncEngine, meanwhile: Callable[[], Awaitable[Any]]) -> None:
        super().__init__(engine)
        self.meanwhile = meanwhile

    async def __aenter__(self) -> MovedAfterTheRead:
        await super().__aenter__()
        read = self.refunds.held_amount_and_merchant

        async def read_then_move(
            merchant_id: UUID, transaction_id: UUID
        ) -> tuple[int, MerchantRow | None]:
            found = await read(merchant_id, transaction_id)
            await self.meanwhile()
            return found

        self.refunds.held_amount_and_merchant = read_then_move  # type: ignore[method-assign]
        return self


async def _refund(
    engine: AsyncEngine,
    settings: Settings,
    merchant: Merchant,
    transaction: dict[str, Any],
    amount: int,
    meanwhile: Callable[[], Awaitable[Any]],
    *,
    queue: bool = False,
) -> RefundStatus:
    merchant_id = ids.decode_uuid(ids.MERCHANT, merchant.id)
    transaction_id = ids.decode_uuid(ids.TRANSACTION, transaction["id"])
    assert merchant_id is not None
    assert transaction_id is not None
    cmd = InitiateRefund(
        merchant_id,
        transaction_id,
        amount,
        RefundReason.CUSTOMER_REQUEST,
        queue_if_insufficient_balance=queue,
        idempotency_key=f"locked-last-{transaction_id}",
    )
    refund = await initiate_refund(
        MovedAfterTheRead(engine, meanwhile),
        cmd,
        now=datetime.now(UTC),
        window_days=settings.refund_window_days,
    )
    return refund.status


async def test_a_debit_read_as_covered_is_refused_when_the_balance_fell_meanwhile(
    api: Api, engine: AsyncEngine, settings: Settings
) -> None:
    # given a balance of 100.00 and two payments
    merchant = await merchant_with_balance(api, 100_00)
    first = await api.record_transaction(merchant, amount=1_000_00)
    second = await api.record_transaction(merchant, amount=1_000_00)

    async def another_refund() -> None:
        created(await api.initiate_refund(merchant, transactionId=second["id"], amount=50_00))

    # when a refund of 80.00 reads the balance, and another of 50.00 commits before it stores
    with pytest.raises(InsufficientBalance) as refused:
        await _refund(engine, settings, merchant, first, 80_00, another_refund)
    # then it is refused on the balance as locked, and only the other refund moved money
    assert "balance is 5000 INR" in str(refused.value)
    after = await account(api, merchant)
    assert after.balance == 50_00
    assert [(e["kind"], e["amount"], e["balanceAfter"]) for e in after.ledger] == [
        ("RECHARGE", 100_00, 100_00),
        ("REFUND_DEBIT", 50_00, 50_00),
    ]
    assert len(after.refund_ids) == 1


async def test_a_refund_read_as_covered_is_queued_on_the_locked_balance_when_asked(
    api: Api, engine: AsyncEngine, settings: Settings
) -> None:
    # given a balance of 100.00 and two payments
    merchant = await merchant_with_balance(api, 100_00)
    first = await api.record_transaction(merchant, amount=1_000_00)
    second = await api.record_transaction(merchant, amount=1_000_00)

    async def another_refund() -> None:
        created(await api.initiate_refund(merchant, transactionId=second["id"], amount=50_00))

    # when a refund of 80.00 that may be queued loses the balance between its read and its store
    status = await _refund(engine, settings, merchant, first, 80_00, another_refund, queue=True)
    # then it waits ON_HOLD, nothing debited for it
    assert status is RefundStatus.ON_HOLD
    after = await account(api, merchant)
    assert after.balance == 50_00
    assert [e["kind"] for e in after.ledger] == ["RECHARGE", "REFUND_DEBIT"]
    assert len(after.refund_ids) == 2


async def test_a_refund_read_as_uncovered_is_debited_when_a_recharge_came_meanwhile(
    api: Api, engine: AsyncEngine, settings: Settings
) -> None:
    # given a balance of 30.00
    merchant = await merchant_with_balance(api, 30_00)
    payment = await api.record_transaction(merchant, amount=1_000_00)

    async def recharge() -> None:
        await api.recharge(merchant, 100_00)

    # when a refund of 80.00 that may be queued reads 30.00, and a recharge commits before it
    # stores
    status = await _refund(engine, settings, merchant, payment, 80_00, recharge, queue=True)
    # then it is debited from the recharged balance
    assert status is RefundStatus.PENDING
    after = await account(api, merchant)
    assert after.balance == 50_00
    assert [(e["kind"], e["amount"], e["balanceAfter"]) for e in after.ledger] == [
        ("RECHARGE", 30_00, 30_00),
        ("RECHARGE", 100_00, 130_00),
        ("REFUND_DEBIT", 80_00, 50_00),
    ]


async def test_a_debit_still_covered_is_taken_from_the_balance_as_locked(
    api: Api, engine: AsyncEngine, settings: Settings
) -> None:
    # given a balance of 100.00 and two payments
    merchant = await merchant_with_balance(api, 100_00)
    first = await api.record_transaction(merchant, amount=1_000_00)
    second = await api.record_transaction(merchant, amount=1_000_00)

    async def another_refund() -> None:
        created(await api.initiate_refund(merchant, transactionId=second["id"], amount=10_00))

    # when a refund of 80.00 reads 100.00, and one of 10.00 commits before it stores
    status = await _refund(engine, settings, merchant, first, 80_00, another_refund)
    # then both are debited, each ledger entry from the balance the other left
    assert status is RefundStatus.PENDING
    after = await account(api, merchant)
    assert after.balance == 10_00
    assert [(e["kind"], e["amount"], e["balanceAfter"]) for e in after.ledger] == [
        ("RECHARGE", 100_00, 100_00),
        ("REFUND_DEBIT", 10_00, 90_00),
        ("REFUND_DEBIT", 80_00, 10_00),
    ]


class PausedBeforeCommit(SqlUnitOfWork):
    """A unit of work that, once the refund is stored, says so and waits to be released before
    the use case commits."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.stored, self.release = asyncio.Event(), asyncio.Event()

    async def __aenter__(self) -> PausedBeforeCommit:
        await super().__aenter__()
        create = self.refunds.create

        async def create_then_wait(*args: Any, **kwargs: Any) -> bool:
            created = await create(*args, **kwargs)
            self.stored.set()
            await self.release.wait()
            return created

        self.refunds.create = create_then_wait  # type: ignore[method-assign]
        return self


async def _waiting_for_a_lock(engine: AsyncEngine, statement: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30  # a guard against hanging, never a measured bound
    async with engine.connect() as conn:
        while loop.time() < deadline:
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND query = :statement"
                ),
                {"statement": statement},
            )
            if waiting:
                return
            # pg_stat_activity is read once per transaction: the next look needs a new one
            await conn.rollback()
            await asyncio.sleep(0.01)
    raise AssertionError("nobody waited for the lock")


async def test_a_refund_that_waited_for_its_payment_counts_the_refund_before_it(
    api: Api, engine: AsyncEngine, settings: Settings
) -> None:
    # given a payment of 100.00 and a refund of 80.00 of it stored but not yet committed
    merchant = await merchant_with_balance(api, 1_000_00)
    payment = await api.record_transaction(merchant, amount=100_00)
    merchant_id = ids.decode_uuid(ids.MERCHANT, merchant.id)
    payment_id = ids.decode_uuid(ids.TRANSACTION, payment["id"])
    assert merchant_id is not None
    assert payment_id is not None
    first_uow = PausedBeforeCommit(engine)

    async def refund_of(uow: SqlUnitOfWork, amount: int) -> RefundStatus:
        cmd = InitiateRefund(merchant_id, payment_id, amount, RefundReason.CUSTOMER_REQUEST)
        now, window = datetime.now(UTC), settings.refund_window_days
        return (await initiate_refund(uow, cmd, now=now, window_days=window)).status

    first = asyncio.create_task(refund_of(first_uow, 80_00))
    await first_uow.stored.wait()
    # when a refund of 50.00 waits for the payment's lock, and the first commits
    second = asyncio.create_task(refund_of(SqlUnitOfWork(engine), 50_00))
    await _waiting_for_a_lock(engine, statements.LOCK_TRANSACTION)
    first_uow.release.set()
    assert await first == RefundStatus.PENDING
    # then the second is refused on what the payment has left, and nothing of it is written
    with pytest.raises(AmountExceedsRefundable):
        await second
    after = await account(api, merchant)
    assert after.balance == 920_00
    assert [(e["kind"], e["amount"]) for e in after.ledger] == [
        ("RECHARGE", 1_000_00),
        ("REFUND_DEBIT", 80_00),
    ]
    assert len(after.refund_ids) == 1
