"""The practical ceiling: a hand-written Starlette + asyncpg + orjson endpoint that answers the
two read workloads with the same SQL, the same auth (SHA-256 key hash lookup, cached like the
service's) and byte-for-byte the same JSON as the GraphQL service, and nothing else.

Run: python -m bench.ceiling --port 8101   (DATABASE_URL in the environment)."""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.workloads import REFUND, TRANSACTIONS

TX_COLUMNS = (
    "id, merchant_id, reference, order_id, amount, currency, status, payment_method, "
    "source, created_at"
)
REFUND_COLUMNS = (
    "id, merchant_id, transaction_id, amount, currency, status, reason, notes, "
    "metadata, speed_requested, speed_processed, destination_kind, "
    "destination_display, failure_code, failure_message, bank_reference, "
    "estimated_settlement_at, created_at, updated_at, processed_at"
)
RELEASED = ("FAILED", "CANCELLED", "REVERSED")
# The service's two steps (db/repositories/api_keys.py) in one statement: it is cached anyway.
AUTH_SQL = (
    "SELECT k.merchant_id FROM api_key_routes AS r JOIN api_keys AS k "
    "ON k.merchant_id = r.merchant_id AND k.id = r.key_id "
    "WHERE r.key_hash = $1 AND k.revoked_at IS NULL"
)
PAGE_SQL = (
    f"SELECT {TX_COLUMNS} FROM transactions WHERE merchant_id = $1 "
    "ORDER BY created_at DESC, id DESC LIMIT $2"
)
PAGE_AFTER_SQL = (
    f"SELECT {TX_COLUMNS} FROM transactions WHERE merchant_id = $1 "
    "AND (created_at, id) < ($3, $4) ORDER BY created_at DESC, id DESC LIMIT $2"
)
REFUNDS_OF_SQL = (
    f"SELECT {REFUND_COLUMNS} FROM refunds WHERE merchant_id = $1 "
    "AND transaction_id = ANY($2::uuid[]) ORDER BY created_at DESC, id DESC"
)
REFUND_SQL = f"SELECT {REFUND_COLUMNS} FROM refunds WHERE merchant_id = $1 AND id = ANY($2::uuid[])"
TX_SQL = f"SELECT {TX_COLUMNS} FROM transactions WHERE merchant_id = $1 AND id = ANY($2::uuid[])"
UNAUTHENTICATED = orjson.dumps(
    {
        "data": None,
        "errors": [
            {
                "message": "Missing or unknown API key. Send Authorization: Bearer <key> "
                "(a merchant API key or the admin token).",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ],
    }
)


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def cursor(created_at: datetime, key: UUID) -> str:
    raw = f"{created_at.isoformat()}|{key.hex}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(value: str) -> tuple[datetime, UUID]:
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    when, _, key = raw.partition("|")
    return datetime.fromisoformat(when), UUID(hex=key)


class Ceiling:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.pool: asyncpg.Pool | None = None
        self.keys: dict[str, tuple[UUID, float]] = {}

    async def start(self) -> None:
        self.pool = await asyncpg.create_pool(self.dsn, min_size=10, max_size=20)

    async def merchant(self, header: str | None) -> UUID | None:
        scheme, _, token = (header or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        key_hash = hashlib.sha256(token.strip().encode()).hexdigest()
        cached = self.keys.get(key_hash)
        now = time.monotonic()
        if cached and cached[1] > now:
            return cached[0]
        merchant_id = await self.pool.fetchval(AUTH_SQL, key_hash)  # type: ignore[union-attr]
        if merchant_id is not None:
            self.keys[key_hash] = (merchant_id, now + 30.0)
        return merchant_id

    async def transactions(self, merchant_id: UUID, first: int, after: str | None) -> dict:
        pool = self.pool
        assert pool is not None
        if after is None:
            rows = await pool.fetch(PAGE_SQL, merchant_id, first + 1)
        else:
            rows = await pool.fetch(PAGE_AFTER_SQL, merchant_id, first + 1, *parse_cursor(after))
        page = rows[:first]
        refunds: dict[UUID, list] = {r["id"]: [] for r in page}
        if page:
            for r in await pool.fetch(REFUNDS_OF_SQL, merchant_id, [t["id"] for t in page]):
                refunds[r["transaction_id"]].append(r)
        edges = []
        for t in page:
            held = sum(r["amount"] for r in refunds[t["id"]] if r["status"] not in RELEASED)
            edges.append(
                {
                    "cursor": cursor(t["created_at"], t["id"]),
                    "node": {
                        "id": f"txn_{t['id'].hex}",
                        "amount": t["amount"],
                        "status": t["status"],
                        "createdAt": stamp(t["created_at"]),
                        "refundedAmount": held,
                        "refundableAmount": max(t["amount"] - held, 0)
                        if t["status"] == "SUCCESS"
                        else 0,
                        "refunds": [
                            {
                                "id": f"rfd_{r['id'].hex}",
                                "amount": r["amount"],
                                "status": r["status"],
                            }
                            for r in refunds[t["id"]]
                        ],
                    },
                }
            )
        return {
            "transactions": {
                "edges": edges,
                "pageInfo": {
                    "hasNextPage": len(rows) > first,
                    "endCursor": edges[-1]["cursor"] if edges else None,
                },
            }
        }

    async def refund(self, merchant_id: UUID, public_id: str) -> dict:
        pool = self.pool
        assert pool is not None
        r = await pool.fetchrow(REFUND_SQL, merchant_id, [UUID(hex=public_id[4:])])
        if r is None:
            return {"refund": None}
        t = await pool.fetchrow(TX_SQL, merchant_id, [r["transaction_id"]])
        return {
            "refund": {
                "id": f"rfd_{r['id'].hex}",
                "amount": r["amount"],
                "currency": r["currency"],
                "status": r["status"],
                "reason": r["reason"],
                "createdAt": stamp(r["created_at"]),
                "transaction": {
                    "id": f"txn_{t['id'].hex}",
                    "amount": t["amount"],
                    "status": t["status"],
                    "paymentMethod": t["payment_method"],
                },
            }
        }

    async def graphql(self, request: Request) -> Response:
        merchant_id = await self.merchant(request.headers.get("authorization"))
        if merchant_id is None:
            return Response(UNAUTHENTICATED, 401, media_type="application/json")
        body: dict[str, Any] = orjson.loads(await request.body())
        variables = body.get("variables") or {}
        if body.get("query") == TRANSACTIONS:
            data = await self.transactions(merchant_id, variables["first"], variables.get("after"))
        elif body.get("query") == REFUND:
            data = await self.refund(merchant_id, variables["id"])
        else:
            return Response(b'{"error":"the ceiling answers only the benchmark documents"}', 400)
        return Response(orjson.dumps({"data": data}), media_type="application/json")


def create_app() -> Starlette:
    ceiling = Ceiling(os.environ["DATABASE_URL"])

    async def lifespan(_app: Starlette):  # type: ignore[no-untyped-def]
        await ceiling.start()
        yield
        await ceiling.pool.close()  # type: ignore[union-attr]

    async def healthz(_request: Request) -> Response:
        return Response(b"ok")

    return Starlette(
        routes=[Route("/graphql", ceiling.graphql, methods=["POST"]), Route("/healthz", healthz)],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    args = parser.parse_args()
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
