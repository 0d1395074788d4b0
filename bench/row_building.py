"""What building domain values from rows and GraphQL types from domain values costs, this tree
beside another (a `git archive` of main, say), in alternating rounds of separate processes.

`.venv/bin/python -m bench.row_building --base-root /tmp/main-snapshot [--rounds 7]`

Each round times, per object, `db.rows.refund_record` on an asyncpg-like record of a refund,
and `RefundType.from_domain` / `TransactionType.from_domain` on the domain values; the report is
the median over rounds, per tree, and their ratio."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def measure(number: int) -> dict[str, float]:
    """Microseconds per call of each step, in this process (its tree is on PYTHONPATH)."""
    import uuid
    from datetime import UTC, datetime

    from api.refunds.types import RefundType
    from api.transactions.types import TransactionType
    from db.rows import refund_record, transaction_record

    now = datetime.now(UTC)
    refund_row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "merchant_id": uuid.uuid4(),
        "transaction_id": uuid.uuid4(),
        "amount": 100_00,
        "currency": "INR",
        "status": "PROCESSED",
        "reason": "CUSTOMER_REQUEST",
        "notes": None,
        "metadata": {"order": "A-1"},
        "speed_requested": "NORMAL",
        "speed_processed": "NORMAL",
        "destination_kind": "ORIGINAL_SOURCE",
        "destination_display": "UPI ****@okhdfc",
        "failure_code": None,
        "failure_message": None,
        "bank_reference": "ARN123",
        "estimated_settlement_at": now,
        "created_at": now,
        "updated_at": now,
        "processed_at": now,
        "initiated_by_key_id": None,
    }
    transaction_row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "merchant_id": refund_row["merchant_id"],
        "reference": "pay_1",
        "order_id": "A-1",
        "amount": 500_00,
        "currency": "INR",
        "status": "SUCCESS",
        "payment_method": "UPI",
        "source": "someone@okhdfc",
        "created_at": now,
    }
    refund = refund_record(refund_row)
    transaction = transaction_record(transaction_row)
    steps = {
        "refund_record": lambda: refund_record(refund_row),
        "RefundType.from_domain": lambda: RefundType.from_domain(refund),
        "TransactionType.from_domain": lambda: TransactionType.from_domain(transaction),
    }
    return {name: timeit.timeit(step, number=number) / number * 1e6 for name, step in steps.items()}


def _run(root: Path, number: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    # -P: the script's folder (bench/) is not put first on sys.path; cwd and PYTHONPATH pick
    # the tree whose code is measured.
    done = subprocess.run(
        [sys.executable, "-P", __file__, "--measure", str(number)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    measured: dict[str, float] = json.loads(done.stdout)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-root", type=Path)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    if args.base_root is None:
        parser.error("--base-root is required")
    trees = {"this tree": ROOT, "base": args.base_root.resolve()}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for n in range(args.rounds):
        order = list(trees) if n % 2 == 0 else list(reversed(trees))
        for name in order:
            runs[name].append(_run(trees[name], args.number))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| step | this tree µs | base µs | this ÷ base |")
    print("|---|---|---|---|")
    for step in runs["this tree"][0]:
        mine = statistics.median(r[step] for r in runs["this tree"])
        base = statistics.median(r[step] for r in runs["base"])
        print(f"| {step} | {mine:.2f} | {base:.2f} | {mine / base:.2f} |")


if __name__ == "__main__":
    main()
