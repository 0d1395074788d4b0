"""The schema Citus can distribute by merchant, read from PostgreSQL's own catalog: every primary
key, unique index and foreign key of a distributed table includes its distribution column, and
a foreign key between two distributed tables pairs their distribution columns (db/distribution.py).
Run on the migrated test database, and on one at revision 0004 to show it finds what 0005 fixed."""

from __future__ import annotations

import asyncpg

from db.distribution import DISTRIBUTION_COLUMN, NOT_DISTRIBUTED, REFERENCE_TABLES
from db.listener import connect_kwargs
from db.tables import metadata

# Unique indexes (primary keys and unique constraints have one each) and what they cover.
UNIQUE_INDEXES = """
SELECT t.relname AS table_name, i.relname AS index_name,
       array_agg(a.attname ORDER BY k.n) AS columns
FROM pg_index x
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_namespace s ON s.oid = t.relnamespace AND s.nspname = 'public'
CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE x.indisunique
GROUP BY t.relname, i.relname
"""
# Foreign keys, as (column, referred column) pairs.
FOREIGN_KEYS = """
SELECT c.conname, t.relname AS table_name, r.relname AS referred,
       array_agg(a.attname ORDER BY k.n) AS columns,
       array_agg(ra.attname ORDER BY k.n) AS referred_columns
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_class r ON r.oid = c.confrelid
JOIN pg_namespace s ON s.oid = c.connamespace AND s.nspname = 'public'
CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(attnum, refnum, n)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.refnum
WHERE c.contype = 'f'
GROUP BY c.conname, t.relname, r.relname
"""


async def not_distributable(url: str) -> list[str]:
    """What keeps the database's distributed tables from being distributed by merchant."""
    conn = await asyncpg.connect(**connect_kwargs(url))
    try:
        unique = await conn.fetch(UNIQUE_INDEXES)
        foreign = await conn.fetch(FOREIGN_KEYS)
    finally:
        await conn.close()
    found = [
        f"{u['table_name']}: unique index {u['index_name']} {list(u['columns'])}"
        for u in unique
        if u["table_name"] in DISTRIBUTION_COLUMN
        and DISTRIBUTION_COLUMN[u["table_name"]] not in u["columns"]
    ]
    for fk in foreign:
        table, referred = fk["table_name"], fk["referred"]
        if table not in DISTRIBUTION_COLUMN or referred in REFERENCE_TABLES:
            continue  # a reference table is on every node
        pairs = set(zip(fk["columns"], fk["referred_columns"], strict=True))
        if (DISTRIBUTION_COLUMN[table], DISTRIBUTION_COLUMN.get(referred)) not in pairs:
            found.append(f"{table}: foreign key {fk['conname']} to {referred} {sorted(pairs)}")
    return sorted(found)


def test_every_table_is_distributed_by_merchant_or_named_as_not() -> None:
    named = [*DISTRIBUTION_COLUMN, *REFERENCE_TABLES, *NOT_DISTRIBUTED]
    assert sorted(named) == sorted(metadata.tables)
    owned = {name for name, table in metadata.tables.items() if "merchant_id" in table.c}
    assert owned - set(DISTRIBUTION_COLUMN) == {*REFERENCE_TABLES, *NOT_DISTRIBUTED}


async def test_every_key_of_a_distributed_table_includes_the_merchant(database_url: str) -> None:
    assert await not_distributable(database_url) == []


async def test_the_check_finds_what_revision_0004_lacked(database_at_0004: str) -> None:
    assert await not_distributable(database_at_0004) == [
        "api_keys: unique index uq_api_keys_key_hash ['key_hash']",
        "idempotency_keys: foreign key fk_idempotency_keys_refund_id_refunds to refunds"
        " [('refund_id', 'id')]",
        "ledger_entries: foreign key fk_ledger_entries_refund_id_refunds to refunds"
        " [('refund_id', 'id')]",
        "ledger_entries: unique index uq_ledger_entries_refund_kind ['refund_id', 'kind']",
        "refund_events: foreign key fk_refund_events_refund_id_refunds to refunds"
        " [('refund_id', 'id')]",
        "refund_events: unique index pk_refund_events ['id']",
        "refunds: foreign key fk_refunds_transaction_id_transactions to transactions"
        " [('transaction_id', 'id')]",
        "refunds: unique index pk_refunds ['id']",
        "transactions: unique index pk_transactions ['id']",
    ]
