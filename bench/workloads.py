"""The read workloads' GraphQL documents and the variables each request rotates over.

Both the service and the hand-written ceiling (bench/ceiling.py) answer exactly these
documents; the harness checks that they return the same bytes before it measures them."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.seed import WINDOW, Seeded

# The read documents are the service's trusted operations, byte for byte (api/fastpath).
OPERATIONS = Path(__file__).resolve().parent.parent / "api" / "fastpath" / "operations"
TRANSACTIONS = (OPERATIONS / "BenchTransactions.graphql").read_text()
REFUND = (OPERATIONS / "BenchRefund.graphql").read_text()

INITIATE_REFUND = """mutation BenchInitiateRefund($input: InitiateRefundInput!) {
  initiateRefund(input: $input) {
    refund { id amount status }
    userErrors { code field message }
  }
}"""

PAGE_SIZE = 20


def _cursor_near(age: timedelta, now: datetime) -> str:
    """A cursor a client could hold: a position in time, with the largest key at it."""
    stamp = (now - age).astimezone(UTC).isoformat()
    raw = f"{stamp}|{'f' * 32}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def transactions_requests(seeded: Seeded, count: int, rng: random.Random) -> list[tuple[str, dict]]:
    """(API key, variables) pairs: the first page half the time, a later page otherwise."""
    now = datetime.now(UTC)
    out = []
    for _ in range(count):
        key = seeded.keys[rng.randrange(seeded.merchants)]
        after = None
        if rng.random() < 0.5:
            after = _cursor_near(WINDOW * rng.uniform(0.0, 0.95), now)
        out.append((key, {"first": PAGE_SIZE, "after": after}))
    return out


def refund_requests(seeded: Seeded, count: int, rng: random.Random) -> list[tuple[str, dict]]:
    out = []
    for _ in range(count):
        m, refund_id = seeded.refund_ids[rng.randrange(len(seeded.refund_ids))]
        out.append((seeded.keys[m - 1], {"id": f"rfd_{refund_id.hex}"}))
    return out
