"""Refund batches and their items: the unit of work's repository (submit, apply an item,
cancel) and the reads the API shows them with. A batch's counts are counted from its items."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, select, true, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.connected import ConnectedReads
from db.errors import is_lock_not_available
from db.notifications import REFUND_BATCH_PROGRESS_CHANNEL, REFUND_BATCHES_CHANNEL
from db.tables import refund_batch_items, refund_batches
from domain.batches import (
    BatchItemInput,
    ItemError,
    PendingItem,
    RefundBatch,
    RefundBatchBusy,
    RefundBatchItem,
    RefundBatchItemStatus,
    RefundBatchStatus,
    SubmitRefundBatch,
    item_idempotency_key,
    lane_of,
)
from domain.model import RefundReason, RefundSpeed

b = refund_batches.c
i = refund_batch_items.c

ITEM_COLUMNS = [
    "merchant_id",
    "batch_id",
    "index",
    "lane",
    "transaction",
    "transaction_id",
    "order_id",
    "amount",
    "reason",
    "speed",
    "notes",
    "idempotency_key",
    "status",
]


def _count(status: RefundBatchItemStatus) -> Any:
    return func.count().filter(i.status == status.value)


def batches_with_counts(merchant_id: UUID) -> Select[Any]:
    """The merchant's batches with their items counted by outcome (one aggregate over each
    batch's items)."""
    counts = (
        select(
            _count(RefundBatchItemStatus.CREATED).label("created"),
            _count(RefundBatchItemStatus.REFUSED).label("refused"),
            _count(RefundBatchItemStatus.CANCELLED).label("cancelled"),
        )
        .where(i.merchant_id == merchant_id, i.batch_id == b.id)
        .lateral("counts")
    )
    return (
        select(
            b.id,
            b.merchant_id,
            b.status,
            b.total,
            b.queue_if_insufficient_balance,
            b.initiated_by_key_id,
            b.created_at,
            b.completed_at,
            counts.c.created,
            counts.c.refused,
            counts.c.cancelled,
        )
        .select_from(refund_batches.join(counts, true()))
        .where(b.merchant_id == merchant_id)
    )


def batch(row: Any) -> RefundBatch:
    return RefundBatch(
        id=row.id,
        merchant_id=row.merchant_id,
        status=RefundBatchStatus(row.status),
        total=row.total,
        created=row.created,
        refused=row.refused,
        cancelled=row.cancelled,
        queue_if_insufficient_balance=row.queue_if_insufficient_balance,
        initiated_by_key_id=row.initiated_by_key_id,
        created_at=row.created_at,
        completed_at=row.completed_at,
    )


def item(row: Any) -> RefundBatchItem:
    error = None
    if row.error_code is not None:
        field = tuple(row.error_field) if row.error_field is not None else None
        error = ItemError(row.error_code, field, row.error_message)
    return RefundBatchItem(
        batch_id=row.batch_id,
        merchant_id=row.merchant_id,
        index=row._mapping["index"],  # Row.index is a tuple method
        status=RefundBatchItemStatus(row.status),
        item=BatchItemInput(
            transaction=row.transaction,
            transaction_id=row.transaction_id,
            order_id=row.order_id,
            amount=row.amount,
            reason=RefundReason(row.reason),
            speed=RefundSpeed(row.speed),
            notes=row.notes,
        ),
        idempotency_key=row.idempotency_key,
        refund_id=row.refund_id,
        error=error,
    )


def _this_item(merchant_id: UUID, batch_id: UUID, index: int) -> list[Any]:
    return [i.merchant_id == merchant_id, i.batch_id == batch_id, i.index == index]


