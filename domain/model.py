"""The entities of the contract, as plain immutable values.

Repositories in `db/` build these from rows; the API builds GraphQL types from them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


class PaymentMethod(enum.StrEnum):
    UPI = "UPI"
    CARD = "CARD"
    NET_BANKING = "NET_BANKING"
    WALLET = "WALLET"


class TransactionStatus(enum.StrEnum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    PENDING = "PENDING"


class RefundStatus(enum.StrEnum):
    PENDING = "PENDING"
    ON_HOLD = "ON_HOLD"
    PROCESSING = "PROCESSING"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"
    ACTION_REQUIRED = "ACTION_REQUIRED"
    CANCELLED = "CANCELLED"
    REVERSED = "REVERSED"


# A refund in one of these no longer holds any of its transaction's amount, and its debit has
# been put back on the merchant's balance.
RELEASED_STATUSES = frozenset({RefundStatus.FAILED, RefundStatus.CANCELLED, RefundStatus.REVERSED})


class RefundState(enum.StrEnum):
    """How much of a transaction its refunds hold: nothing, some, or all of it."""

    NONE = "NONE"
    PARTIAL = "PARTIAL"
    FULL = "FULL"


class RefundReason(enum.StrEnum):
    CUSTOMER_REQUEST = "CUSTOMER_REQUEST"
    ORDER_CANCELLED = "ORDER_CANCELLED"
    FAILED_TRANSACTION = "FAILED_TRANSACTION"
    DUPLICATE_PAYMENT = "DUPLICATE_PAYMENT"
    PRODUCT_ISSUE = "PRODUCT_ISSUE"
    FRAUD = "FRAUD"
    OTHER = "OTHER"


class RefundSpeed(enum.StrEnum):
    NORMAL = "NORMAL"
    INSTANT = "INSTANT"


class DestinationKind(enum.StrEnum):
    ORIGINAL_SOURCE = "ORIGINAL_SOURCE"
    BANK_ACCOUNT = "BANK_ACCOUNT"
    UPI = "UPI"


class ApiKeyScope(enum.StrEnum):
    FULL = "FULL"  # reads and writes
    READ_ONLY = "READ_ONLY"  # queries and subscriptions only


class LedgerEntryKind(enum.StrEnum):
    RECHARGE = "RECHARGE"
    REFUND_DEBIT = "REFUND_DEBIT"
    REFUND_REVERSAL = "REFUND_REVERSAL"


@dataclass(frozen=True, slots=True)
class Merchant:
    id: UUID
    name: str
    currency: str
    balance: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Transaction:
    id: UUID
    merchant_id: UUID
    reference: str
    order_id: str
    amount: int
    currency: str
    status: TransactionStatus
    payment_method: PaymentMethod
    source: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Refund:
    id: UUID
    merchant_id: UUID
    transaction_id: UUID
    amount: int
    currency: str
    status: RefundStatus
    reason: RefundReason
    notes: str | None
    metadata: dict[str, Any] | None
    speed_requested: RefundSpeed
    speed_processed: RefundSpeed | None
    destination_kind: DestinationKind
    destination_display: str
    failure_code: str | None
    failure_message: str | None
    bank_reference: str | None
    estimated_settlement_at: datetime | None
    created_at: datetime
    updated_at: datetime
    processed_at: datetime | None
    initiated_by_key_id: UUID | None = None  # None: the platform made it

    @property
    def holds_money(self) -> bool:
        """True while the refund counts against its transaction's refundable amount."""
        return self.status not in RELEASED_STATUSES


@dataclass(frozen=True, slots=True)
class RefundEvent:
    id: int
    refund_id: UUID
    status: RefundStatus
    at: datetime
    message: str | None
    failure_code: str | None


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    id: int  # numbered within its merchant's ledger: 1, 2, 3…
    merchant_id: UUID
    kind: LedgerEntryKind
    amount: int
    balance_after: int
    refund_id: UUID | None
    reference: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A merchant's API key as it may be shown: never the key itself, only its prefix."""

    id: UUID
    merchant_id: UUID
    name: str
    prefix: str
    scope: ApiKeyScope
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
