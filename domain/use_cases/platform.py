"""The platform operator's use cases: merchants, recorded payments and recharges."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID, uuid4

from domain import refund_states
from domain.cards import mask_card_numbers
from domain.errors import InvalidInput, MerchantNotFound, TransactionConflict
from domain.model import (
    ApiKeyScope,
    LedgerEntryKind,
    Merchant,
    PaymentMethod,
    RefundStatus,
    Transaction,
    TransactionStatus,
)
from domain.money import check_minor_units, is_currency_code
from domain.ports import UnitOfWork
from domain.use_cases.api_keys import FIRST_KEY_NAME, issue_key
from domain.use_cases.balance import record_change

NAME_MAX = 200
TEXT_MAX = 255


def _text(value: str, field: str, max_length: int = TEXT_MAX) -> str:
    cleaned = value.strip()
    if not cleaned or len(cleaned) > max_length:
        raise InvalidInput(f"{field} must be 1 to {max_length} characters.", field=("input", field))
    return cleaned


def _currency(code: str) -> str:
    if not is_currency_code(code):
        raise InvalidInput(
            f"{code!r} is not an ISO 4217 currency code such as INR.", field=("input", "currency")
        )
    return code


async def create_merchant(uow: UnitOfWork, name: str, currency: str) -> tuple[Merchant, str]:
    """Create a merchant and its first API key; the key is returned once and stored hashed."""
    name = _text(name, "name", NAME_MAX)
    currency = _currency(currency)
    async with uow:
        merchant = await uow.merchants.add(name, currency)
        _, secret = await issue_key(uow, merchant.id, FIRST_KEY_NAME, ApiKeyScope.FULL)
        await uow.commit()
    return merchant, secret


@dataclass(frozen=True, slots=True)
class RecordTransaction:
    merchant_id: UUID
    reference: str
    order_id: str
    amount: int
    currency: str
    status: TransactionStatus
    payment_method: PaymentMethod
    source: str
    created_at: datetime


def _new_transaction(cmd: RecordTransaction) -> Transaction:
    return Transaction(
        id=uuid4(),
        merchant_id=cmd.merchant_id,
        reference=_text(cmd.reference, "reference"),
        order_id=_text(cmd.order_id, "orderId"),
        amount=check_minor_units(cmd.amount),
        currency=_currency(cmd.currency),
        status=cmd.status,
        payment_method=cmd.payment_method,
        source=mask_card_numbers(_text(cmd.source, "source")),
        created_at=cmd.created_at,
    )


def _same_payment(a: Transaction, b: Transaction) -> bool:
    """True when two records describe the same payment (ids and timestamps aside)."""
    return replace(a, id=b.id, created_at=b.created_at) == b


async def record_transaction(uow: UnitOfWork, cmd: RecordTransaction) -> Transaction:
    """Record a payment. The same reference with the same data returns the stored one."""
    candidate = _new_transaction(cmd)
    async with uow:
        if await uow.merchants.get(cmd.merchant_id) is None:
            raise MerchantNotFound("No merchant has that id.")
        stored = await uow.transactions.add(candidate)
        if stored is None:
            stored = await uow.transactions.by_reference(cmd.merchant_id, candidate.reference)
            assert stored is not None  # the insert conflicted on this very reference
            if not _same_payment(candidate, stored):
                raise TransactionConflict(
                    f"Reference {candidate.reference!r} is already recorded with different "
                    "data; a reference names one payment."
                )
        await uow.commit()
    return stored


async def recharge_balance(
    uow: UnitOfWork, merchant_id: UUID, amount: int, reference: str, now: datetime
) -> Merchant:
    """Credit the recharge balance, then release ON_HOLD refunds oldest first while it covers
    them. A reference already used for the same amount changes nothing (safe to retry)."""
    amount = check_minor_units(amount)
    reference = _text(reference, "reference")
    async with uow:
        merchant = await uow.merchants.lock(merchant_id)
        if merchant is None:
            raise MerchantNotFound("No merchant has that id.")
        earlier = await uow.ledger.recharge_by_reference(merchant_id, reference)
        if earlier is not None:
            if earlier.amount != amount:
                raise InvalidInput(
                    f"Recharge reference {reference!r} was already used for {earlier.amount}.",
                    field=("input", "reference"),
                )
            return merchant
        balance = merchant.balance + amount
        entry_id = await uow.merchants.set_balance(merchant_id, balance)
        await uow.ledger.append(
            merchant_id, entry_id, LedgerEntryKind.RECHARGE, amount, balance, reference=reference
        )
        merchant = replace(merchant, balance=balance)
        merchant = await release_held_refunds(uow, merchant, now)
        await uow.commit()
    return merchant


async def release_held_refunds(uow: UnitOfWork, merchant: Merchant, now: datetime) -> Merchant:
    """Move ON_HOLD refunds to PENDING, oldest first, stopping at the first one the balance
    cannot cover (strict order: a large old refund is not starved by small new ones)."""
    for refund in await uow.refunds.on_hold_oldest_first(merchant.id):
        if refund.amount > merchant.balance:
            break
        change = refund_states.transition(
            refund.status, RefundStatus.PENDING, message="Released by a recharge."
        )
        refund = await uow.refunds.set_status(refund, change, now)
        merchant = await record_change(uow, merchant, refund, change, now)
    return merchant
