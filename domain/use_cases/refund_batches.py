"""Refund batches: submitting one (accepted whole, or refused whole on its shape), applying
items, cancelling what is not yet applied.

Applying an item is initiateRefund itself (initiate_within), with the item's own idempotency
key and the same rules and userErrors, in the database transaction that also marks the item
CREATED (or, its changes undone to a savepoint, REFUSED): a crash before the commit leaves both
undone, and the next attempt applies the item again; its key finds the refund if one was made.
Several items share one transaction (one commit), each in its own savepoint."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from uuid import UUID, uuid4

from domain.batches import (
    MAX_ITEMS,
    BatchItemInput,
    ItemError,
    PendingItem,
    RefundBatch,
    RefundBatchItemStatus,
    RefundBatchStatus,
    SubmitRefundBatch,
    item_idempotency_key,
)
from domain.errors import (
    DomainError,
    IdempotencyKeyReused,
    InvalidInput,
    RefundBatchNotCancellable,
    RefundBatchNotFound,
    TransactionNotFound,
)
from domain.model import TransactionStatus
from domain.ports import UnitOfWork
from domain.use_cases.initiate_refund import (
    IDEMPOTENCY_KEY_MAX,
    InitiateRefund,
    initiate_within,
    validate,
)

# Stands for the payment while an item's shape is checked (validate needs no database).
_ANY_PAYMENT = UUID(int=0)


def shape_errors(cmd: SubmitRefundBatch) -> list[DomainError]:
    """Everything wrong with the batch's shape, each error naming its item's field
    (["input", "items", "3", "amount"]); empty when the batch may be accepted. Each item gets
    initiateRefund's own checks that need no database."""
    errors: list[DomainError] = []
    if not 1 <= len(cmd.idempotency_key) <= IDEMPOTENCY_KEY_MAX:
        errors.append(
            InvalidInput(
                f"idempotencyKey must be 1 to {IDEMPOTENCY_KEY_MAX} characters.",
                field=("input", "idempotencyKey"),
            )
        )
    if not 1 <= len(cmd.items) <= MAX_ITEMS:
        errors.append(
            InvalidInput(
                f"A batch has 1 to {MAX_ITEMS} items; this one has {len(cmd.items)}.",
                field=("input", "items"),
            )
        )
        return errors
    seen_keys: set[str] = set()
    for index, given in enumerate(cmd.items):
        at = ("input", "items", str(index))
        if (given.transaction is None) == (given.order_id is None):
            errors.append(InvalidInput("Give exactly one of transactionId or orderId.", field=at))
        key = item_idempotency_key(cmd.idempotency_key, index, given.idempotency_key)
        try:
            validate(_command(cmd.merchant_id, given, key, _ANY_PAYMENT, False, None))
        except DomainError as error:
            inside = error.field[1:] if error.field else ()
            errors.append(type(error)(error.message, field=(*at, *inside)))
            continue
        if key in seen_keys:
            errors.append(
                InvalidInput(
                    "Another item of this batch has the same idempotencyKey.",
                    field=(*at, "idempotencyKey"),
                )
            )
        seen_keys.add(key)
    return errors


async def submit_refund_batch(uow: UnitOfWork, cmd: SubmitRefundBatch) -> RefundBatch:
    """Store the batch for the processor, or return the one already submitted with its key."""
    errors = shape_errors(cmd)
    if errors:
        raise errors[0]
    request_hash = cmd.fingerprint()
    async with uow:
        batch_id = uuid4()
        if not await uow.batches.add(batch_id, cmd, request_hash):
            found = await uow.batches.by_key(cmd.merchant_id, cmd.idempotency_key)
            assert found is not None  # keys are never deleted
            batch_id, earlier_hash = found
            if earlier_hash != request_hash:
                raise IdempotencyKeyReused(
                    "This idempotency key was already used for a different batch; "
                    "use a new key for a new batch."
                )
        batch = await uow.batches.get(cmd.merchant_id, batch_id)
        assert batch is not None
        await uow.commit()
    return batch


async def apply_batch_item(
    new_uow: Callable[[], UnitOfWork],
    merchant_id: UUID,
    batch_id: UUID,
    index: int,
    *,
    now: datetime,
    window_days: int,
) -> RefundBatchItemStatus | None:
    """Apply one PENDING item as initiateRefund; None when it is not PENDING (applied before,
    or cancelled)."""
    applied = await apply_batch_items(
        new_uow(), merchant_id, batch_id, [index], now=now, window_days=window_days
    )
    return applied[0] if applied is not None else None


