"""A realistic, consistent data set written by COPY straight into the migrated tables.

Merchants, their API keys, transactions (newest first within 90 days, so all are refundable by
date), refunds on a third of the transactions in every status with their event history, and a
ledger whose running `balance_after` ends at each merchant's `balance`: a recharge, a debit per
refund that started PENDING, a reversal per refund that FAILED, was CANCELLED or REVERSED.

IDs are deterministic so that pgbench can compute them from integers (see `merchant_uuid` and
`transaction_uuid`): transaction n (1-based, global) belongs to merchant (n-1) // per_merchant + 1,
and is SUCCESS unless n % 10 is 7 (FAILED) or 9 (PENDING). Transactions with n % 10 == 1 are
always SUCCESS and their seeded refunds hold at most 80% of the amount: the initiateRefund
workload refunds 1.00 of them at a time and never runs out."""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

RECHARGE = 10**13  # minor units per merchant: far more than any run can spend
WINDOW = timedelta(days=90)
METHODS = ["UPI", "CARD", "NET_BANKING", "WALLET"]
REASONS = ["CUSTOMER_REQUEST", "ORDER_CANCELLED", "DUPLICATE_PAYMENT", "PRODUCT_ISSUE", "OTHER"]
# Final status -> the statuses it went through (its events), oldest first.
HISTORIES = {
    "PENDING": ["PENDING"],
    "ON_HOLD": ["ON_HOLD"],
    "PROCESSING": ["PENDING", "PROCESSING"],
    "PROCESSED": ["PENDING", "PROCESSING", "PROCESSED"],
    "FAILED": ["PENDING", "PROCESSING", "FAILED"],
    "ACTION_REQUIRED": ["PENDING", "PROCESSING", "ACTION_REQUIRED"],
    "CANCELLED": ["PENDING", "CANCELLED"],
    "REVERSED": ["PENDING", "PROCESSING", "PROCESSED", "REVERSED"],
}
STATUS_WEIGHTS = {
    "PROCESSED": 50,
    "PENDING": 8,
    "PROCESSING": 8,
    "FAILED": 8,
    "ACTION_REQUIRED": 6,
    "CANCELLED": 8,
    "REVERSED": 6,
    "ON_HOLD": 6,
}
RELEASED = {"FAILED", "CANCELLED", "REVERSED"}
FAILURES = {"FAILED": "REJECTED_BY_BANK", "ACTION_REQUIRED": "CUSTOMER_ACCOUNT_FROZEN"}


def merchant_uuid(m: int) -> UUID:
    return UUID(f"00000000-0000-4000-8000-{m:012x}")


def transaction_uuid(n: int) -> UUID:
    return UUID(f"00000001-0000-4000-8000-{n:012x}")


def transaction_status(n: int) -> str:
    return {7: "FAILED", 9: "PENDING"}.get(n % 10, "SUCCESS")


@dataclass
class Seeded:
    """What the workloads need to know about the data: keys, ids, counts."""

    merchants: int
    per_merchant: int
    keys: list[str] = field(default_factory=list)  # API key of merchant m at index m-1
    refund_ids: list[tuple[int, UUID]] = field(default_factory=list)  # (merchant, refund id)
    counts: dict[str, int] = field(default_factory=dict)


Row = tuple[Any, ...]  # one row for COPY, in the table's column order


@dataclass
class _Rows:
    merchants: list[Row] = field(default_factory=list)
    api_keys: list[Row] = field(default_factory=list)
    api_key_routes: list[Row] = field(default_factory=list)
    transactions: list[Row] = field(default_factory=list)
    refunds: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    ledger: list[Row] = field(default_factory=list)


def _source(method: str, n: int) -> str:
    last4 = f"{n % 10000:04d}"
    return {
        "UPI": f"customer{n}@okaxis",
        "CARD": f"card •••• {last4}",
        "NET_BANKING": f"HDFC a/c ••••{last4}",
    }.get(method, f"wallet ••••{last4}")


