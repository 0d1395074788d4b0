"""initiateRefund decides on the merchant's balance as read, unlocked, and locks the balance row
only when it stores the refund (domain/use_cases/initiate_refund.py). These tests move the
balance, through the API, between that read and the store, and check that the refund is what
the locked balance gives, and that the ledger agrees with it to the paisa."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api import ids
from api.config import Settings
from db.uow import SqlUnitOfWork
from domain.errors import InsufficientBalance
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