class SqlRefundBatches:
    def __init__(self, conn: AsyncConnection, raw: Any) -> None:
        self.conn = conn
        self.raw = raw  # the asyncpg connection under `conn`, in its transaction

    async def add(self, batch_id: UUID, cmd: SubmitRefundBatch, request_hash: str) -> bool:
        """Store the batch and its items, due at once; False (nothing stored) when the merchant
        already has a batch with this idempotency key."""
        stmt = (
            insert(refund_batches)
            .values(
                merchant_id=cmd.merchant_id,
                id=batch_id,
                idempotency_key=cmd.idempotency_key,
                request_hash=request_hash,
                status=RefundBatchStatus.RUNNING.value,
                total=len(cmd.items),
                queue_if_insufficient_balance=cmd.queue_if_insufficient_balance,
                initiated_by_key_id=cmd.initiated_by_key_id,
                next_attempt_at=func.now(),
            )
            .on_conflict_do_nothing(index_elements=["merchant_id", "idempotency_key"])
            .returning(b.id)
        )
        if (await self.conn.execute(stmt)).one_or_none() is None:
            return False
        records = [
            (
                cmd.merchant_id,
                batch_id,
                index,
                lane_of(given),
                given.transaction,
                given.transaction_id,
                given.order_id,
                given.amount,
                given.reason.value,
                given.speed.value,
                given.notes,
                item_idempotency_key(cmd.idempotency_key, index, given.idempotency_key),
                RefundBatchItemStatus.PENDING.value,
            )
            for index, given in enumerate(cmd.items)
        ]
        # COPY: a batch's items in one round trip, however many (bench/BATCHES.md)
        await self.raw.copy_records_to_table(
            "refund_batch_items", records=records, columns=ITEM_COLUMNS
        )
        await self.raw.execute(
            "SELECT pg_notify($1, $2)", REFUND_BATCHES_CHANNEL, str(cmd.merchant_id)
        )
        return True

    async def by_key(self, merchant_id: UUID, key: str) -> tuple[UUID, str] | None:
        """The id and request hash of the merchant's batch with this idempotency key."""
        stmt = select(b.id, b.request_hash).where(
            b.merchant_id == merchant_id, b.idempotency_key == key
        )
        row = (await self.conn.execute(stmt)).one_or_none()
        return (row.id, row.request_hash) if row else None

    async def get(self, merchant_id: UUID, batch_id: UUID) -> RefundBatch | None:
        stmt = batches_with_counts(merchant_id).where(b.id == batch_id)
        row = (await self.conn.execute(stmt)).one_or_none()
        return batch(row) if row else None

    async def lock(self, merchant_id: UUID, batch_id: UUID) -> RefundBatchStatus | None:
        """The batch's status, its row locked until the unit of work ends."""
        stmt = (
            select(b.status).where(b.merchant_id == merchant_id, b.id == batch_id).with_for_update()
        )
        found = (await self.conn.execute(stmt)).scalar_one_or_none()
        return RefundBatchStatus(found) if found else None

    async def hold_running(self, merchant_id: UUID, batch_id: UUID) -> bool:
        """True when the batch is RUNNING, its row then held until the unit of work ends (FOR
        KEY SHARE: a lease renewal's UPDATE goes on, a cancellation's FOR UPDATE waits).
        It waits for a renewal or a cancellation under way to commit (NOWAIT would fail on a
        renewal's update in flight); RefundBatchBusy when the lock timeout runs out first."""
        stmt = (
            select(b.status)
            .where(b.merchant_id == merchant_id, b.id == batch_id)
            .with_for_update(key_share=True)
        )
        try:
            found = (await self.conn.execute(stmt)).scalar_one_or_none()
        except DBAPIError as error:
            if is_lock_not_available(error):
                raise RefundBatchBusy() from None
            raise
        return bool(found == RefundBatchStatus.RUNNING.value)

    async def lock_pending_items(
        self, merchant_id: UUID, batch_id: UUID, indexes: Sequence[int]
    ) -> dict[int, PendingItem]:
        """Those of the items that are PENDING, their rows locked in the order of their
        indexes, with their batch's settings."""
        stmt = (
            select(*refund_batch_items.c, b.queue_if_insufficient_balance, b.initiated_by_key_id)
            .join_from(
                refund_batch_items,
                refund_batches,
                (b.merchant_id == i.merchant_id) & (b.id == i.batch_id),
            )
            .where(
                i.merchant_id == merchant_id,
                i.batch_id == batch_id,
                i.index.in_(list(indexes)),
                i.status == RefundBatchItemStatus.PENDING.value,
            )
            .order_by(i.index)
            .with_for_update(of=refund_batch_items)
        )
        return {
            row._mapping["index"]: PendingItem(
                item(row), row.queue_if_insufficient_balance, row.initiated_by_key_id
            )
            for row in (await self.conn.execute(stmt)).all()
        }

    async def item_created(
        self, merchant_id: UUID, batch_id: UUID, index: int, refund_id: UUID
    ) -> None:
        stmt = (
            update(refund_batch_items)
            .where(*_this_item(merchant_id, batch_id, index))
            .values(status=RefundBatchItemStatus.CREATED.value, refund_id=refund_id)
        )
        await self.conn.execute(stmt)

    async def item_refused(
        self, merchant_id: UUID, batch_id: UUID, index: int, error: ItemError
    ) -> None:
        """Record the refusal, unless the item was cancelled meanwhile."""
        stmt = (
            update(refund_batch_items)
            .where(
                *_this_item(merchant_id, batch_id, index),
                i.status == RefundBatchItemStatus.PENDING.value,
            )
            .values(
                status=RefundBatchItemStatus.REFUSED.value,
                error_code=error.code,
                error_field=list(error.field) if error.field is not None else None,
                error_message=error.message,
            )
        )
        await self.conn.execute(stmt)

    async def finish(
        self, merchant_id: UUID, batch_id: UUID, status: RefundBatchStatus, at: datetime
    ) -> None:
        """End a RUNNING batch: CANCELLED cancels its pending items first."""
        if status is RefundBatchStatus.CANCELLED:
            pending = i.status == RefundBatchItemStatus.PENDING.value
            locked = (  # in the order of their indexes, as the applier locks them
                select(i.index)
                .where(i.merchant_id == merchant_id, i.batch_id == batch_id, pending)
                .order_by(i.index)
                .with_for_update()
                .cte("locked")
            )
            await self.conn.execute(
                update(refund_batch_items)
                .where(
                    i.merchant_id == merchant_id,
                    i.batch_id == batch_id,
                    i.index == locked.c.index,
                    pending,
                )
                .values(status=RefundBatchItemStatus.CANCELLED.value)
            )
        await self.conn.execute(
            update(refund_batches)
            .where(
                b.merchant_id == merchant_id,
                b.id == batch_id,
                b.status == RefundBatchStatus.RUNNING.value,
            )
            .values(status=status.value, completed_at=at, next_attempt_at=None)
        )
        await self.progressed(merchant_id, batch_id)

    async def progressed(self, merchant_id: UUID, batch_id: UUID) -> None:
        await self.raw.execute(
            "SELECT pg_notify($1, $2)", REFUND_BATCH_PROGRESS_CHANNEL, str(batch_id)
        )

    async def has_pending(self, merchant_id: UUID, batch_id: UUID) -> bool:
        stmt = select(
            select(i.index)
            .where(
                i.merchant_id == merchant_id,
                i.batch_id == batch_id,
                i.status == RefundBatchItemStatus.PENDING.value,
            )
            .exists()
        )
        return bool((await self.conn.execute(stmt)).scalar_one())


