"""Rules of refund batches that the HTTP flows reach only through the API's own checks first,
checked with a minimal fake unit of work (tests/unit/test_use_case_guards.py's)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from domain.batches import BatchItemInput, RefundBatchStatus, SubmitRefundBatch
from domain.errors import InvalidInput, TransactionNotFound
from domain.model import PaymentMethod, RefundReason, Transaction, TransactionStatus
from domain.use_cases.initiate_refund import IDEMPOTENCY_KEY_MAX
from domain.use_cases.refund_batches import (
    _payment_of,
    apply_batch_items,
    finish_if_applied,
    shape_errors,
    submit_refund_batch,
)
from tests.unit.test_use_case_guards import FakeUnitOfWork

NOW = datetime(2026, 12, 3, tzinfo=UTC)
MERCHANT = UUID(int=1)


def _item(**given: Any) -> BatchItemInput:
    fields: dict[str, Any] = {
        "transaction": None,
        "transaction_id": None,
        "order_id": "order-1",
        "amount": 100,
        "reason": RefundReason.OTHER,
    }
    return BatchItemInput(**{**fields, **given})


def _payment(n: int, status: TransactionStatus) -> Transaction:
    return Transaction(
        UUID(int=n), MERCHANT, f"ref-{n}", "order-1", 100_00, "INR", status,
        PaymentMethod.UPI, "customer@okaxis", NOW,
    )  # fmt: skip


@pytest.mark.parametrize("key", ["", "k" * (IDEMPOTENCY_KEY_MAX + 1)])
async def test_a_batch_key_empty_or_too_long_is_refused_before_anything_is_stored(
    key: str,
) -> None:
    cmd = SubmitRefundBatch(MERCHANT, (_item(),), key)
    assert [e.field for e in shape_errors(cmd)] == [("input", "idempotencyKey")]
    uow = FakeUnitOfWork()  # no repository: storing anything would raise AttributeError
    with pytest.raises(InvalidInput):
        await submit_refund_batch(uow, cmd)  # type: ignore[arg-type]


async def test_a_batch_no_longer_running_counts_as_finished_without_looking_at_its_items() -> None:
    async def lock(*_args: Any) -> RefundBatchStatus:
        return RefundBatchStatus.CANCELLED

    uow = FakeUnitOfWork(batches=SimpleNamespace(lock=lock))
    assert await finish_if_applied(uow, MERCHANT, UUID(int=9), NOW)  # type: ignore[arg-type]


async def test_an_item_naming_a_transaction_id_that_decodes_to_nothing_is_not_found() -> None:
    item = _item(transaction="txn_not-ours", order_id=None)
    with pytest.raises(TransactionNotFound):
        await _payment_of(FakeUnitOfWork(), MERCHANT, item)  # type: ignore[arg-type]


async def test_an_order_with_two_successful_payments_must_be_named_by_transaction() -> None:
    async def by_order(*_args: Any) -> list[Transaction]:
        return [_payment(2, TransactionStatus.SUCCESS), _payment(3, TransactionStatus.SUCCESS)]

    uow = FakeUnitOfWork(transactions=SimpleNamespace(by_order=by_order))
    with pytest.raises(InvalidInput, match="2 successful payments") as refused:
        await _payment_of(uow, MERCHANT, _item())  # type: ignore[arg-type]
    assert refused.value.field == ("input", "orderId")


async def test_a_running_batch_with_items_still_pending_is_not_finished() -> None:
    async def lock(*_args: Any) -> RefundBatchStatus:
        return RefundBatchStatus.RUNNING

    async def has_pending(*_args: Any) -> bool:
        return True

    batches = SimpleNamespace(lock=lock, has_pending=has_pending)  # no `finish`: it must not run
    uow = FakeUnitOfWork(batches=batches)
    assert not await finish_if_applied(uow, MERCHANT, UUID(int=9), NOW)  # type: ignore[arg-type]


async def test_items_applied_meanwhile_elsewhere_are_skipped_without_telling_progress() -> None:
    # given a running batch whose asked items are no longer PENDING (applied by another process)
    committed: list[bool] = []

    async def hold_running(*_args: Any) -> bool:
        return True

    async def lock_pending_items(*_args: Any) -> dict[int, Any]:
        return {}

    async def commit() -> None:
        committed.append(True)

    batches = SimpleNamespace(hold_running=hold_running, lock_pending_items=lock_pending_items)
    uow = FakeUnitOfWork(batches=batches, commit=commit)  # no `progressed`: it must not run
    # when they are applied, then nothing is applied and the (empty) transaction commits
    outcomes = await apply_batch_items(
        uow,  # type: ignore[arg-type]
        MERCHANT, UUID(int=9), [0, 1], now=NOW, window_days=180,
    )  # fmt: skip
    assert outcomes == [None, None]
    assert committed == [True]
