"""The tables, as SQLModel models. They never leave `db/`: repositories turn rows into the
domain's values. Every table a merchant owns leads its primary key, unique constraints and
foreign keys with `merchant_id`, so that Citus can distribute it by merchant and keep a
merchant's rows, and the checks between them, on one node (db/distribution.py, docs/scaling.md).

Money columns are BIGINT minor units, and every money rule the database can hold is a CHECK
here as well as a rule in `domain/` (a bug in Python cannot make a balance negative)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from domain.batches import RefundBatchItemStatus, RefundBatchStatus
from domain.model import (
    ApiKeyScope,
    DestinationKind,
    LedgerEntryKind,
    PaymentMethod,
    RefundReason,
    RefundSpeed,
    RefundStatus,
    TransactionStatus,
)
from domain.webhooks import WebhookDeliveryStatus, WebhookEndpointStatus, WebhookEventType

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def one_of(column: str, values: type[Any]) -> str:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({listed})"


def _now_column() -> Any:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


def _money_column() -> Any:
    return Column(BigInteger, nullable=False)


def _merchant_key() -> Any:
    """The first column of a merchant-owned table's primary key."""
    return Column(ForeignKey("merchants.id"), primary_key=True, nullable=False)


def _same_merchant(owner: str, column: str, table: str) -> ForeignKeyConstraint:
    """A reference to another of the merchant's rows: (merchant_id, column) -> (merchant_id, id),
    so that it can never name another merchant's row, and Citus can check it on one node."""
    return ForeignKeyConstraint(
        ["merchant_id", column],
        [f"{table}.merchant_id", f"{table}.id"],
        name=f"fk_{owner}_{column}_{table}",
    )


class MerchantRow(SQLModel, table=True):
    __tablename__ = "merchants"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_never_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso4217"),
    )
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    name: str = Field(sa_column=Column(Text, nullable=False))
    currency: str = Field(sa_column=Column(Text, nullable=False))
    balance: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))
    # The id of the merchant's newest ledger entry: entries are numbered per merchant, so that
    # no id tells one merchant how much the others do.
    ledger_seq: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))
    created_at: datetime = Field(sa_column=_now_column())
    # Where the merchant's days begin and end (refundSummary's byDay): an IANA zone name.
    time_zone: str = Field(sa_column=Column(Text, nullable=False, server_default="Asia/Kolkata"))


class ApiKeyRow(SQLModel, table=True):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(one_of("scope", ApiKeyScope), name="scope_known"),
        CheckConstraint("length(name) BETWEEN 1 AND 100", name="name_length"),
    )
    merchant_id: UUID = Field(
        sa_column=Column(ForeignKey("merchants.id"), primary_key=True, nullable=False)
    )
    id: UUID = Field(sa_column=Column(Uuid, primary_key=True, default=uuid4))
    display_prefix: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False, server_default="Default"))
    scope: str = Field(sa_column=Column(Text, nullable=False, server_default="FULL"))
    created_at: datetime = Field(sa_column=_now_column())
    last_used_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))
    revoked_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))


class ApiKeyRouteRow(SQLModel, table=True):
    """Which merchant a presented key belongs to: a request names its key only. Platform-wide
    (a Citus reference table), so it has no foreign key to the merchant's `api_keys` row; the
    two are written in one transaction and never deleted (a key is revoked, not removed)."""

    __tablename__ = "api_key_routes"
    # SHA-256 of the secret; unique across merchants.
    key_hash: str = Field(sa_column=Column(Text, primary_key=True))
    merchant_id: UUID = Field(sa_column=Column(Uuid, nullable=False))
    key_id: UUID = Field(sa_column=Column(Uuid, nullable=False))


