"""Initiating a refund: the one use case that must never create money.

Inside one database transaction it claims the idempotency key, locks the transaction row (so
concurrent refunds of one payment queue up behind each other), sums what its refunds already
hold, and decides on the merchant's balance as it stands. The merchant's balance row, which all
of a merchant's refunds share, is locked last and for as short a time as possible: by the one
statement that stores the refund and debits the balance — or parks the refund ON_HOLD — if the
locked balance still gives the same decision, and otherwise decides again on the locked row."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from domain import eligibility, refund_states
from domain.destinations import original_source
from domain.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InsufficientBalance,
    InvalidInput,
    TransactionNotFound,
)
from domain.model import (
    Merchant,
    Refund,
    RefundReason,
    RefundSpeed,
    RefundStatus,
    Transaction,
)
from domain.money import check_minor_units
from domain.ports import BalanceRange, IdempotencyClaim, UnitOfWork
from domain.refund_states import BalanceEffect, RefundStatusChanged
from domain.settlement import estimated_settlement
from domain.use_cases.balance import shortfall_message

NOTES_MAX = 1000
METADATA_MAX_KEYS = 20
METADATA_MAX_BYTES = 4096
METADATA_MAX_DEPTH = 32  # objects and arrays within each other; the database's encoder stops at 255
IDEMPOTENCY_KEY_MAX = 255


@dataclass(frozen=True, slots=True)
class InitiateRefund:
    merchant_id: UUID
    transaction_id: UUID
    amount: int | None
    reason: RefundReason
    speed: RefundSpeed = RefundSpeed.NORMAL
    notes: str | None = None
    metadata: dict[str, Any] | None = None
    idempotency_key: str | None = None
    queue_if_insufficient_balance: bool = False
    initiated_by_key_id: UUID | None = None  # which of the merchant's keys asked; None: platform

    def fingerprint(self) -> str:
        """A hash of everything that defines the request, to recognise a replay."""
        fields = asdict(self)
        fields.pop("idempotency_key")
        fields.pop("initiated_by_key_id")  # a retry through another key is the same request
        fields["merchant_id"] = str(self.merchant_id)
        fields["transaction_id"] = str(self.transaction_id)
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


def validate(cmd: InitiateRefund) -> None:
    """The checks that need no database; raise before any lock is taken."""
    if cmd.amount is not None:
        check_minor_units(cmd.amount)
    if cmd.notes is not None and len(cmd.notes) > NOTES_MAX:
        raise InvalidInput(
            f"notes must be at most {NOTES_MAX} characters.", field=("input", "notes")
        )
    if cmd.metadata is not None:
        _validate_metadata(cmd.metadata)
    key = cmd.idempotency_key
    if key is not None and not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX:
        raise InvalidInput(
            f"idempotencyKey must be 1 to {IDEMPOTENCY_KEY_MAX} characters.",
            field=("input", "idempotencyKey"),
        )


def _validate_metadata(metadata: object) -> None:
    field = ("input", "metadata")
    if not isinstance(metadata, dict):
        raise InvalidInput("metadata must be a JSON object of keys to values.", field=field)
    if len(metadata) > METADATA_MAX_KEYS:
        raise InvalidInput(f"metadata may have at most {METADATA_MAX_KEYS} keys.", field=field)
    if _depth(metadata) > METADATA_MAX_DEPTH:
        raise InvalidInput(
            f"metadata may nest objects and arrays at most {METADATA_MAX_DEPTH} levels deep.",
            field=field,
        )
    try:
        # UTF-8 bytes as stored; NaN and Infinity are not JSON and PostgreSQL refuses them.
        encoded = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise InvalidInput("metadata must not contain NaN or Infinity.", field=field) from None
    size = len(encoded.encode())
    if size > METADATA_MAX_BYTES:
        raise InvalidInput(
            f"metadata must encode to at most {METADATA_MAX_BYTES} bytes of JSON; it is {size}.",
            field=field,
        )


def _depth(value: object) -> int:
    """How deeply objects and arrays nest in a JSON value; without recursion, as the value may
    nest deeper than Python's recursion limit."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > METADATA_MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


async def initiate_refund(
    uow: UnitOfWork, cmd: InitiateRefund, *, now: datetime, window_days: int
) -> Refund:
    validate(cmd)
    async with uow:
        refund = await initiate_within(uow, cmd, now=now, window_days=window_days)
        await uow.commit()
    return refund


