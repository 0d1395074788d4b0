"""Migration 0005 on a database that already holds data: every row is kept, the keys issued
before it still authenticate (their hashes moved to api_key_routes), and the new foreign keys
refuse a row that names another merchant's transaction or refund."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from uuid import uuid4

import asyncpg
import pytest
from alembic import command

from db.engine import create_engine
from db.migrate import alembic_config
from db.repositories.api_keys import ApiKeyStore
from tests.db.test_migration_0003 import _connect, _read

A, B = uuid4(), uuid4()
KEY_A, KEY_B = uuid4(), uuid4()
SECRET_A = "rk_before_0005_" + secrets.token_urlsafe(16)
PAYMENT, REFUND = uuid4(), uuid4()

# Every table a merchant owns, read in full and in a stable order.
TABLES = {
    "merchants": "SELECT * FROM merchants ORDER BY id",
    "transactions": "SELECT * FROM transactions ORDER BY id",
    "refunds": "SELECT * FROM refunds ORDER BY id",
    "refund_events": "SELECT * FROM refund_events ORDER BY id",
    "ledger_entries": "SELECT * FROM ledger_entries ORDER BY merchant_id, id",
    "idempotency_keys": "SELECT * FROM idempotency_keys ORDER BY merchant_id, key",
    "api_keys": (
        "SELECT merchant_id, id, display_prefix, name, scope, created_at, last_used_at, "
        "revoked_at FROM api_keys ORDER BY id"
    ),
}


async def _seed_at_0004(url: str) -> None:
    conn = await _connect(url)
    try:
        await conn.executemany(
            "INSERT INTO merchants (id, name, currency, balance, ledger_seq) "
            "VALUES ($1, $2, 'INR', $3, $4)",
            [(A, "A", 700, 2), (B, "B", 0, 0)],
        )
        await conn.executemany(
            "INSERT INTO api_keys (merchant_id, id, key_hash, display_prefix, revoked_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            [
                (A, KEY_A, hashlib.sha256(SECRET_A.encode()).hexdigest(), SECRET_A[:9], None),
                (B, KEY_B, "b" * 64, "rk_b", None),
            ],
        )
        await conn.execute(
            "INSERT INTO transactions (id, merchant_id, reference, order_id, amount, currency, "
            "status, payment_method, source) VALUES ($1, $2, 'pay_1', 'o', 1000, 'INR', "
            "'SUCCESS', 'UPI', 'customer@okaxis')",
            PAYMENT,
            A,
        )
        await conn.execute(
            "INSERT INTO refunds (id, merchant_id, transaction_id, amount, currency, status, "
            "reason, speed_requested, destination_kind, destination_display, "
            "initiated_by_key_id) VALUES ($1, $2, $3, 300, 'INR', 'PENDING', "
            "'CUSTOMER_REQUEST', 'NORMAL', 'ORIGINAL_SOURCE', 'customer@okaxis', $4)",
            REFUND,
            A,
            PAYMENT,
            KEY_A,
        )
        await conn.execute(
            "INSERT INTO refund_events (merchant_id, refund_id, status) VALUES ($1, $2, 'PENDING')",
            A,
            REFUND,
        )
        await conn.executemany(
            "INSERT INTO ledger_entries (merchant_id, id, kind, amount, balance_after, "
            "refund_id, reference) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                (A, 1, "RECHARGE", 1000, 1000, None, "rch_1"),
                (A, 2, "REFUND_DEBIT", 300, 700, REFUND, None),
            ],
        )
        await conn.execute(
            "INSERT INTO idempotency_keys (merchant_id, key, request_hash, refund_id) "
            "VALUES ($1, 'order-1', 'h', $2)",
            A,
            REFUND,
        )
    finally:
        await conn.close()


async def _everything(url: str) -> dict[str, list[tuple[object, ...]]]:
    return {table: await _read(url, sql) for table, sql in TABLES.items()}


async def test_0005_keeps_every_row_and_every_key_and_refuses_cross_merchant_references(
    database_at_0004: str,
) -> None:
    url = database_at_0004
    # given two merchants' data at revision 0004, a refund with its event, ledger entry,
    # idempotency key and the key that initiated it
    await _seed_at_0004(url)
    before = await _everything(url)
    # when the database is migrated to 0005
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0005")
    # then every row is kept as it was
    assert await _everything(url) == before
    assert {table: len(rows) for table, rows in before.items()} == {
        "merchants": 2,
        "transactions": 1,
        "refunds": 1,
        "refund_events": 1,
        "ledger_entries": 2,
        "idempotency_keys": 1,
        "api_keys": 2,
    }
    # and each key's hash now names its merchant and key in the platform-wide routes
    routes = await _read(url, "SELECT key_hash, merchant_id, key_id FROM api_key_routes")
    assert sorted(routes) == sorted(
        [(hashlib.sha256(SECRET_A.encode()).hexdigest(), A, KEY_A), ("b" * 64, B, KEY_B)]
    )
    # and a key issued before the migration still authenticates, as its merchant
    engine = create_engine(url, pool_size=1)
    try:
        found = await ApiKeyStore(engine).active_by_hash(
            hashlib.sha256(SECRET_A.encode()).hexdigest()
        )
    finally:
        await engine.dispose()
    assert found is not None
    assert (found.merchant_id, found.id) == (A, KEY_A)
    # and merchant B can no longer hang a row on merchant A's transaction or refund
    conn = await _connect(url)
    try:
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute(
                "INSERT INTO refunds (id, merchant_id, transaction_id, amount, currency, "
                "status, reason, speed_requested, destination_kind, destination_display) "
                "VALUES ($1, $2, $3, 1, 'INR', 'PENDING', 'CUSTOMER_REQUEST', 'NORMAL', "
                "'ORIGINAL_SOURCE', 'x')",
                uuid4(),
                B,
                PAYMENT,
            )
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute(
                "INSERT INTO refund_events (merchant_id, refund_id, status) "
                "VALUES ($1, $2, 'PENDING')",
                B,
                REFUND,
            )
    finally:
        await conn.close()
