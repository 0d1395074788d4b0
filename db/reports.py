"""Reports on one merchant's refunds: the summary's totals (one GROUPING SETS query) and the
CSV exports, written by PostgreSQL itself (COPY of the export's query), streamed to the client a
chunk at a time through a bounded queue, so that an export of any size holds constant memory.

The exports' columns are the API's values as text: ids as the API writes them (`rfd_…`),
amounts in major units (exact numerics, never floats) and times as the DateTime scalar writes
them (api/scalars.py: UTC, `+00:00`, microseconds only when there are some)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from db.connected import ConnectedReads
from domain.model import PaymentMethod, RefundReason, RefundStatus

CHUNKS_AHEAD = 16  # COPY's chunks (about 64 KiB each) held while the client catches up


@dataclass(frozen=True, slots=True)
class Totals:
    count: int
    amount: int


@dataclass(frozen=True, slots=True)
class RefundSummary:
    time_zone: str
    total: Totals
    by_status: dict[RefundStatus, Totals]
    by_payment_method: dict[PaymentMethod, Totals]
    by_reason: dict[RefundReason, Totals]
    by_day: dict[date, Totals]


SUMMARY = """
SELECT grouping(r.status, t.payment_method, r.reason,
                ((r.created_at AT TIME ZONE $4)::date)) AS level,
       r.status, t.payment_method, r.reason, (r.created_at AT TIME ZONE $4)::date AS day,
       count(*) AS count, coalesce(sum(r.amount), 0)::bigint AS amount
FROM refunds AS r
JOIN transactions AS t ON t.merchant_id = r.merchant_id AND t.id = r.transaction_id
WHERE r.merchant_id = $1 AND r.created_at >= $2 AND r.created_at < $3
GROUP BY GROUPING SETS ((), (r.status), (t.payment_method), (r.reason),
                        ((r.created_at AT TIME ZONE $4)::date))
"""
# grouping() of the five sets above: a bit per argument left out of the set, first one highest
_ALL, _STATUS, _METHOD, _REASON, _DAY = 15, 7, 11, 13, 14
TIME_ZONE = "SELECT time_zone FROM merchants WHERE id = $1"


def _instant(column: str) -> str:
    """The column as the DateTime scalar writes it."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE "
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE WHEN extract(microseconds FROM {utc})::bigint % 1000000 = 0 THEN '' "
        f"ELSE to_char({utc}, '.US') END || '+00:00' END"
    )


def _public_id(prefix: str, column: str) -> str:
    """The id as api/ids.py writes it: prefix and the UUID's hex digits."""
    hex_digits = f"replace({column}::text, '-', '')"
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE '{prefix}_' || {hex_digits} END"


def _major(column: str, digits: int) -> str:
    return f"round({column}::numeric / 10::numeric ^ {int(digits)}, {int(digits)})"


def refunds_export_query(digits: int, with_statuses: bool) -> str:
    """The merchant's refunds created in [$2, $3), newest first (the refunds list's order),
    optionally of the statuses in $4."""
    statuses = "AND r.status = ANY($4::text[]) " if with_statuses else ""
    return (
        f"SELECT {_public_id('rfd', 'r.id')} AS id, "
        f"{_public_id('txn', 'r.transaction_id')} AS transaction_id, t.order_id, "
        f"{_major('r.amount', digits)} AS amount, r.currency, r.status, r.reason, "
        "r.speed_requested, r.speed_processed, r.bank_reference, r.failure_code, "
        f"{_instant('r.created_at')} AS created_at, {_instant('r.updated_at')} AS updated_at, "
        f"{_instant('r.processed_at')} AS processed_at "
        "FROM refunds AS r JOIN transactions AS t "
        "ON t.merchant_id = r.merchant_id AND t.id = r.transaction_id "
        f"WHERE r.merchant_id = $1 AND r.created_at >= $2 AND r.created_at < $3 {statuses}"
        "ORDER BY r.created_at DESC, r.id DESC"
    )


