"""The lists' filters read through indexes: on a seeded database (many merchants, tens of
thousands of refunds, ANALYZEd), PostgreSQL's plan for each filtered list and count that
db/queries.py sends has no sequential scan of the refunds table."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine
from db.queries import ReadQueries, RefundFilter, TransactionFilter
from domain.model import RefundReason, RefundSpeed, RefundState
from tests.db.conftest import database_at

MERCHANTS = 20
TRANSACTIONS_EACH = 2_000  # one refund each, some two: ~50,000 refunds in all

SEED = f"""
INSERT INTO merchants (id, name, currency, balance)
SELECT md5('m' || m)::uuid, 'Merchant ' || m, 'INR', 0 FROM generate_series(1, {MERCHANTS}) m;
INSERT INTO transactions (merchant_id, id, reference, order_id, amount, currency, status,
                          payment_method, source, created_at)
SELECT md5('m' || m)::uuid, md5('t' || m || '-' || t)::uuid, 'pay_' || t, 'order_' || (t / 2),
       10000, 'INR', 'SUCCESS', 'UPI', 'c@okaxis', now() - t * interval '1 minute'
FROM generate_series(1, {MERCHANTS}) m, generate_series(1, {TRANSACTIONS_EACH}) t;
INSERT INTO refunds (merchant_id, id, transaction_id, amount, currency, status, reason,
                     speed_requested, destination_kind, destination_display, bank_reference,
                     created_at, updated_at)
SELECT md5('m' || m)::uuid, md5('r' || m || '-' || t || '-' || n)::uuid,
       md5('t' || m || '-' || t)::uuid, 2000 + 1000 * (t % 7), 'INR',
       (ARRAY['PROCESSED', 'PENDING', 'FAILED', 'PROCESSING'])[1 + t % 4],
       (ARRAY['CUSTOMER_REQUEST', 'ORDER_CANCELLED', 'FAILED_TRANSACTION', 'DUPLICATE_PAYMENT',
              'PRODUCT_ISSUE', 'FRAUD', 'OTHER'])[1 + (t + n) % 7],
       CASE WHEN t % 10 = 0 THEN 'INSTANT' ELSE 'NORMAL' END, 'ORIGINAL_SOURCE', 'c@okaxis',
       CASE WHEN t % 4 = 0 THEN 'ARN' || m || 'x' || t || 'x' || n END,
       now() - t * interval '1 minute', now()
FROM generate_series(1, {MERCHANTS}) m, generate_series(1, {TRANSACTIONS_EACH}) t,
     generate_series(1, 1 + (t % 3 = 0)::int) n;
ANALYZE;
"""

FILTERS: dict[str, RefundFilter | TransactionFilter] = {
    "refunds by order id": RefundFilter(order_id="order_500"),
    "refunds by reason": RefundFilter(reasons=[RefundReason.FRAUD]),
    "refunds by two reasons": RefundFilter(reasons=[RefundReason.FRAUD, RefundReason.OTHER]),
    "refunds by speed": RefundFilter(speed=RefundSpeed.INSTANT),
    "refunds by bank reference": RefundFilter(bank_reference="ARN3x400x1"),
    "transactions fully refunded": TransactionFilter(refund_state=RefundState.FULL),
    "transactions partly refunded": TransactionFilter(refund_state=RefundState.PARTIAL),
    "transactions not refunded": TransactionFilter(refund_state=RefundState.NONE),
}


@pytest.fixture(scope="module")
async def seeded(database_url: str) -> AsyncIterator[AsyncEngine]:
    async with database_at(database_url, "head") as url:
        engine = create_engine(url, pool_size=2)
        async with engine.begin() as conn:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None
            await raw.driver_connection.execute(SEED)
        yield engine
        await engine.dispose()


async def _plans_of_reads(engine: AsyncEngine, f: RefundFilter | TransactionFilter) -> list[str]:
    """Run the list and count reads with `f`, recording each statement, then EXPLAIN each."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        sent.append((statement, parameters))

    reads = ReadQueries(engine)
    merchant_id = UUID(hashlib.md5(b"m3").hexdigest())  # as SEED names merchant 3
    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        if isinstance(f, RefundFilter):
            assert await reads.refunds(merchant_id, f, limit=21, after=None) is not None
            await reads.refund_count(merchant_id, f)
        else:
            assert await reads.transactions(merchant_id, f, limit=21, after=None) is not None
            await reads.transaction_count(merchant_id, f)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    plans = []
    async with engine.connect() as conn:
        for statement, parameters in sent:
            result = await conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            plans.append("\n".join(row[0] for row in result))
    assert len(plans) == 2
    return plans


@pytest.mark.parametrize("what", FILTERS)
async def test_a_filtered_list_reads_no_refund_table_sequentially(
    seeded: AsyncEngine, what: str
) -> None:
    for plan in await _plans_of_reads(seeded, FILTERS[what]):
        assert "Seq Scan on refunds" not in plan, plan


async def test_the_check_sees_a_sequential_scan_when_there_is_one(seeded: AsyncEngine) -> None:
    # a filter on a column no index leads with (notes) is read sequentially: the check can fail
    async with seeded.connect() as conn:
        result = await conn.exec_driver_sql(
            "EXPLAIN SELECT count(*) FROM refunds WHERE notes = 'x'"
        )
        plan = "\n".join(row[0] for row in result)
    assert "Seq Scan on refunds" in plan
