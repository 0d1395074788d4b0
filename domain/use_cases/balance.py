"""Applying a refund's status change to the merchant's recharge balance and ledger.

Every change that moves money writes exactly one ledger entry in the same database transaction
as the status change, so that the balance always equals the sum of the ledger."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from domain.errors import InsufficientBalance
from domain.model import LedgerEntryKind, Merchant, Refund
from domain.ports import UnitOfWork
from domain.refund_states import BalanceEffect, RefundStatusChanged


def shortfall_message(balance: int, amount: int, currency: str) -> str:
    return (
        f"The recharge balance is {balance} {currency} minor units; this refund needs {amount}, "
        f"a shortfall of {amount - balance}. Recharge, or ask to queue the refund."
    )


async def record_change(
    uow: UnitOfWork, merchant: Merchant, refund: Refund, change: RefundStatusChanged, at: datetime
) -> Merchant:
    """Store the event and apply its balance effect. `merchant` must be locked by the caller.

    Returns the merchant with its new balance."""
    await uow.events.append(refund, change, at)
    if change.balance_effect is BalanceEffect.NONE:
        return merchant
    if change.balance_effect is BalanceEffect.DEBIT:
        if merchant.balance < refund.amount:
            raise InsufficientBalance(
                shortfall_message(merchant.balance, refund.amount, merchant.currency)
            )
        kind, balance = LedgerEntryKind.REFUND_DEBIT, merchant.balance - refund.amount
    else:
        kind, balance = LedgerEntryKind.REFUND_REVERSAL, merchant.balance + refund.amount
    entry_id = await uow.merchants.set_balance(merchant.id, balance)
    await uow.ledger.append(
        merchant.id, entry_id, kind, refund.amount, balance, refund_id=refund.id
    )
    return replace(merchant, balance=balance)