class TransactionRow(SQLModel, table=True):
    __tablename__ = "transactions"
    __table_args__ = (
        UniqueConstraint("merchant_id", "reference", name="uq_transactions_merchant_reference"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso4217"),
        CheckConstraint(one_of("status", TransactionStatus), name="status_known"),
        CheckConstraint(one_of("payment_method", PaymentMethod), name="payment_method_known"),
        # Newest first, keyset-paginated: (created_at, id) descending within a merchant.
        Index(
            "ix_transactions_merchant_newest",
            "merchant_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
        Index("ix_transactions_merchant_order", "merchant_id", "order_id"),
    )
    merchant_id: UUID = Field(sa_column=_merchant_key())
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    reference: str = Field(sa_column=Column(Text, nullable=False))
    order_id: str = Field(sa_column=Column(Text, nullable=False))
    amount: int = Field(sa_column=_money_column())
    currency: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    payment_method: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_now_column())


class RefundRow(SQLModel, table=True):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso4217"),
        CheckConstraint(one_of("status", RefundStatus), name="status_known"),
        CheckConstraint(one_of("reason", RefundReason), name="reason_known"),
        CheckConstraint(one_of("speed_requested", RefundSpeed), name="speed_requested_known"),
        CheckConstraint(one_of("destination_kind", DestinationKind), name="destination_known"),
        Index(
            "ix_refunds_merchant_newest", "merchant_id", text("created_at DESC"), text("id DESC")
        ),
        Index("ix_refunds_transaction", "merchant_id", "transaction_id"),
        # The list's filters (db/queries.py), each newest first within a merchant.
        Index(
            "ix_refunds_merchant_reason_newest",
            "merchant_id",
            "reason",
            text("created_at DESC"),
            text("id DESC"),
        ),
        Index(
            "ix_refunds_merchant_speed_newest",
            "merchant_id",
            "speed_requested",
            text("created_at DESC"),
            text("id DESC"),
        ),
        Index(
            "ix_refunds_merchant_bank_reference",
            "merchant_id",
            "bank_reference",
            postgresql_where=text("bank_reference IS NOT NULL"),
        ),
        Index(
            "ix_refunds_on_hold_queue",
            "merchant_id",
            "created_at",
            postgresql_where=text("status = 'ON_HOLD'"),
        ),
        # The processor's queue: claimable refunds by merchant and due time (db/claims.py).
        Index(
            "ix_refunds_due",
            "merchant_id",
            "next_attempt_at",
            postgresql_where=text("status IN ('PENDING', 'PROCESSING')"),
        ),
        # The key belongs to the refund's merchant, or the database refuses the row.
        ForeignKeyConstraint(
            ["merchant_id", "initiated_by_key_id"],
            ["api_keys.merchant_id", "api_keys.id"],
            name="fk_refunds_initiated_by_key_api_keys",
        ),
        _same_merchant("refunds", "transaction_id", "transactions"),
    )
    merchant_id: UUID = Field(sa_column=_merchant_key())
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    transaction_id: UUID = Field(sa_column=Column(Uuid, nullable=False))
    amount: int = Field(sa_column=_money_column())
    currency: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    notes: str | None = Field(sa_column=Column(Text))
    metadata_: dict[str, Any] | None = Field(sa_column=Column("metadata", JSONB))
    speed_requested: str = Field(sa_column=Column(Text, nullable=False))
    speed_processed: str | None = Field(sa_column=Column(Text))
    destination_kind: str = Field(sa_column=Column(Text, nullable=False))
    destination_display: str = Field(sa_column=Column(Text, nullable=False))
    # Unmasked alternate account or VPA, for the rails only. (In production: a vault token.)
    destination_details: dict[str, Any] | None = Field(sa_column=Column(JSONB))
    failure_code: str | None = Field(sa_column=Column(Text))
    failure_message: str | None = Field(sa_column=Column(Text))
    bank_reference: str | None = Field(sa_column=Column(Text))
    estimated_settlement_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))
    created_at: datetime = Field(sa_column=_now_column())
    updated_at: datetime = Field(sa_column=_now_column())
    processed_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))
    # Processing bookkeeping: attempts made, when the next is due, who holds the claim.
    attempts: int = Field(sa_column=Column(Integer, nullable=False, server_default="0"))
    next_attempt_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))
    claimed_by: str | None = Field(sa_column=Column(Text))
    claim_expires_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))
    initiated_by_key_id: UUID | None = Field(sa_column=Column(Uuid))