def ledger_export_query(digits: int) -> str:
    """The merchant's ledger entries written in [$2, $3), newest first (the ledger's order)."""
    return (
        "SELECT 'led_' || e.id AS id, e.kind, "
        f"{_major('e.amount', digits)} AS amount, "
        f"{_major('e.balance_after', digits)} AS balance_after, "
        f"{_public_id('rfd', 'e.refund_id')} AS refund_id, e.reference, "
        f"{_instant('e.created_at')} AS created_at "
        "FROM ledger_entries AS e "
        "WHERE e.merchant_id = $1 AND e.created_at >= $2 AND e.created_at < $3 "
        "ORDER BY e.id DESC"
    )


class Reports(ConnectedReads):
    """The summary runs on the caller's connection when it holds one (`on`); an export always
    takes its own."""

    async def refund_summary(
        self, merchant_id: UUID, start: datetime, end: datetime
    ) -> RefundSummary:
        async with self._connected() as conn:
            return await _refund_summary(conn, merchant_id, start, end)

    async def export(self, query: str, *args: Any) -> AsyncIterator[bytes]:
        """The query's rows as CSV with a header, written by COPY, a chunk at a time."""
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=CHUNKS_AHEAD)

        async def keep(chunk: bytes | bytearray | memoryview) -> None:
            await chunks.put(bytes(chunk))  # asyncpg lends a buffer it reuses

        async def copy() -> None:
            async with self.engine.connect() as conn:
                raw: Any = (await conn.get_raw_connection()).driver_connection
                await raw.copy_from_query(query, *args, output=keep, format="csv", header=True)
            await chunks.put(None)

        copying = asyncio.create_task(copy())
        try:
            ended = False
            while not ended and (chunk := await _next(chunks, copying)) is not None:
                pieces = [chunk]  # with what has come meanwhile, in one write
                while not chunks.empty():
                    more = chunks.get_nowait()
                    if more is None:
                        ended = True
                        break
                    pieces.append(more)
                yield b"".join(pieces)
            await copying  # its error, if any
        finally:
            copying.cancel()
            with suppress(asyncio.CancelledError):
                await copying


async def _next(chunks: asyncio.Queue[bytes | None], copying: asyncio.Task[None]) -> bytes | None:
    """The next chunk; None at the end, or when the copy failed (awaiting it then raises)."""
    getting = asyncio.ensure_future(chunks.get())
    done, _ = await asyncio.wait({getting, copying}, return_when=asyncio.FIRST_COMPLETED)
    if getting in done:
        return getting.result()
    getting.cancel()
    if chunks.empty():
        return None
    return chunks.get_nowait()


async def _refund_summary(
    conn: AsyncConnection, merchant_id: UUID, start: datetime, end: datetime
) -> RefundSummary:
    raw: Any = (await conn.get_raw_connection()).driver_connection
    time_zone = await raw.fetchval(TIME_ZONE, merchant_id)
    found = await raw.fetch(SUMMARY, merchant_id, start, end, time_zone)
    return _summary(time_zone, found)


def _summary(time_zone: str, found: Sequence[Any]) -> RefundSummary:
    total = Totals(0, 0)
    by_status: dict[RefundStatus, Totals] = {}
    by_method: dict[PaymentMethod, Totals] = {}
    by_reason: dict[RefundReason, Totals] = {}
    by_day: dict[date, Totals] = {}
    for row in found:
        totals = Totals(row["count"], row["amount"])
        level = row["level"]
        if level == _ALL:
            total = totals
        elif level == _STATUS:
            by_status[RefundStatus(row["status"])] = totals
        elif level == _METHOD:
            by_method[PaymentMethod(row["payment_method"])] = totals
        elif level == _REASON:
            by_reason[RefundReason(row["reason"])] = totals
        elif level == _DAY:
            by_day[row["day"]] = totals
    return RefundSummary(time_zone, total, by_status, by_method, by_reason, by_day)