async def initiate_within(
    uow: UnitOfWork, cmd: InitiateRefund, *, now: datetime, window_days: int
) -> Refund:
    """The refund inside a unit of work the caller has begun and commits (a batch's item is
    marked applied in the same database transaction: domain/use_cases/refund_batches.py)."""
    if cmd.idempotency_key is not None:
        claim = await uow.idempotency.claim(cmd.merchant_id, cmd.idempotency_key, cmd.fingerprint())
        if not claim.fresh:
            return await _replay(uow, cmd, claim)
    return await _create(uow, cmd, now=now, window_days=window_days)


async def _replay(uow: UnitOfWork, cmd: InitiateRefund, claim: IdempotencyClaim) -> Refund:
    if claim.request_hash != cmd.fingerprint():
        raise IdempotencyKeyReused(
            "This idempotency key was already used for a different refund request; "
            "use a new key for a new request."
        )
    refund = await uow.refunds.get(cmd.merchant_id, claim.refund_id) if claim.refund_id else None
    if refund is None:
        raise IdempotencyKeyInUse("A request with this idempotency key is still running.")
    return refund


async def _create(
    uow: UnitOfWork, cmd: InitiateRefund, *, now: datetime, window_days: int
) -> Refund:
    transaction = await uow.transactions.lock(cmd.merchant_id, cmd.transaction_id)
    if transaction is None:
        raise TransactionNotFound("No transaction of yours has that id.")
    held, merchant = await uow.refunds.held_amount_and_merchant(cmd.merchant_id, transaction.id)
    assert merchant is not None  # the caller is an authenticated merchant
    refund, change, holds_for = _decide(cmd, transaction, held, merchant, now, window_days)
    if await _store(uow, cmd, refund, change, holds_for):
        return refund
    # The balance moved past what the decision depends on since it was read: decide again on
    # the row locked, where it cannot move.
    merchant = await uow.merchants.lock(cmd.merchant_id)
    assert merchant is not None
    refund, change, holds_for = _decide(cmd, transaction, held, merchant, now, window_days)
    stored = await _store(uow, cmd, refund, change, holds_for)
    assert stored, "a locked balance cannot have moved"
    return refund


def _decide(
    cmd: InitiateRefund,
    transaction: Transaction,
    held: int,
    merchant: Merchant,
    now: datetime,
    window_days: int,
) -> tuple[Refund, RefundStatusChanged, BalanceRange]:
    """The refund, its first event, and the balances for which both stay what they are."""
    amount = eligibility.amount_to_refund(
        transaction,
        held=held,
        requested=cmd.amount,
        balance_currency=merchant.currency,
        now=now,
        window_days=window_days,
    )
    status = refund_states.initial_status(
        balance_covers_it=merchant.balance >= amount,
        queue_if_insufficient=cmd.queue_if_insufficient_balance,
    )
    if status is None:
        raise InsufficientBalance(shortfall_message(merchant.balance, amount, merchant.currency))
    refund = _new_refund(cmd, transaction, amount, status, now)
    if status is RefundStatus.PENDING:
        return refund, refund_states.created(status), BalanceRange(at_least=amount)
    # ON_HOLD: its message quotes the balance
    message = shortfall_message(merchant.balance, amount, merchant.currency)
    exactly = BalanceRange(at_least=merchant.balance, at_most=merchant.balance)
    return refund, refund_states.created(status, message), exactly


async def _store(
    uow: UnitOfWork,
    cmd: InitiateRefund,
    refund: Refund,
    change: RefundStatusChanged,
    holds_for: BalanceRange,
) -> bool:
    debit = refund.amount if change.balance_effect is BalanceEffect.DEBIT else 0
    return await uow.refunds.create(
        refund, change, debit=debit, if_balance=holds_for, idempotency_key=cmd.idempotency_key
    )


def _new_refund(
    cmd: InitiateRefund,
    transaction: Transaction,
    amount: int,
    status: RefundStatus,
    now: datetime,
) -> Refund:
    destination = original_source(transaction.source)
    return Refund(
        id=uuid4(),
        merchant_id=cmd.merchant_id,
        transaction_id=transaction.id,
        amount=amount,
        currency=transaction.currency,
        status=status,
        reason=cmd.reason,
        notes=cmd.notes,
        metadata=cmd.metadata,
        speed_requested=cmd.speed,
        speed_processed=None,
        destination_kind=destination.kind,
        destination_display=destination.display,
        failure_code=None,
        failure_message=None,
        bank_reference=None,
        estimated_settlement_at=estimated_settlement(
            now, transaction.payment_method, destination.kind, cmd.speed
        ),
        created_at=now,
        updated_at=now,
        processed_at=None,
        initiated_by_key_id=cmd.initiated_by_key_id,
    )
