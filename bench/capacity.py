"""How much one PostgreSQL carries, for docs/scaling.md: `python -m bench.capacity`.

On a fresh embedded database, migrated and seeded as `python -m bench` seeds it, prints
(1) the plan of each read and write the service sends per request, to show that every one is
an index scan within one merchant after migration 0005, and (2) the initiateRefund SQL
transaction (bench/initiate_refund.sql) under pgbench at 1 client and at N clients."""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from bench import database, mutation, servers
from bench.seed import seed
from db import pooled_reads, statements
from db.distribution import ACROSS_MERCHANTS

# The service's statements per request and per claim (db/statements.py, db/pooled_reads.py,
# db/queries.py, db/claims.py, db/repositories/api_keys.py), as PostgreSQL plans them.
PLANS = {
    "lock a transaction": statements.LOCK_TRANSACTION,
    "held amount": statements.HELD_AMOUNT,
    "transactions page": pooled_reads.PAGE,
    "transactions count": pooled_reads.COUNT,
    "refunds of transactions": pooled_reads.REFUNDS_OF,
    "events of refunds": pooled_reads.EVENTS_OF,
    "refunds page": "SELECT * FROM refunds WHERE merchant_id = $1 "
    "ORDER BY created_at DESC, id DESC LIMIT 20",
    "ledger page": "SELECT * FROM ledger_entries WHERE merchant_id = $1 ORDER BY id DESC LIMIT 20",
    "key route": "SELECT merchant_id, key_id FROM api_key_routes WHERE key_hash = $1",
    "key": "SELECT * FROM api_keys WHERE merchant_id = $1 AND id = $2 AND revoked_at IS NULL",
    "merchants with refunds due": f"SELECT {ACROSS_MERCHANTS} merchant_id FROM refunds "
    "WHERE status IN ('PENDING', 'PROCESSING') AND next_attempt_at <= now() "
    "GROUP BY merchant_id ORDER BY min(next_attempt_at) LIMIT 16",
    "a merchant's claim": "SELECT id FROM refunds WHERE merchant_id = $1 AND status IN "
    "('PENDING', 'PROCESSING') AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT 16 "
    "FOR UPDATE SKIP LOCKED",
}


def plans(db: database.Database) -> dict[str, str]:
    """Each statement's scans, in its generic plan (the one a prepared statement settles on);
    through psql, whose simple protocol lets EXPLAIN take the parameters unbound."""
    out = {}
    for name, sql in PLANS.items():
        lines = db.psql(f"EXPLAIN (GENERIC_PLAN, COSTS OFF) {sql}").splitlines()
        out[name] = " / ".join(line.strip(" ->") for line in lines if "Scan" in line)
    return out


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--merchants", type=int, default=50)
    options.add_argument("--per-merchant", type=int, default=10_000)
    options.add_argument("--seconds", type=int, default=20)
    options.add_argument("--clients", type=int, default=8)
    args = options.parse_args()
    work = Path(tempfile.mkdtemp(prefix="refunds-capacity-"))
    db = database.start(work)
    try:
        servers.migrate(db.url, Path(__file__).resolve().parents[1])
        seeded = asyncio.run(seed(db.url, args.merchants, args.per_merchant))
        result: dict[str, object] = {"counts": seeded.counts, "plans": plans(db)}
        for clients in (1, args.clients):
            run = mutation.run_sql(
                db.pg_bin("pgbench"),
                seeded,
                "spread",
                socket_dir=db.socket_dir,
                database=database.DATABASE,
                seconds=args.seconds,
                clients=clients,
                work_dir=work,
            )
            result[f"pgbench {clients} clients"] = run.as_dict()
        print(json.dumps(result, indent=2, default=str))
    finally:
        db.stop()


if __name__ == "__main__":
    main()
