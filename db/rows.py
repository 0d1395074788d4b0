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
    return refund_record(row._mapping)


def refund_event(row: Any) -> RefundEvent:
    return refund_event_record(row._mapping)


def ledger_entry(row: Any) -> LedgerEntry:
    return ledger_entry_record(row._mapping)


# By column name: asyncpg records (db/statements.py, db/pooled_reads.py) as they are, SQLAlchemy
# rows through `row._mapping` (above), so that each entity's columns are listed once.


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


def refund_record(r: Any) -> Refund:
    speed_processed = r["speed_processed"]
    return Refund(
        id=r["id"],
        merchant_id=r["merchant_id"],
        transaction_id=r["transaction_id"],
        amount=r["amount"],
        currency=r["currency"],
        status=RefundStatus(r["status"]),
        reason=RefundReason(r["reason"]),
        notes=r["notes"],
        metadata=r["metadata"],
        speed_requested=RefundSpeed(r["speed_requested"]),
        speed_processed=RefundSpeed(speed_processed) if speed_processed else None,
        destination_kind=DestinationKind(r["destination_kind"]),
        destination_display=r["destination_display"],
        failure_code=r["failure_code"],
        failure_message=r["failure_message"],
        bank_reference=r["bank_reference"],
        estimated_settlement_at=r["estimated_settlement_at"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        processed_at=r["processed_at"],
        initiated_by_key_id=r["initiated_by_key_id"],
    )


def refund_event_record(r: Any) -> RefundEvent:
    return RefundEvent(
        r["id"], r["refund_id"], RefundStatus(r["status"]), r["at"], r["message"], r["failure_code"]
    )
