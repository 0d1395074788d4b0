"""Migration 0003 on a database that already holds data: every ledger entry is kept and
renumbered within its merchant in the order it was written, the numbering carries on from
there, and card numbers already stored are masked."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from alembic import command

from db.engine import create_engine
from db.listener import connect_kwargs
from db.migrate import alembic_config
from db.uow import SqlUnitOfWork
from domain.use_cases.platform import recharge_balance

A, B = uuid4(), uuid4()
CARD_PAYMENT, PLAIN_PAYMENT, REFUND = uuid4(), uuid4(), uuid4()
CARD_SOURCE = "bounce card 4242 4242 4242 4242"
MASKED_SOURCE = "bounce card XXXX XXXX XXXX 4242"

# (merchant, kind, amount, balance_after, refund, reference), in the order they were written:
# the two merchants' entries interleave in the platform-wide numbering of revision 0002.
LEDGER = [
    (A, "RECHARGE", 1000, 1000, None, "rch_a1"),
    (B, "RECHARGE", 500, 500, None, "rch_b1"),
    (A, "REFUND_DEBIT", 300, 700, REFUND, None),
    (B, "RECHARGE", 200, 700, None, "rch_b2"),
    (A, "RECHARGE", 50, 750, None, "rch_a2"),
]


async def _connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(**connect_kwargs(url))


async def _seed_at_0002(url: str) -> None:
    conn = await _connect(url)
    try:
        await conn.executemany(
            "INSERT INTO merchants (id, name, currency, balance) VALUES ($1, $2, 'INR', $3)",
            [(A, "A", 750), (B, "B", 700)],
        )
        await conn.executemany(
            "INSERT INTO transactions (id, merchant_id, reference, order_id, amount, currency, "
            "status, payment_method, source) VALUES ($1, $2, $3, 'o', 1000, 'INR', 'SUCCESS', "
            "$4, $5)",
            [
                (CARD_PAYMENT, A, "pay_card", "CARD", CARD_SOURCE),
                (PLAIN_PAYMENT, A, "pay_upi", "UPI", "customer@okaxis"),
            ],
        )
        await conn.execute(
            "INSERT INTO refunds (id, merchant_id, transaction_id, amount, currency, status, "
            "reason, speed_requested, destination_kind, destination_display) VALUES ($1, $2, "
            "$3, 300, 'INR', 'PROCESSED', 'CUSTOMER_REQUEST', 'NORMAL', 'ORIGINAL_SOURCE', $4)",
            REFUND,
            A,
            CARD_PAYMENT,
            CARD_SOURCE,
        )
        await conn.executemany(
            "INSERT INTO ledger_entries (merchant_id, kind, amount, balance_after, refund_id, "
            "reference) VALUES ($1, $2, $3, $4, $5, $6)",
            LEDGER,
        )
    finally:
        await conn.close()


async def _read(url: str, sql: str) -> list[Any]:
    conn = await _connect(url)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def _recharge(url: str, merchant_id: UUID, amount: int) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        await recharge_balance(
            SqlUnitOfWork(engine), merchant_id, amount, "rch_after", datetime.now(UTC)
        )
    finally:
        await engine.dispose()


async def test_0003_renumbers_each_merchants_ledger_and_masks_stored_card_numbers(
    database_at_0002: str,
) -> None:
    url = database_at_0002
    # given two merchants' interleaved ledgers, a card number in a source and in a refund
    await _seed_at_0002(url)
    # when the database is migrated to 0003
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0003")
    # then every entry is kept, numbered within its merchant in the order it was written
    entries = await _read(
        url,
        "SELECT merchant_id, id, kind, amount, balance_after, refund_id, reference "
        "FROM ledger_entries ORDER BY merchant_id, id",
    )
    expected = []
    for merchant in sorted((A, B)):
        written = [e for e in LEDGER if e[0] == merchant]
        expected += [(e[0], n, *e[1:]) for n, e in enumerate(written, start=1)]
    assert entries == expected
    seqs = await _read(url, "SELECT id, ledger_seq, balance FROM merchants")
    assert sorted(seqs) == sorted([(A, 3, 750), (B, 2, 700)])
    # and the stored card number is masked where it was kept, the rest of the text too
    sources = dict(await _read(url, "SELECT id, source FROM transactions"))
    assert sources == {CARD_PAYMENT: MASKED_SOURCE, PLAIN_PAYMENT: "customer@okaxis"}
    displays = await _read(url, "SELECT destination_display FROM refunds")
    assert displays == [(MASKED_SOURCE,)]
    # and the next entry the service writes (on the schema it runs on: the latest revision)
    # carries on from the merchant's last number
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    await _recharge(url, A, 25)
    newest = await _read(
        url,
        f"SELECT id, balance_after FROM ledger_entries WHERE merchant_id = '{A}' "
        "ORDER BY id DESC LIMIT 1",
    )
    assert newest == [(4, 775)]
