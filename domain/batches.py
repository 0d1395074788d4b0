"""Refund batches: many refunds asked at once, each item applied later, in the background,
exactly like one initiateRefund with its own idempotency key (domain/use_cases/refund_batches.py).

A batch is accepted or refused whole on its shape (1 to MAX_ITEMS items, each naming its payment
once, each passing initiateRefund's checks that need no database); the rules that need the
database (refundable amount, balance, status of the payment) are applied item by item, and a
refused item does not stop the others."""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from uuid import UUID

from domain.errors import DomainError
from domain.model import RefundReason, RefundSpeed

MAX_ITEMS = 10_000
# Lanes applying a batch's items at once; one payment's items always share a lane. One: every
# item locks the merchant's balance row, so lanes only queue for it, and eight of them, each
# holding it for ITEMS_PER_COMMIT items (processor/batches.py), kept the refund processor waiting
# past the statement timeout under load (bench/BATCHES.md).
LANES = 1


class RefundBatchBusy(Exception):  # noqa: N818 (a condition, not a fault)
    """A cancellation held the batch's row past the lock timeout: the applier leaves the
    batch to it (an expected race, not a fault)."""


class RefundBatchStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class RefundBatchItemStatus(enum.StrEnum):
    PENDING = "PENDING"
    CREATED = "CREATED"
    REFUSED = "REFUSED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class BatchItemInput:
    """One item as the client gave it: its payment named by `transaction` (the public id, kept
    as given; `transaction_id` is what it decodes to, None when it names nothing, which is
    refused when applied, as initiateRefund refuses it) or by `order_id`."""

    transaction: str | None
    transaction_id: UUID | None
    order_id: str | None
    amount: int | None
    reason: RefundReason
    speed: RefundSpeed = RefundSpeed.NORMAL
    notes: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class SubmitRefundBatch:
    merchant_id: UUID
    items: tuple[BatchItemInput, ...]
    idempotency_key: str
    queue_if_insufficient_balance: bool = False
    initiated_by_key_id: UUID | None = None

    def fingerprint(self) -> str:
        """A hash of everything that defines the batch, to recognise a resubmission."""
        canonical = json.dumps(
            {
                "items": [asdict(item) for item in self.items],
                "queue": self.queue_if_insufficient_balance,
            },
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class RefundBatch:
    id: UUID
    merchant_id: UUID
    status: RefundBatchStatus
    total: int
    created: int
    refused: int
    cancelled: int
    queue_if_insufficient_balance: bool
    initiated_by_key_id: UUID | None
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ItemError:
    code: str
    field: tuple[str, ...] | None
    message: str

    @classmethod
    def of(cls, error: DomainError) -> ItemError:
        return cls(error.code.value, error.field, error.message)


@dataclass(frozen=True, slots=True)
class RefundBatchItem:
    batch_id: UUID
    merchant_id: UUID
    index: int
    status: RefundBatchItemStatus
    item: BatchItemInput
    idempotency_key: str  # given, or derived from the batch's key and the index
    refund_id: UUID | None
    error: ItemError | None


@dataclass(frozen=True, slots=True)
class PendingItem:
    """An item about to be applied, with what its batch says about all its items."""

    item: RefundBatchItem
    queue_if_insufficient_balance: bool
    initiated_by_key_id: UUID | None


def item_idempotency_key(batch_key: str, index: int, given: str | None) -> str:
    """The item's own key: the one given, or one derived from the batch's key and the item's
    index (a digest, so that it stays within initiateRefund's 255 characters)."""
    if given is not None:
        return given
    return f"batch-{hashlib.sha256(batch_key.encode()).hexdigest()[:40]}-{index}"


def lane_of(item: BatchItemInput) -> int:
    """Which of the batch's lanes applies the item: by its payment, so that one payment's items
    are applied one after another, in the batch's order."""
    named = f"t:{item.transaction}" if item.transaction is not None else f"o:{item.order_id}"
    return int.from_bytes(hashlib.sha256(named.encode()).digest()[:4], "big") % LANES
