"""The initiateRefund workload: the mutation over HTTP at N concurrent clients, beside pgbench
running the same SQL transaction (bench/initiate_refund.sql) on the same database."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import asyncpg

from bench.load import Result, run_pgbench, run_wrk, write_targets
from bench.seed import Seeded, transaction_uuid
from bench.workloads import INITIATE_REFUND

PGBENCH_SCRIPT = Path(__file__).parent / "initiate_refund.sql"
AMOUNT = 100  # 1.00 INR per refund: seeded transactions have room for many


def targets(seeded: Seeded, count: int, rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """Random always-SUCCESS transactions (n % 10 == 1) of every merchant."""
    total = seeded.merchants * seeded.per_merchant
    out = []
    for _ in range(count):
        n = 10 * rng.randrange(total // 10) + 1
        merchant = (n - 1) // seeded.per_merchant + 1
        out.append(
            (
                seeded.keys[merchant - 1],
                {
                    "input": {
                        "transactionId": f"txn_{transaction_uuid(n).hex}",
                        "amount": AMOUNT,
                        "reason": "CUSTOMER_REQUEST",
                        "idempotencyKey": "@@KEY@@",
                    }
                },
            )
        )
    return out


async def refund_count(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM refunds"))
    finally:
        await conn.close()


def prepare(seeded: Seeded, work_dir: Path, rng: random.Random) -> Path:
    return write_targets(
        work_dir / "initiate_refund.tsv", targets(seeded, 20_000, rng), INITIATE_REFUND
    )


def run_http(url: str, targets_file: Path, *, seconds: int, connections: int, tag: str) -> Result:
    return run_wrk(
        "initiateRefund (GraphQL)",
        url,
        targets_file,
        seconds=seconds,
        connections=connections,
        tag=tag,
    )


def run_sql(
    pgbench: Path,
    seeded: Seeded,
    *,
    socket_dir: str,
    database: str,
    seconds: int,
    clients: int,
    work_dir: Path,
) -> Result:
    return run_pgbench(
        "initiateRefund SQL (pgbench)",
        pgbench,
        PGBENCH_SCRIPT,
        socket_dir=socket_dir,
        database=database,
        seconds=seconds,
        clients=clients,
        defines={"per": seeded.per_merchant, "ntx": seeded.merchants * seeded.per_merchant},
        log_dir=work_dir,
    )
