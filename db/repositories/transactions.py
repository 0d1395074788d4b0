"""Recorded payment transactions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db import rows, statements
from db.tables import transactions
from domain.model import Transaction


class SqlTransactions:
    def __init__(self, conn: AsyncConnection, raw: Any) -> None:
        self.conn = conn
        self.raw = raw  # the asyncpg connection under `conn`, in its transaction

    async def add(self, transaction: Transaction) -> Transaction | None:
        stmt = (
            insert(transactions)
            .values(rows.values(transaction))
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

    async def lock(self, merchant_id: UUID, transaction_id: UUID) -> Transaction | None:
        record = await self.raw.fetchrow(statements.LOCK_TRANSACTION, merchant_id, transaction_id)
        return rows.transaction_record(record) if record else None
