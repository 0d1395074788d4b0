"""Recorded payment transactions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db import rows, statements
from db.tables import transactions
from domain.model import Merchant, Transaction
from domain.ports import LockedToRefund


class SqlTransactions:
    def __init__(self, conn: AsyncConnection, raw: Any) -> None:
        self.conn = conn
        self.raw = raw  # the asyncpg connection under `conn`, in its transaction

    async def add(self, transaction: Transaction) -> Transaction | None:
        values = {
            "id": transaction.id,
            "merchant_id": transaction.merchant_id,
            "reference": transaction.reference,
            "order_id": transaction.order_id,
            "amount": transaction.amount,
            "currency": transaction.currency,
            "status": transaction.status.value,
            "payment_method": transaction.payment_method.value,
            "source": transaction.source,
            "created_at": transaction.created_at,
        }
        stmt = (
            insert(transactions)
            .values(values)
            .on_conflict_do_nothing(index_elements=["merchant_id", "reference"])
            .returning(*transactions.c)
        )
        row = (await self.conn.execute(stmt)).one_or_none()
        return rows.transaction(row) if row else None

    async def by_reference(self, merchant_id: UUID, reference: str) -> Transaction | None:
        stmt = select(*transactions.c).where(
            transactions.c.merchant_id == merchant_id, transactions.c.reference == reference
        )
        row = (await self.conn.execute(stmt)).one_or_none()
        return rows.transaction(row) if row else None

    async def by_order(self, merchant_id: UUID, order_id: str) -> list[Transaction]:
        """The order's transactions, newest first."""
        c = transactions.c
        stmt = (
            select(*transactions.c)
            .where(c.merchant_id == merchant_id, c.order_id == order_id)
            .order_by(c.created_at.desc(), c.id.desc())
        )
        return [rows.transaction(r) for r in (await self.conn.execute(stmt)).all()]

    async def lock_to_refund(
        self, merchant_id: UUID, transaction_id: UUID
    ) -> LockedToRefund | None:
        record = await self.raw.fetchrow(
            statements.LOCK_TRANSACTION_TO_REFUND, merchant_id, transaction_id
        )
        if record is None:
            return None
        merchant = Merchant(
            merchant_id,
            record["merchant_name"],
            record["merchant_currency"],
            record["merchant_balance"],
            record["merchant_created_at"],
        )
        return LockedToRefund(rows.transaction_record(record), int(record["held"]), merchant)