class RefundEventRow(SQLModel, table=True):
    __tablename__ = "refund_events"
    __table_args__ = (
        CheckConstraint(one_of("status", RefundStatus), name="status_known"),
        Index("ix_refund_events_refund", "merchant_id", "refund_id", "id"),
        _same_merchant("refund_events", "refund_id", "refunds"),
    )
    merchant_id: UUID = Field(sa_column=_merchant_key())
    # One numbering across merchants: the broker catches up by it (db/refund_changes.py).
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    refund_id: UUID = Field(sa_column=Column(Uuid, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = Field(sa_column=_now_column())
    message: str | None = Field(sa_column=Column(Text))
    failure_code: str | None = Field(sa_column=Column(Text))


class LedgerEntryRow(SQLModel, table=True):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("balance_after >= 0", name="balance_after_never_negative"),
        CheckConstraint(one_of("kind", LedgerEntryKind), name="kind_known"),
        # A refund is debited at most once and credited back at most once.
        CheckConstraint(
            "(kind = 'RECHARGE') = (refund_id IS NULL)", name="refund_entries_name_refund"
        ),
        Index(
            "uq_ledger_entries_refund_kind",
            "merchant_id",
            "refund_id",
            "kind",
            unique=True,
            postgresql_where=text("refund_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_entries_recharge_reference",
            "merchant_id",
            "reference",
            unique=True,
            postgresql_where=text("kind = 'RECHARGE'"),
        ),
        _same_merchant("ledger_entries", "refund_id", "refunds"),
    )
    # The primary key (merchant_id, id) also serves the ledger's pages, newest first.
    merchant_id: UUID = Field(sa_column=Column(ForeignKey("merchants.id"), primary_key=True))
    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    amount: int = Field(sa_column=_money_column())
    balance_after: int = Field(sa_column=_money_column())
    refund_id: UUID | None = Field(sa_column=Column(Uuid))
    reference: str | None = Field(sa_column=Column(Text))
    created_at: datetime = Field(sa_column=_now_column())


class IdempotencyKeyRow(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        Index("ix_idempotency_keys_created", "created_at"),
        _same_merchant("idempotency_keys", "refund_id", "refunds"),
    )
    merchant_id: UUID = Field(sa_column=Column(ForeignKey("merchants.id"), primary_key=True))
    key: str = Field(sa_column=Column(Text, primary_key=True))
    request_hash: str = Field(sa_column=Column(Text, nullable=False))
    refund_id: UUID | None = Field(sa_column=Column(Uuid))
    created_at: datetime = Field(sa_column=_now_column())


class WebhookEndpointRow(SQLModel, table=True):
    """A merchant's webhook receiver. The secrets sign, so they are kept as they are (in
    production: encrypted at rest by a key outside the database)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint(one_of("status", WebhookEndpointStatus), name="status_known"),
        CheckConstraint("length(url) BETWEEN 1 AND 2048", name="url_length"),
        CheckConstraint("cardinality(enabled_events) > 0", name="some_events"),
    )
    merchant_id: UUID = Field(sa_column=_merchant_key())
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    description: str | None = Field(sa_column=Column(Text))
    enabled_events: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    secret: str = Field(sa_column=Column(Text, nullable=False))
    # After rotation: the old secret, signing beside the new one until old_secret_expires_at.
    old_secret: str | None = Field(sa_column=Column(Text))
    old_secret_expires_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))
    # Since when every attempt has failed (None after a success): the endpoint is disabled
    # once this is REFUNDS_WEBHOOK_DISABLE_AFTER_DAYS old.
    failing_since: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))
    created_at: datetime = Field(sa_column=_now_column())


class WebhookDeliveryRow(SQLModel, table=True):
    """The outbox: one row per (status change, endpoint subscribed to it), written in the same
    transaction as the change (db/statements.py INSERT_REFUND_EVENT). The body is built from
    the stored refund event when sent (api/webhooks/payload.py)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(one_of("status", WebhookDeliveryStatus), name="status_known"),
        CheckConstraint(one_of("event_type", WebhookEventType), name="event_type_known"),
        # The dispatcher's queue (db/webhook_claims.py), like ix_refunds_due.
        Index(
            "ix_webhook_deliveries_due",
            "merchant_id",
            "next_attempt_at",
            postgresql_where=text("status IN ('PENDING', 'RETRYING')"),
        ),
        # A refund's later events wait for its earlier ones, per endpoint.
        Index(
            "ix_webhook_deliveries_refund",
            "merchant_id",
            "endpoint_id",
            "refund_id",
            "refund_event_id",
        ),
        Index(
            "ix_webhook_deliveries_endpoint_newest",
            "merchant_id",
            "endpoint_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
        ForeignKeyConstraint(
            ["merchant_id", "endpoint_id"],
            ["webhook_endpoints.merchant_id", "webhook_endpoints.id"],
            name="fk_webhook_deliveries_endpoint_id_webhook_endpoints",
            ondelete="CASCADE",
        ),
        _same_merchant("webhook_deliveries", "refund_id", "refunds"),
    )
    merchant_id: UUID = Field(sa_column=_merchant_key())
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    endpoint_id: UUID = Field(sa_column=Column(Uuid, nullable=False))
    event_id: str = Field(sa_column=Column(Text, nullable=False))  # the webhook-id header
    event_type: str = Field(sa_column=Column(Text, nullable=False))
    refund_id: UUID = Field(sa_column=Column(Uuid, nullable=False))
    refund_event_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False, server_default="PENDING"))
    attempts: int = Field(sa_column=Column(Integer, nullable=False, server_default="0"))
    last_response_status: int | None = Field(sa_column=Column(Integer))
    last_error: str | None = Field(sa_column=Column(Text))
    next_attempt_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))
    claimed_by: str | None = Field(sa_column=Column(Text))
    claim_expires_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))
    created_at: datetime = Field(sa_column=_now_column())
    delivered_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))


