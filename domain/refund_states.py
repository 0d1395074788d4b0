"""The refund state machine: one table decides every legal status change, and what each change
does to the merchant's recharge balance.

    ON_HOLD ──recharge──▶ PENDING ──claim──▶ PROCESSING ──▶ PROCESSED ──bank return──▶ REVERSED
       │                   ▲  │                 │  │
       │                   │  │                 │  └──▶ FAILED (money back)
       │     new account   │  │                 └─────▶ ACTION_REQUIRED ──┐
       ▼                   └──┼──────────────────────────────────────────┘
    CANCELLED ◀───────────────┴──── (from PENDING, ON_HOLD, ACTION_REQUIRED)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from domain.errors import IllegalTransition
from domain.model import RefundStatus as S


class BalanceEffect(enum.Enum):
    """What a status change does to the merchant's recharge balance."""

    NONE = "NONE"
    DEBIT = "DEBIT"  # the refund's amount leaves the balance (REFUND_DEBIT)
    CREDIT_BACK = "CREDIT_BACK"  # the refund's amount returns to the balance (REFUND_REVERSAL)


INITIAL_STATUSES = frozenset({S.PENDING, S.ON_HOLD})

# (from, to) -> effect on the balance. A pair not in this table is not a legal change.
TRANSITIONS: dict[tuple[S, S], BalanceEffect] = {
    (S.ON_HOLD, S.PENDING): BalanceEffect.DEBIT,
    (S.ON_HOLD, S.CANCELLED): BalanceEffect.NONE,  # never debited
    (S.PENDING, S.PROCESSING): BalanceEffect.NONE,
    (S.PENDING, S.CANCELLED): BalanceEffect.CREDIT_BACK,
    (S.PROCESSING, S.PROCESSED): BalanceEffect.NONE,
    (S.PROCESSING, S.FAILED): BalanceEffect.CREDIT_BACK,
    (S.PROCESSING, S.ACTION_REQUIRED): BalanceEffect.NONE,  # money stays reserved
    (S.ACTION_REQUIRED, S.PENDING): BalanceEffect.NONE,
    (S.ACTION_REQUIRED, S.CANCELLED): BalanceEffect.CREDIT_BACK,
    (S.PROCESSED, S.REVERSED): BalanceEffect.CREDIT_BACK,
}

CANCELLABLE_STATUSES = frozenset(frm for (frm, to) in TRANSITIONS if to is S.CANCELLED)
TERMINAL_STATUSES = frozenset(s for s in S if not any(frm is s for (frm, _) in TRANSITIONS))


@dataclass(frozen=True, slots=True)
class RefundStatusChanged:
    """A refund moved from one status to another (stored as a RefundEvent, pushed live)."""

    previous: S | None
    status: S
    balance_effect: BalanceEffect
    message: str | None = None
    failure_code: str | None = None


def initial_status(*, balance_covers_it: bool, queue_if_insufficient: bool) -> S | None:
    """The status a new refund starts in, or None when it must be refused for lack of balance."""
    if balance_covers_it:
        return S.PENDING
    return S.ON_HOLD if queue_if_insufficient else None


def created(status: S, message: str | None = None) -> RefundStatusChanged:
    """The first event of a refund; a PENDING start debits the balance, ON_HOLD does not."""
    if status not in INITIAL_STATUSES:
        raise IllegalTransition(f"A refund cannot start in {status}.")
    effect = BalanceEffect.DEBIT if status is S.PENDING else BalanceEffect.NONE
    return RefundStatusChanged(None, status, effect, message)


def transition(
    current: S, to: S, *, message: str | None = None, failure_code: str | None = None
) -> RefundStatusChanged:
    """Check that `current -> to` is legal and return the change with its balance effect."""
    effect = TRANSITIONS.get((current, to))
    if effect is None:
        raise IllegalTransition(f"A refund cannot go from {current} to {to}.")
    return RefundStatusChanged(current, to, effect, message, failure_code)


def is_legal(current: S | None, to: S) -> bool:
    """True when the table allows `current -> to` (None means the refund is being created)."""
    if current is None:
        return to in INITIAL_STATUSES
    return (current, to) in TRANSITIONS
