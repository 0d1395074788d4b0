"""The ports the use cases need. `db/` implements them over PostgreSQL; tests may too.

Every method that takes a lock says so: the use cases lock in one fixed order (transaction row,
then the merchant's balance row) so that concurrent requests never deadlock."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from domain.batches import (
    ItemError,
    PendingItem,
    RefundBatch,
    RefundBatchStatus,
    SubmitRefundBatch,
)
from domain.destinations import Destination
from domain.model import (
    ApiKey,
    ApiKeyScope,
    LedgerEntry,
    LedgerEntryKind,
    Merchant,
    Refund,
    RefundSpeed,
    Transaction,
)
from domain.refund_states import RefundStatusChanged
from domain.webhooks import WebhookEndpoint, WebhookEndpointStatus, WebhookEventType


class MerchantRepository(Protocol):
    async def add(self, name: str, currency: str) -> Merchant: ...
    async def get(self, merchant_id: UUID) -> Merchant | None: ...
    async def lock(self, merchant_id: UUID) -> Merchant | None:
        """Read the merchant with its balance row locked until the unit of work ends."""
        ...

    async def set_balance(self, merchant_id: UUID, balance: int) -> int:
        """Store the new balance of a locked merchant. Returns the id the ledger entry that
        records this change must take: each merchant's entries are numbered 1, 2, 3…"""
        ...

    async def set_time_zone(self, merchant_id: UUID, time_zone: str) -> bool:
        """Store the merchant's time zone; False (nothing stored) when the database does not
        know that zone."""
        ...


class ApiKeyRepository(Protocol):
    async def add(
        self, merchant_id: UUID, key_hash: str, prefix: str, name: str, scope: ApiKeyScope
    ) -> ApiKey: ...
    async def get(self, merchant_id: UUID, key_id: UUID) -> ApiKey | None: ...
    async def active_full_count(self, merchant_id: UUID) -> int: ...
    async def revoke(self, merchant_id: UUID, key_id: UUID, at: datetime) -> ApiKey:
        """Set `revoked_at` and announce it to every process (delivered at commit)."""
        ...


class TransactionRepository(Protocol):
    async def add(self, transaction: Transaction) -> Transaction | None:
        """Insert; None when the merchant already has a transaction with that reference."""
        ...

    async def by_reference(self, merchant_id: UUID, reference: str) -> Transaction | None: ...
    async def by_order(self, merchant_id: UUID, order_id: str) -> list[Transaction]:
        """The order's transactions, newest first."""
        ...

    async def lock(self, merchant_id: UUID, transaction_id: UUID) -> Transaction | None:
        """Read the transaction with its row locked until the unit of work ends."""
        ...


@dataclass(frozen=True, slots=True)
class BalanceRange:
    """The balances, both bounds included, for which a decision taken on a balance holds.
    `at_most` None: no upper bound."""

    at_least: int
    at_most: int | None = None


class RefundRepository(Protocol):
    async def create(
        self,
        refund: Refund,
        change: RefundStatusChanged,
        *,
        debit: int,
        if_balance: BalanceRange,
        idempotency_key: str | None,
    ) -> bool:
        """Lock the merchant's balance row; only if its balance then lies in `if_balance`,
        debit `debit` from it with its ledger entry (0: none), store the refund with `change`
        as its first event (announced once the unit of work commits) and make it the
        idempotency key's outcome (None: no key). False, with nothing written, when the balance
        lies outside."""
        ...

    async def get(self, merchant_id: UUID, refund_id: UUID) -> Refund | None: ...
    async def lock(self, merchant_id: UUID, refund_id: UUID) -> Refund | None:
        """Read the refund with its row locked until the unit of work ends."""
        ...

    async def held_amount_and_merchant(
        self, merchant_id: UUID, transaction_id: UUID
    ) -> tuple[int, Merchant | None]:
        """The sum of the transaction's refunds that still hold money (see RELEASED_STATUSES),
        and the merchant as it stands, in one read; nothing locked."""
        ...

    async def on_hold_oldest_first(self, merchant_id: UUID) -> Sequence[Refund]:
        """The merchant's ON_HOLD refunds, oldest first, locked."""
        ...

    async def set_status(
        self, refund: Refund, change: RefundStatusChanged, at: datetime
    ) -> Refund: ...

    async def set_destination(self, refund: Refund, destination: Destination) -> Refund: ...
    async def record_settlement(
        self,
        refund: Refund,
        bank_reference: str | None,
        speed_processed: RefundSpeed | None,
        at: datetime,
    ) -> Refund:
        """Store what the bank said when it paid: reference, the speed used, the time."""
        ...


class RefundEventRepository(Protocol):
    async def append(self, refund: Refund, change: RefundStatusChanged, at: datetime) -> None:
        """Store the change and announce it to live subscribers once the unit of work commits."""
        ...


