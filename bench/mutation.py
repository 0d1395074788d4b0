"""The initiateRefund workloads: the mutation over HTTP at N concurrent clients, beside pgbench
running the same SQL transaction (bench/initiate_refund.sql) on the same database.

Two workloads: "spread", refunds of every merchant's payments (the clients rarely share a
balance row), and "hot", every client refunding payments of merchant 1 (one balance row, a
merchant's sale-day cancellations)."""

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


# workload -> how many merchants' transactions it refunds (from merchant 1 on)
WORKLOADS = {"spread": None, "hot": 1}


def _transactions(seeded: Seeded, workload: str) -> int:
    """How many transactions (numbered from 1) the workload picks from."""
    merchants = WORKLOADS[workload] or seeded.merchants
    return merchants * seeded.per_merchant


def targets(
    seeded: Seeded, count: int, rng: random.Random, workload: str = "spread"
) -> list[tuple[str, dict[str, Any]]]:
    """Random always-SUCCESS transactions (n % 10 == 1) of the workload's merchants."""
    total = _transactions(seeded, workload)
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


def prepare(seeded: Seeded, work_dir: Path, rng: random.Random, workload: str) -> Path:
    return write_targets(
        work_dir / f"initiate_refund-{workload}.tsv",
        targets(seeded, 20_000, rng, workload),
        INITIATE_REFUND,
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
    workload: str,
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
        # the script picks among transactions 1..ntx: the first merchant's alone for "hot"
        defines={"per": seeded.per_merchant, "ntx": _transactions(seeded, workload)},
        log_dir=work_dir,
    )
