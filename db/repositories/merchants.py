"""Merchants and their recharge-balance ledger."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import column, insert, select, table, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db import rows, statements
from db.tables import ledger_entries, merchants
from domain.model import LedgerEntry, LedgerEntryKind, Merchant

# PostgreSQL's own list of the time zone names it knows
pg_timezone_names = table("pg_timezone_names", column("name"))

MERCHANT_COLUMNS = rows.columns(merchants, Merchant)


class SqlMerchants:
    def __init__(self, conn: AsyncConnection, raw: Any) -> None:
        self.conn = conn
        self.raw = raw  # the asyncpg connection under `conn`, in its transaction

    async def add(self, name: str, currency: str) -> Merchant:
        stmt = insert(merchants).values(name=name, currency=currency).returning(*MERCHANT_COLUMNS)
        return rows.merchant((await self.conn.execute(stmt)).one())

    async def get(self, merchant_id: UUID) -> Merchant | None:
        stmt = select(*MERCHANT_COLUMNS).where(merchants.c.id == merchant_id)
        row = (await self.conn.execute(stmt)).one_or_none()
        return rows.merchant(row) if row else None

    async def set_time_zone(self, merchant_id: UUID, time_zone: str) -> bool:
        known = select(pg_timezone_names.c.name).where(pg_timezone_names.c.name == time_zone)
        stmt = (
            update(merchants)
            .where(merchants.c.id == merchant_id, known.exists())
            .values(time_zone=time_zone)
            .returning(merchants.c.id)
        )
        return (await self.conn.execute(stmt)).one_or_none() is not None

    async def lock(self, merchant_id: UUID) -> Merchant | None:
        record = await self.raw.fetchrow(statements.LOCK_MERCHANT, merchant_id)
        return rows.merchant_record(record) if record else None

    async def set_balance(self, merchant_id: UUID, balance: int) -> int:
        entry_id: int = await self.raw.fetchval(statements.SET_BALANCE, merchant_id, balance)
        return entry_id


class SqlLedger:
    def __init__(self, conn: AsyncConnection, raw: Any) -> None:
        self.conn = conn
        self.raw = raw  # the asyncpg connection under `conn`, in its transaction

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
    ) -> LedgerEntry:
        record = await self.raw.fetchrow(
            statements.APPEND_LEDGER_ENTRY,
            merchant_id,
            entry_id,
            kind.value,
            amount,
            balance_after,
            refund_id,
            reference,
        )
        return rows.ledger_entry_record(record)

    async def recharge_by_reference(self, merchant_id: UUID, reference: str) -> LedgerEntry | None:
        stmt = select(*ledger_entries.c).where(
            ledger_entries.c.merchant_id == merchant_id,
            ledger_entries.c.kind == LedgerEntryKind.RECHARGE.value,
            ledger_entries.c.reference == reference,
        )
        row = (await self.conn.execute(stmt)).one_or_none()
        return rows.ledger_entry(row) if row else None
