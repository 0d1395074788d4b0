"""The read side: lists with keyset pagination, counts, and the batched loads behind the API's
DataLoaders. Every query is scoped to one merchant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from db import rows
from db.connected import ConnectedReads
from db.repositories.merchants import MERCHANT_COLUMNS
from db.repositories.refunds import REFUND_COLUMNS
from db.tables import ledger_entries, merchants, refund_events, refunds, transactions
from domain.model import (
    RELEASED_STATUSES,
    LedgerEntry,
    Merchant,
    PaymentMethod,
    Refund,
    RefundEvent,
    RefundReason,
    RefundSpeed,
    RefundState,
    RefundStatus,
    Transaction,
    TransactionStatus,
)


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    status: TransactionStatus | None = None
    payment_method: PaymentMethod | None = None
    order_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    refund_state: RefundState | None = None


@dataclass(frozen=True, slots=True)
class RefundFilter:
    statuses: Sequence[RefundStatus] | None = None
    transaction_id: UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    order_id: str | None = None  # the order of the refund's transaction
    reasons: Sequence[RefundReason] | None = None
    speed: RefundSpeed | None = None  # as requested
    bank_reference: str | None = None  # the ARN / UTR a customer quotes


def _created_window(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    """`start` inclusive, `end` exclusive; either may be open."""
    window = []
    if start is not None:
        window.append(column >= start)
    if end is not None:
        window.append(column < end)
    return window


def _refund_state_is(merchant_id: UUID, state: RefundState) -> Any:
    """The transaction's refunded amount (its refunds that still hold money, as
    Transaction.refunded_amount) compared with its amount; read through ix_refunds_transaction."""
    r, t = refunds.c, transactions.c
    refunded = (
        select(func.coalesce(func.sum(r.amount), 0))
        .where(
            r.merchant_id == merchant_id,
            r.transaction_id == t.id,
            r.status.not_in([s.value for s in RELEASED_STATUSES]),
        )
        .scalar_subquery()
    )
    if state is RefundState.NONE:
        return refunded == 0
    if state is RefundState.FULL:
        return refunded >= t.amount
    return refunded.between(1, t.amount - 1)  # one subquery, where > and < would run two


async def _rows(conn: AsyncConnection, stmt: Select[Any]) -> Sequence[Any]:
    found: Sequence[Any] = (await conn.execute(stmt)).all()
    return found


# A keyset position: the (created_at, id) of the last row seen, or the ledger entry id.
NewestFirstKey = tuple[datetime, UUID]


class ReadQueries(ConnectedReads):
    async def _all(self, stmt: Select[Any]) -> Sequence[Any]:
        async with self._connected() as conn:
            return await _rows(conn, stmt)

    async def _scalar(self, stmt: Select[Any]) -> Any:
        if self.connection is not None:
            return (await self.connection.execute(stmt)).scalar_one()
        async with self.engine.connect() as conn:
            return (await conn.execute(stmt)).scalar_one()

    # -- merchants -------------------------------------------------------------------------

    async def merchant(self, merchant_id: UUID) -> Merchant | None:
        found = await self._all(select(*MERCHANT_COLUMNS).where(merchants.c.id == merchant_id))
        return rows.merchant(found[0]) if found else None

    async def ledger(
        self, merchant_id: UUID, *, limit: int, after: int | None
    ) -> Sequence[LedgerEntry]:
        stmt = select(*ledger_entries.c).where(ledger_entries.c.merchant_id == merchant_id)
        if after is not None:
            stmt = stmt.where(ledger_entries.c.id < after)
        stmt = stmt.order_by(ledger_entries.c.id.desc()).limit(limit)
        return [rows.ledger_entry(r) for r in await self._all(stmt)]

    async def ledger_count(self, merchant_id: UUID) -> int:
        stmt = select(func.count()).where(ledger_entries.c.merchant_id == merchant_id)
        return int(await self._scalar(stmt))

    # -- transactions ----------------------------------------------------------------------

    def _transactions_where(self, merchant_id: UUID, f: TransactionFilter) -> list[Any]:
        c = transactions.c
        where: list[Any] = [c.merchant_id == merchant_id]
        if f.status is not None:
            where.append(c.status == f.status.value)
        if f.payment_method is not None:
            where.append(c.payment_method == f.payment_method.value)
        if f.order_id is not None:
            where.append(c.order_id == f.order_id)
        where += _created_window(c.created_at, f.created_from, f.created_to)
        if f.refund_state is not None:
            where.append(_refund_state_is(merchant_id, f.refund_state))
        return where

    async def transactions(
        self, merchant_id: UUID, f: TransactionFilter, *, limit: int, after: NewestFirstKey | None
    ) -> Sequence[Transaction]:
        c = transactions.c
        stmt = select(*transactions.c).where(*self._transactions_where(merchant_id, f))
        if after is not None:
            stmt = stmt.where(tuple_(c.created_at, c.id) < tuple_(*after))
        stmt = stmt.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
        return [rows.transaction(r) for r in await self._all(stmt)]

    async def transaction_count(self, merchant_id: UUID, f: TransactionFilter) -> int:
        stmt = select(func.count()).where(*self._transactions_where(merchant_id, f))
        return int(await self._scalar(stmt.select_from(transactions)))

    async def transactions_by_id(
        self, merchant_id: UUID, ids: Sequence[UUID]
    ) -> list[Transaction | None]:
        stmt = select(*transactions.c).where(
            transactions.c.merchant_id == merchant_id, transactions.c.id.in_(ids)
        )
        found = {r.id: rows.transaction(r) for r in await self._all(stmt)}
        return [found.get(i) for i in ids]

    # -- refunds ---------------------------------------------------------------------------

    def _refunds_where(self, merchant_id: UUID, f: RefundFilter) -> list[Any]:
        c = refunds.c
        where: list[Any] = [c.merchant_id == merchant_id]
        if f.statuses:
            where.append(c.status.in_([s.value for s in f.statuses]))
        if f.transaction_id is not None:
            where.append(c.transaction_id == f.transaction_id)
        where += _created_window(c.created_at, f.created_from, f.created_to)
        if f.order_id is not None:
            t = transactions.c
            of_order = select(t.id).where(t.merchant_id == merchant_id, t.order_id == f.order_id)
            where.append(c.transaction_id.in_(of_order))
        if f.reasons:
            where.append(c.reason.in_([r.value for r in f.reasons]))
        if f.speed is not None:
            where.append(c.speed_requested == f.speed.value)
        if f.bank_reference is not None:
            where.append(c.bank_reference == f.bank_reference)
        return where

    async def refunds(
        self, merchant_id: UUID, f: RefundFilter, *, limit: int, after: NewestFirstKey | None
    ) -> Sequence[Refund]:
        c = refunds.c
        stmt = select(*REFUND_COLUMNS).where(*self._refunds_where(merchant_id, f))
        if after is not None:
            stmt = stmt.where(tuple_(c.created_at, c.id) < tuple_(*after))
        stmt = stmt.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
        return [rows.refund(r) for r in await self._all(stmt)]

    async def refund_count(self, merchant_id: UUID, f: RefundFilter) -> int:
        stmt = select(func.count()).where(*self._refunds_where(merchant_id, f))
        return int(await self._scalar(stmt.select_from(refunds)))

    async def refunds_by_id(self, merchant_id: UUID, ids: Sequence[UUID]) -> list[Refund | None]:
        stmt = select(*REFUND_COLUMNS).where(
            refunds.c.merchant_id == merchant_id, refunds.c.id.in_(ids)
        )
        found = {r.id: rows.refund(r) for r in await self._all(stmt)}
        return [found.get(i) for i in ids]

    async def refunds_by_transaction(
        self, merchant_id: UUID, transaction_ids: Sequence[UUID]
    ) -> list[list[Refund]]:
        """Each transaction's refunds, newest first."""
        c = refunds.c
        stmt = (
            select(*REFUND_COLUMNS)
            .where(c.merchant_id == merchant_id, c.transaction_id.in_(transaction_ids))
            .order_by(c.created_at.desc(), c.id.desc())
        )
        grouped: dict[UUID, list[Refund]] = defaultdict(list)
        for r in await self._all(stmt):
            grouped[r.transaction_id].append(rows.refund(r))
        return [grouped.get(i, []) for i in transaction_ids]

    async def events_by_refund(
        self, merchant_id: UUID, refund_ids: Sequence[UUID]
    ) -> list[list[RefundEvent]]:
        """Each refund's status history, oldest first."""
        c = refund_events.c
        stmt = (
            select(*refund_events.c)
            .where(c.merchant_id == merchant_id, c.refund_id.in_(refund_ids))
            .order_by(c.id)
        )
        grouped: dict[UUID, list[RefundEvent]] = defaultdict(list)
        for r in await self._all(stmt):
            grouped[r.refund_id].append(rows.refund_event(r))
        return [grouped.get(i, []) for i in refund_ids]