class RefundBatchRow(SQLModel, table=True):
    """A batch of refunds, applied item by item in the background (domain/batches.py). Claimed
    like refunds are (db/batch_claims.py): a RUNNING batch is due at `next_attempt_at`, which a
    claim moves to the lease's end. Its counts are read from its items, never stored twice."""

    __tablename__ = "refund_batches"
    __table_args__ = (
        UniqueConstraint("merchant_id", "idempotency_key", name="uq_refund_batches_merchant_key"),
        CheckConstraint(one_of("status", RefundBatchStatus), name="status_known"),
        CheckConstraint("total BETWEEN 1 AND 10000", name="total_in_range"),
        Index(
            "ix_refund_batches_merchant_newest",
            "merchant_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
        Index(
            "ix_refund_batches_due",
            "merchant_id",
            "next_attempt_at",
            postgresql_where=text("status = 'RUNNING'"),
        ),
        ForeignKeyConstraint(
            ["merchant_id", "initiated_by_key_id"],
            ["api_keys.merchant_id", "api_keys.id"],
            name="fk_refund_batches_initiated_by_key_api_keys",
        ),
    )
    merchant_id: UUID = Field(sa_column=_merchant_key())
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    idempotency_key: str = Field(sa_column=Column(Text, nullable=False))
    request_hash: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    total: int = Field(sa_column=Column(Integer, nullable=False))
    queue_if_insufficient_balance: bool = Field(sa_column=Column(Boolean, nullable=False))
    initiated_by_key_id: UUID | None = Field(sa_column=Column(Uuid))
    created_at: datetime = Field(sa_column=_now_column())
    completed_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))
    next_attempt_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))
    claimed_by: str | None = Field(sa_column=Column(Text))
    claim_expires_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))