async def apply_batch_items(
    uow: UnitOfWork,
    merchant_id: UUID,
    batch_id: UUID,
    indexes: Sequence[int],
    *,
    now: datetime,
    window_days: int,
) -> list[RefundBatchItemStatus | None] | None:
    """Apply PENDING items in order, each as initiateRefund within a savepoint of one database
    transaction: a refused item's changes are undone alone and its refusal recorded, and the
    items commit together (one commit, not one per item: bench/BATCHES.md). None for an item
    not PENDING; None for all when the batch is no longer RUNNING (a cancellation that was
    under way is waited for). RefundBatchBusy when a cancellation holds the batch past the
    lock timeout.

    Rows are locked in the one order every use case keeps: the batch, the items, then every
    payment they name (by id), then (inside initiateRefund) the merchant's balance row; a
    cancellation locks the batch and the items in the same order (db/repositories/batches.py)."""
    async with uow:
        if not await uow.batches.hold_running(merchant_id, batch_id):
            return None
        pending = await uow.batches.lock_pending_items(merchant_id, batch_id, indexes)
        payments: dict[int, UUID | DomainError] = {}
        for item in pending.values():
            try:
                payments[item.item.index] = await _payment_of(uow, merchant_id, item.item.item)
            except DomainError as error:
                payments[item.item.index] = error
        for transaction_id in sorted({p for p in payments.values() if isinstance(p, UUID)}):
            await uow.transactions.lock(merchant_id, transaction_id)
        outcomes = [
            await _apply(uow, pending[i], payments[i], now, window_days) if i in pending else None
            for i in indexes
        ]
        if pending:
            await uow.batches.progressed(merchant_id, batch_id)
        await uow.commit()
    return outcomes


async def _apply(
    uow: UnitOfWork,
    pending: PendingItem,
    payment: UUID | DomainError,
    now: datetime,
    window_days: int,
) -> RefundBatchItemStatus:
    item = pending.item
    try:
        if isinstance(payment, DomainError):
            raise payment
        async with uow.savepoint():
            cmd = _command_of(pending, payment)
            validate(cmd)
            refund = await initiate_within(uow, cmd, now=now, window_days=window_days)
            await uow.batches.item_created(item.merchant_id, item.batch_id, item.index, refund.id)
    except DomainError as error:
        await uow.batches.item_refused(
            item.merchant_id, item.batch_id, item.index, ItemError.of(error)
        )
        return RefundBatchItemStatus.REFUSED
    return RefundBatchItemStatus.CREATED


async def finish_if_applied(
    uow: UnitOfWork, merchant_id: UUID, batch_id: UUID, now: datetime
) -> bool:
    """COMPLETED once no item is PENDING; True when the batch is no longer RUNNING (a
    cancellation under way is waited for: it ends the batch)."""
    async with uow:
        status = await uow.batches.lock(merchant_id, batch_id)
        if status is not RefundBatchStatus.RUNNING:
            return True
        if await uow.batches.has_pending(merchant_id, batch_id):
            return False
        await uow.batches.finish(merchant_id, batch_id, RefundBatchStatus.COMPLETED, now)
        await uow.commit()
    return True


async def cancel_refund_batch(
    uow: UnitOfWork, merchant_id: UUID, batch_id: UUID, now: datetime
) -> RefundBatch:
    """Cancel the items not yet applied; an item being applied at this moment finishes first
    (its row lock) and keeps its outcome. Cancelling a cancelled batch changes nothing."""
    async with uow:
        status = await uow.batches.lock(merchant_id, batch_id)
        if status is None:
            raise RefundBatchNotFound("No refund batch of yours has that id.")
        if status is RefundBatchStatus.COMPLETED:
            raise RefundBatchNotCancellable("Every item of this batch has been applied already.")
        await uow.batches.finish(merchant_id, batch_id, RefundBatchStatus.CANCELLED, now)
        batch = await uow.batches.get(merchant_id, batch_id)
        assert batch is not None
        await uow.commit()
    return batch


async def _payment_of(uow: UnitOfWork, merchant_id: UUID, given: BatchItemInput) -> UUID:
    """The transaction an item names: its id, or its order's one successful payment (or, when
    none succeeded, the newest, which initiateRefund then refuses as not refundable)."""
    if given.transaction is not None:
        if given.transaction_id is None:
            raise TransactionNotFound("No transaction of yours has that id.")
        return given.transaction_id
    assert given.order_id is not None
    of_order = await uow.transactions.by_order(merchant_id, given.order_id)
    if not of_order:
        raise TransactionNotFound(
            "No transaction of yours has that order id.", field=("input", "orderId")
        )
    succeeded = [t for t in of_order if t.status is TransactionStatus.SUCCESS]
    if len(succeeded) > 1:
        raise InvalidInput(
            f"The order has {len(succeeded)} successful payments; name one by transactionId.",
            field=("input", "orderId"),
        )
    return (succeeded or of_order)[0].id


def _command(
    merchant_id: UUID,
    given: BatchItemInput,
    key: str,
    transaction_id: UUID,
    queue_if_insufficient_balance: bool,
    initiated_by_key_id: UUID | None,
) -> InitiateRefund:
    return InitiateRefund(
        merchant_id=merchant_id,
        transaction_id=transaction_id,
        amount=given.amount,
        reason=given.reason,
        speed=given.speed,
        notes=given.notes,
        idempotency_key=key,
        queue_if_insufficient_balance=queue_if_insufficient_balance,
        initiated_by_key_id=initiated_by_key_id,
    )


def _command_of(pending: PendingItem, transaction_id: UUID) -> InitiateRefund:
    item = pending.item
    return _command(
        item.merchant_id,
        item.item,
        item.idempotency_key,
        transaction_id,
        pending.queue_if_insufficient_balance,
        pending.initiated_by_key_id,
    )