class RefundBatchReads(ConnectedReads):
    """What the API lists: batches newest first, a batch's items by index."""

    async def _all(self, stmt: Select[Any]) -> Sequence[Any]:
        async with self._connected() as conn:
            found: Sequence[Any] = (await conn.execute(stmt)).all()
            return found

    async def batch(self, merchant_id: UUID, batch_id: UUID) -> RefundBatch | None:
        found = await self._all(batches_with_counts(merchant_id).where(b.id == batch_id))
        return batch(found[0]) if found else None

    async def batches(
        self, merchant_id: UUID, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[RefundBatch]:
        stmt = batches_with_counts(merchant_id)
        if after is not None:
            stmt = stmt.where(tuple_(b.created_at, b.id) < tuple_(*after))
        stmt = stmt.order_by(b.created_at.desc(), b.id.desc()).limit(limit)
        return [batch(r) for r in await self._all(stmt)]

    async def batch_count(self, merchant_id: UUID) -> int:
        found = await self._all(select(func.count()).where(b.merchant_id == merchant_id))
        return int(found[0][0])

    def _items_where(
        self, merchant_id: UUID, batch_id: UUID, status: RefundBatchItemStatus | None
    ) -> list[Any]:
        where = [i.merchant_id == merchant_id, i.batch_id == batch_id]
        if status is not None:
            where.append(i.status == status.value)
        return where

    async def items(
        self,
        merchant_id: UUID,
        batch_id: UUID,
        *,
        limit: int,
        after: int | None,
        status: RefundBatchItemStatus | None,
    ) -> list[RefundBatchItem]:
        """In the batch's order, keyset-paginated by index."""
        stmt = select(*refund_batch_items.c).where(
            *self._items_where(merchant_id, batch_id, status)
        )
        if after is not None:
            stmt = stmt.where(i.index > after)
        stmt = stmt.order_by(i.index).limit(limit)
        return [item(r) for r in await self._all(stmt)]

    async def item_count(
        self, merchant_id: UUID, batch_id: UUID, status: RefundBatchItemStatus | None
    ) -> int:
        stmt = select(func.count()).where(*self._items_where(merchant_id, batch_id, status))
        found = await self._all(stmt)
        return int(found[0][0])

    async def all_items(
        self, merchant_id: UUID, batch_id: UUID, chunk: int = 1_000
    ) -> AsyncIterator[list[RefundBatchItem]]:
        """Every item in order, a chunk at a time (a batch's results as CSV)."""
        after = -1
        while True:
            found = await self.items(merchant_id, batch_id, limit=chunk, after=after, status=None)
            if not found:
                return
            yield found
            after = found[-1].index