class RefundBatchItemRow(SQLModel, table=True):
    """One item of a batch, as given, and what applying it gave: a refund or the userErrors."""

    __tablename__ = "refund_batch_items"
    __table_args__ = (
        CheckConstraint(one_of("status", RefundBatchItemStatus), name="status_known"),
        CheckConstraint(one_of("reason", RefundReason), name="reason_known"),
        CheckConstraint(one_of("speed", RefundSpeed), name="speed_known"),
        CheckConstraint("(transaction IS NULL) <> (order_id IS NULL)", name="one_payment"),
        CheckConstraint("amount IS NULL OR amount > 0", name="amount_positive"),
        CheckConstraint("(status = 'CREATED') = (refund_id IS NOT NULL)", name="created_refund"),
        # A lane's pending items in order: what the applier reads next (processor/batches.py).
        Index(
            "ix_refund_batch_items_pending",
            "merchant_id",
            "batch_id",
            "lane",
            "index",
            postgresql_where=text("status = 'PENDING'"),
        ),
        ForeignKeyConstraint(
            ["merchant_id", "batch_id"],
            ["refund_batches.merchant_id", "refund_batches.id"],
            name="fk_refund_batch_items_batch_id_refund_batches",
        ),
        _same_merchant("refund_batch_items", "refund_id", "refunds"),
    )
    merchant_id: UUID = Field(sa_column=_merchant_key())
    batch_id: UUID = Field(sa_column=Column(Uuid, primary_key=True))
    index: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    lane: int = Field(sa_column=Column(Integer, nullable=False))
    transaction: str | None = Field(sa_column=Column(Text))  # the public id, as given
    transaction_id: UUID | None = Field(sa_column=Column(Uuid))  # what it decodes to
    order_id: str | None = Field(sa_column=Column(Text))
    amount: int | None = Field(sa_column=Column(BigInteger))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    speed: str = Field(sa_column=Column(Text, nullable=False))
    notes: str | None = Field(sa_column=Column(Text))
    idempotency_key: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    refund_id: UUID | None = Field(sa_column=Column(Uuid))
    error_code: str | None = Field(sa_column=Column(Text))
    error_field: list[str] | None = Field(sa_column=Column(ARRAY(Text)))
    error_message: str | None = Field(sa_column=Column(Text))


merchants: Table = MerchantRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
api_keys: Table = ApiKeyRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
transactions: Table = TransactionRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
refunds: Table = RefundRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
refund_events: Table = RefundEventRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
api_key_routes: Table = ApiKeyRouteRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
ledger_entries: Table = LedgerEntryRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
idempotency_keys: Table = IdempotencyKeyRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
webhook_endpoints: Table = WebhookEndpointRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
webhook_deliveries: Table = WebhookDeliveryRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
refund_batches: Table = RefundBatchRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
refund_batch_items: Table = RefundBatchItemRow.__table__  # type: ignore[attr-defined]  # set by SQLModel


class SandboxSettlementRow(SQLModel, table=True):
    """The sandbox bank's memory, not the domain's: one row per payout it was asked for, keyed
    by the gateway idempotency key. It lives in PostgreSQL so that every process sees the same
    fake bank (a retried call after a crash finds the first answer here)."""

    __tablename__ = "sandbox_settlements"
    __table_args__ = (
        Index(
            "ix_sandbox_settlements_returns_due",
            "returns_at",
            postgresql_where=text("returns_at IS NOT NULL AND return_acknowledged_at IS NULL"),
        ),
    )
    idempotency_key: str = Field(sa_column=Column(Text, primary_key=True))
    refund_id: UUID = Field(sa_column=Column(Uuid, nullable=False))
    merchant_id: UUID = Field(sa_column=Column(Uuid, nullable=False))
    calls: int = Field(sa_column=Column(Integer, nullable=False, server_default="0"))
    transient_errors_left: int = Field(
        sa_column=Column(Integer, nullable=False, server_default="0")
    )
    outcome: str | None = Field(sa_column=Column(Text))  # SETTLED / ACTION_REQUIRED / REJECTED
    code: str | None = Field(sa_column=Column(Text))
    message: str | None = Field(sa_column=Column(Text))
    bank_reference: str | None = Field(sa_column=Column(Text))
    speed: str | None = Field(sa_column=Column(Text))
    created_at: datetime = Field(sa_column=_now_column())
    answered_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))
    returns_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))
    return_leased_until: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))
    return_acknowledged_at: datetime | None = Field(sa_column=Column(DateTime(timezone=True)))


sandbox_settlements: Table = SandboxSettlementRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
