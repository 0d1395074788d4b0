"""Rows to domain values, used by repositories and read queries."""

from __future__ import annotations

from typing import Any

from domain.model import (
    DestinationKind,
    LedgerEntry,
    LedgerEntryKind,
    Merchant,
    PaymentMethod,
    Refund,
    RefundEvent,
    RefundReason,
    RefundSpeed,
    RefundStatus,
    Transaction,
    TransactionStatus,
)


def merchant(row: Any) -> Merchant:
    return merchant_record(row._mapping)


def transaction(row: Any) -> Transaction:
    return transaction_record(row._mapping)


def refund(row: Any) -> Refund:
    return Refund(
        id=row.id,
        merchant_id=row.merchant_id,
        transaction_id=row.transaction_id,
        amount=row.amount,
        currency=row.currency,
        status=RefundStatus(row.status),
        reason=RefundReason(row.reason),
        notes=row.notes,
        metadata=row.metadata,
        speed_requested=RefundSpeed(row.speed_requested),
        speed_processed=RefundSpeed(row.speed_processed) if row.speed_processed else None,
        destination_kind=DestinationKind(row.destination_kind),
        destination_display=row.destination_display,
        failure_code=row.failure_code,
        failure_message=row.failure_message,
        bank_reference=row.bank_reference,
        estimated_settlement_at=row.estimated_settlement_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        processed_at=row.processed_at,
        initiated_by_key_id=row.initiated_by_key_id,
    )


def refund_event(row: Any) -> RefundEvent:
    return RefundEvent(
        row.id, row.refund_id, RefundStatus(row.status), row.at, row.message, row.failure_code
    )


def ledger_entry(row: Any) -> LedgerEntry:
    return ledger_entry_record(row._mapping)


# By column name: asyncpg records (db/statements.py) as they are, SQLAlchemy rows through
# `row._mapping` (above), so that each entity's columns are listed once.


def merchant_record(r: Any) -> Merchant:
    return Merchant(r["id"], r["name"], r["currency"], r["balance"], r["created_at"])


def transaction_record(r: Any) -> Transaction:
    return Transaction(
        id=r["id"],
        merchant_id=r["merchant_id"],
        reference=r["reference"],
        order_id=r["order_id"],
        amount=r["amount"],
        currency=r["currency"],
        status=TransactionStatus(r["status"]),
        payment_method=PaymentMethod(r["payment_method"]),
        source=r["source"],
        created_at=r["created_at"],
    )


def ledger_entry_record(r: Any) -> LedgerEntry:
    return LedgerEntry(
        id=r["id"],
        merchant_id=r["merchant_id"],
        kind=LedgerEntryKind(r["kind"]),
        amount=r["amount"],
        balance_after=r["balance_after"],
        refund_id=r["refund_id"],
        reference=r["reference"],
        created_at=r["created_at"],
    )
