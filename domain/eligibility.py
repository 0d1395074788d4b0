"""Whether a transaction can be refunded, and by how much."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from domain.errors import (
    AmountExceedsRefundable,
    CurrencyMismatch,
    RefundWindowExpired,
    TransactionNotRefundable,
)
from domain.model import Refund, Transaction, TransactionStatus
from domain.money import check_minor_units

DEFAULT_REFUND_WINDOW_DAYS = 180


def held_amount(refunds: Iterable[Refund]) -> int:
    """What a transaction's refunds hold of it: those not FAILED, CANCELLED or REVERSED."""
    return sum(r.amount for r in refunds if r.holds_money)


def refundable_amount(transaction: Transaction, held: int) -> int:
    """What is left to refund: the amount less refunds that still hold money; 0 when the
    transaction did not succeed."""
    if transaction.status is not TransactionStatus.SUCCESS:
        return 0
    return max(transaction.amount - held, 0)


def amount_to_refund(
    transaction: Transaction,
    *,
    held: int,
    requested: int | None,
    balance_currency: str,
    now: datetime,
    window_days: int,
) -> int:
    """The amount a new refund will carry, or the error that refuses it.

    `requested=None` means everything still refundable."""
    if transaction.status is not TransactionStatus.SUCCESS:
        raise TransactionNotRefundable(
            f"Only successful transactions can be refunded; this one is {transaction.status}."
        )
    deadline = transaction.created_at + timedelta(days=window_days)
    if now > deadline:
        raise RefundWindowExpired(
            f"The refund window of {window_days} days for this transaction closed at "
            f"{deadline.isoformat()}."
        )
    if transaction.currency != balance_currency:
        raise CurrencyMismatch(
            f"The transaction is in {transaction.currency} but the recharge balance is in "
            f"{balance_currency}; refunds are paid from the balance.",
            field=("input", "transactionId"),
        )
    remaining = refundable_amount(transaction, held)
    amount = remaining if requested is None else check_minor_units(requested)
    if remaining == 0:
        raise AmountExceedsRefundable(
            f"Nothing is left to refund: {held} of {transaction.amount} is already refunded "
            "or on its way.",
            field=("input", "amount"),
        )
    if amount > remaining:
        raise AmountExceedsRefundable(
            f"At most {remaining} can still be refunded on this transaction (amount "
            f"{transaction.amount}, {held} already refunded or on its way); asked {amount}.",
            field=("input", "amount"),
        )
    return amount
