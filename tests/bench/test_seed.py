"""The benchmark's data set is consistent: balances agree with the ledger, refunds never hold
more than their transaction, every refund has its history, and every status is present."""

from __future__ import annotations

import asyncpg

from bench.seed import HISTORIES, Seeded


async def test_the_seeded_data_is_consistent(database_url: str, bench_seeded: Seeded) -> None:
    # given a small data set seeded by COPY into the migrated test database
    seeded = bench_seeded
    conn = await asyncpg.connect(database_url)
    try:
        # then each balance is the last ledger entry's balance_after and the ledger's sum
        mismatched = await conn.fetch("""
            SELECT m.id FROM merchants m
            WHERE m.name LIKE 'Bench Merchant %' AND (
              m.balance <> (SELECT balance_after FROM ledger_entries l
                            WHERE l.merchant_id = m.id ORDER BY l.id DESC LIMIT 1)
              OR m.balance <> (SELECT sum(CASE kind WHEN 'REFUND_DEBIT' THEN -amount
                                               ELSE amount END)
                               FROM ledger_entries l WHERE l.merchant_id = m.id))""")
        assert mismatched == []
        # and no transaction has more held than its amount
        over = await conn.fetchval("""
            SELECT count(*) FROM transactions t
            WHERE t.amount < (SELECT coalesce(sum(r.amount), 0) FROM refunds r
                              WHERE r.transaction_id = t.id
                                AND r.status NOT IN ('FAILED', 'CANCELLED', 'REVERSED'))""")
        assert over == 0
        # and every refund's last event is its status, and every status occurs
        wrong = await conn.fetchval("""
            SELECT count(*) FROM refunds r
            WHERE r.status <> (SELECT e.status FROM refund_events e
                               WHERE e.refund_id = r.id ORDER BY e.id DESC LIMIT 1)""")
        assert wrong == 0
        statuses = {r["status"] for r in await conn.fetch("SELECT DISTINCT status FROM refunds")}
        assert set(HISTORIES) <= statuses
    finally:
        await conn.close()
    assert len(seeded.keys) == 3
    assert seeded.counts["transactions"] == 900