def _refund_rows(
    rng: random.Random, rows: _Rows, m_id: UUID, tx: Row, now: datetime, moves: list[Row]
) -> list[UUID]:
    """One to three refunds of one transaction, holding at most 80% of its amount."""
    t_id, amount, created, method, source = tx[0], tx[4], tx[9], tx[7], tx[8]
    count = rng.randint(1, 3)
    budget = amount * 8 // 10
    made = []
    for i in range(count):
        share = max(budget // (count - i) // 100 * 100, 100) if i < count - 1 else budget
        budget -= share
        if share <= 0:
            break
        status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
        start = created + (now - created) * rng.uniform(0.05, 0.9)
        r_id = uuid4()
        history = HISTORIES[status]
        steps = [start + timedelta(minutes=7 * k) for k in range(len(history))]
        processed = steps[2] if status in {"PROCESSED", "REVERSED"} else None
        failure = FAILURES.get(status)
        rows.refunds.append(
            (
                r_id,
                m_id,
                t_id,
                share,
                "INR",
                status,
                rng.choice(REASONS),
                None,
                None,
                "NORMAL",
                "NORMAL" if processed else None,
                "ORIGINAL_SOURCE",
                source,
                None,
                failure,
                "Simulated outcome." if failure else None,
                f"ARN{rng.randrange(10**11):011d}" if processed else None,
                start + timedelta(days=1 if method in ("UPI", "WALLET") else 7),
                start,
                steps[-1],
                processed,
                0,
                None,
                None,
                None,
            )
        )
        for s, at in zip(history, steps, strict=True):
            rows.events.append((m_id, r_id, s, at, None, failure if s == status else None))
        if status != "ON_HOLD":
            moves.append((start, "REFUND_DEBIT", share, r_id))
        if status in RELEASED:
            moves.append((steps[-1], "REFUND_REVERSAL", share, r_id))
        made.append(r_id)
    return made


def _merchant(rng: random.Random, rows: _Rows, seeded: Seeded, m: int, now: datetime) -> None:
    m_id, per = merchant_uuid(m), seeded.per_merchant
    opened = now - WINDOW - timedelta(days=1)
    rows.merchants.append((m_id, f"Bench Merchant {m}", "INR", 0, 0, opened))
    key = f"rk_bench_{m}_{secrets.token_urlsafe(16)}"
    seeded.keys.append(key)
    key_id = uuid4()
    rows.api_keys.append((key_id, m_id, key[:9], opened))
    rows.api_key_routes.append((hashlib.sha256(key.encode()).hexdigest(), m_id, key_id))
    moves: list[Row] = [(opened, "RECHARGE", RECHARGE, None)]
    step = WINDOW / per
    for i in range(per):
        n = (m - 1) * per + i + 1
        method = METHODS[rng.randrange(4)]
        tx = (
            transaction_uuid(n),
            m_id,
            f"pay_{n:09d}",
            f"order_{n:09d}",
            rng.randrange(100_00, 50_000_00, 50),
            "INR",
            transaction_status(n),
            method,
            _source(method, n),
            now - WINDOW + step * i + timedelta(seconds=rng.random()),
        )
        rows.transactions.append(tx)
        # A third of all transactions carry refunds; only SUCCESS ones can (8 in 10 are).
        if tx[6] == "SUCCESS" and rng.random() < 0.4167:
            for r_id in _refund_rows(rng, rows, m_id, tx, now, moves):
                seeded.refund_ids.append((m, r_id))
    balance = 0
    moves.sort(key=lambda mv: mv[0])
    for entry_id, (at, kind, amount, r_id) in enumerate(moves, start=1):
        balance += -amount if kind == "REFUND_DEBIT" else amount
        reference = f"bench-recharge-{m}" if kind == "RECHARGE" else None
        rows.ledger.append((m_id, entry_id, kind, amount, balance, r_id, reference, at))
    rows.merchants[-1] = (m_id, f"Bench Merchant {m}", "INR", balance, len(moves), opened)


TABLES = {
    "merchants": ["id", "name", "currency", "balance", "ledger_seq", "created_at"],
    "api_keys": ["id", "merchant_id", "display_prefix", "created_at"],
    "api_key_routes": ["key_hash", "merchant_id", "key_id"],
    "transactions": [
        "id",
        "merchant_id",
        "reference",
        "order_id",
        "amount",
        "currency",
        "status",
        "payment_method",
        "source",
        "created_at",
    ],
    "refunds": [
        "id",
        "merchant_id",
        "transaction_id",
        "amount",
        "currency",
        "status",
        "reason",
        "notes",
        "metadata",
        "speed_requested",
        "speed_processed",
        "destination_kind",
        "destination_display",
        "destination_details",
        "failure_code",
        "failure_message",
        "bank_reference",
        "estimated_settlement_at",
        "created_at",
        "updated_at",
        "processed_at",
        "attempts",
        "next_attempt_at",
        "claimed_by",
        "claim_expires_at",
    ],
    "refund_events": ["merchant_id", "refund_id", "status", "at", "message", "failure_code"],
    "ledger_entries": [
        "merchant_id",
        "id",
        "kind",
        "amount",
        "balance_after",
        "refund_id",
        "reference",
        "created_at",
    ],
}


async def seed(dsn: str, merchants: int, per_merchant: int, *, rng_seed: int = 2026) -> Seeded:
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    seeded, rows = Seeded(merchants, per_merchant), _Rows()
    for m in range(1, merchants + 1):
        _merchant(rng, rows, seeded, m, now)
    rows.events.sort(key=lambda e: e[3])  # ids follow time, as they would have
    rows.ledger.sort(key=lambda e: e[7])
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for table, data in zip(
                TABLES,
                (
                    rows.merchants,
                    rows.api_keys,
                    rows.api_key_routes,
                    rows.transactions,
                    rows.refunds,
                    rows.events,
                    rows.ledger,
                ),
                strict=True,
            ):
                await conn.copy_records_to_table(table, records=data, columns=TABLES[table])
                seeded.counts[table] = len(data)
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()
    return seeded