class LedgerRepository(Protocol):
    async def append(
        self,
        merchant_id: UUID,
        entry_id: int,
        kind: LedgerEntryKind,
        amount: int,
        balance_after: int,
        *,
        refund_id: UUID | None = None,
        reference: str | None = None,
    ) -> LedgerEntry: ...

    async def recharge_by_reference(
        self, merchant_id: UUID, reference: str
    ) -> LedgerEntry | None: ...


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """The outcome of claiming an idempotency key.

    `fresh` is True when this request owns the key now; otherwise `request_hash` and
    `refund_id` are what the earlier request with the key stored."""

    fresh: bool
    request_hash: str
    refund_id: UUID | None


class IdempotencyRepository(Protocol):
    async def claim(self, merchant_id: UUID, key: str, request_hash: str) -> IdempotencyClaim:
        """Own the key for this unit of work, or report who owns it. Waits for a concurrent
        owner to finish; raises IdempotencyKeyInUse when that takes too long."""
        ...


class RefundBatchRepository(Protocol):
    async def add(self, batch_id: UUID, cmd: SubmitRefundBatch, request_hash: str) -> bool:
        """Store the batch and its items, due at once; False (nothing stored) when the merchant
        already has a batch with this idempotency key."""
        ...

    async def by_key(self, merchant_id: UUID, key: str) -> tuple[UUID, str] | None:
        """The id and request hash of the merchant's batch with this idempotency key."""
        ...

    async def get(self, merchant_id: UUID, batch_id: UUID) -> RefundBatch | None: ...
    async def lock(self, merchant_id: UUID, batch_id: UUID) -> RefundBatchStatus | None:
        """The batch's status, its row locked until the unit of work ends."""
        ...

    async def hold_running(self, merchant_id: UUID, batch_id: UUID) -> bool:
        """True when the batch is RUNNING, its row then held against a cancellation (which
        waits) until the unit of work ends; RefundBatchBusy when a cancellation holds it longer
        than the lock timeout."""
        ...

    async def lock_pending_items(
        self, merchant_id: UUID, batch_id: UUID, indexes: Sequence[int]
    ) -> dict[int, PendingItem]:
        """Those of the items that are PENDING, their rows locked in the order of their
        indexes, with their batch's settings."""
        ...

    async def item_created(
        self, merchant_id: UUID, batch_id: UUID, index: int, refund_id: UUID
    ) -> None: ...
    async def item_refused(
        self, merchant_id: UUID, batch_id: UUID, index: int, error: ItemError
    ) -> None:
        """Record the refusal, unless the item was cancelled meanwhile."""
        ...

    async def finish(
        self, merchant_id: UUID, batch_id: UUID, status: RefundBatchStatus, at: datetime
    ) -> None:
        """End a RUNNING batch: CANCELLED cancels its pending items first. Announces it as
        `progressed` does."""
        ...

    async def progressed(self, merchant_id: UUID, batch_id: UUID) -> None:
        """Tell the batch's followers, once this unit of work commits, that it moved."""
        ...

    async def has_pending(self, merchant_id: UUID, batch_id: UUID) -> bool: ...


class UnitOfWork(Protocol):
    """One database transaction. Leaving the block without `commit()` rolls everything back."""

    @property
    def merchants(self) -> MerchantRepository: ...
    @property
    def api_keys(self) -> ApiKeyRepository: ...
    @property
    def transactions(self) -> TransactionRepository: ...
    @property
    def refunds(self) -> RefundRepository: ...
    @property
    def events(self) -> RefundEventRepository: ...
    @property
    def ledger(self) -> LedgerRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def webhooks(self) -> WebhookRepository: ...
    @property
    def batches(self) -> RefundBatchRepository: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...
    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """What the block does is undone, alone, if it raises; the rest of the unit of work
        carries on."""
        ...


class WebhookRepository(Protocol):
    async def add(
        self,
        merchant_id: UUID,
        url: str,
        description: str | None,
        events: tuple[WebhookEventType, ...],
        secret: str,
    ) -> WebhookEndpoint: ...
    async def get(self, merchant_id: UUID, endpoint_id: UUID) -> WebhookEndpoint | None: ...
    async def update(
        self, merchant_id: UUID, endpoint_id: UUID, values: WebhookEndpointChange
    ) -> WebhookEndpoint | None: ...
    async def rotate(
        self, merchant_id: UUID, endpoint_id: UUID, secret: str, old_expires_at: datetime
    ) -> WebhookEndpoint | None:
        """The new secret signs from now on; the current one beside it until old_expires_at."""
        ...

    async def delete(self, merchant_id: UUID, endpoint_id: UUID) -> WebhookEndpoint | None:
        """Remove the endpoint and its deliveries."""
        ...

    async def redeliver(self, merchant_id: UUID, delivery_id: UUID) -> bool:
        """Make the delivery due now with a fresh schedule; False when there is none."""
        ...


@dataclass(frozen=True, slots=True)
class WebhookEndpointChange:
    """What updateWebhookEndpoint sets; None leaves a field as it is."""

    url: str | None = None
    events: tuple[WebhookEventType, ...] | None = None
    status: WebhookEndpointStatus | None = None
