"""The practical ceiling: the fastest hand-written endpoint we could write for the bench's read
workloads (bench/workloads.py). Starlette + asyncpg, the service's auth (SHA-256 key hash lookup,
cached like the service's), and for each request ONE statement that builds the whole response in
PostgreSQL with json_build_object / json_agg, tenancy (merchant_id) in every predicate. Its JSON
equals the service's after parsing (PostgreSQL puts spaces after its colons; bench/answers.py).

It answers exactly the bench's documents (matched by text) and nothing else.
Run: python -m bench.ceiling --port 8101   (DATABASE_URL in the environment)."""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import workloads

# The service's two steps (db/repositories/api_keys.py) in one statement: it is cached anyway.
AUTH_SQL = (
    "SELECT k.merchant_id FROM api_key_routes AS r JOIN api_keys AS k "
    "ON k.merchant_id = r.merchant_id AND k.id = r.key_id "
    "WHERE r.key_hash = $1 AND k.revoked_at IS NULL"
)
RELEASED = "('FAILED', 'CANCELLED', 'REVERSED')"
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


# SQL expressions for the service's scalars, so that PostgreSQL writes the final JSON.


def obj(*fields: tuple[str, str], typename: str | None = None) -> str:
    """json_build_object of (key, SQL expression) pairs, `__typename` first when asked."""
    pairs = ([("__typename", f"'{typename}'")] if typename else []) + list(fields)
    return "json_build_object(" + ", ".join(f"'{k}', {v}" for k, v in pairs) + ")"


def public_id(prefix: str, column: str) -> str:
    return f"'{prefix}_' || replace({column}::text, '-', '')"


def iso(column: str) -> str:
    """Python's `datetime.astimezone(UTC).isoformat()`: six fractional digits, none when zero."""
    return (
        f"to_char({column} AT TIME ZONE 'UTC', CASE WHEN extract(microseconds FROM {column}) "
        '% 1000000 = 0 THEN \'YYYY-MM-DD"T"HH24:MI:SS"+00:00"\' '
        'ELSE \'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\' END)'
    )


def cursor(created_at: str, key: str) -> str:
    """api/pagination.py's newest-first cursor: URL-safe base64 of "<createdAt>|<uuid hex>"."""
    raw = f"{iso(created_at)} || '|' || replace({key}::text, '-', '')"
    return f"rtrim(translate(encode(convert_to({raw}, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')"


def newest_first(table: str, columns: str, where: str) -> str:
    """`rows`: the page and one more row (to say whether a next page exists); `page`: the page
    with each row's cursor."""
    return f"""WITH rows AS (
  SELECT {columns}, created_at FROM {table} WHERE merchant_id = $1 {where}
  ORDER BY created_at DESC, id DESC LIMIT $2 + 1
), page AS (
  SELECT *, {cursor("created_at", "id")} AS cursor FROM rows
  ORDER BY created_at DESC, id DESC LIMIT $2
)"""


AFTER = "AND (created_at, id) < ($3, $4)"
PAGE_INFO = (
    ("hasNextPage", "(SELECT count(*) FROM rows) > $2"),
    ("endCursor", "(SELECT cursor FROM page ORDER BY created_at, id LIMIT 1)"),
)
HELD = f"coalesce(sum(r.amount) FILTER (WHERE r.status NOT IN {RELEASED}), 0)"
REFUNDABLE = "CASE WHEN p.status = 'SUCCESS' THEN greatest(p.amount - h.held, 0) ELSE 0 END"


def transactions_page_sql(*, typenames: bool, after: bool) -> str:
    """(a), and (x) without `__typename`: a page of transactions with their refunds."""

    def named(name: str) -> str | None:
        return name if typenames else None

    refund = obj(
        ("id", public_id("rfd", "r.id")),
        ("amount", "r.amount"),
        ("status", "r.status"),
        typename=named("Refund"),
    )
    node = obj(
        ("id", public_id("txn", "p.id")),
        ("amount", "p.amount"),
        ("status", "p.status"),
        ("createdAt", iso("p.created_at")),
        ("refundedAmount", "h.held"),
        ("refundableAmount", REFUNDABLE),
        ("refunds", "h.list"),
        typename=named("Transaction"),
    )
    edge = obj(("cursor", "p.cursor"), ("node", node), typename=named("TransactionEdge"))
    edges = f"""coalesce((
  SELECT json_agg({edge} ORDER BY p.created_at DESC, p.id DESC)
  FROM page p CROSS JOIN LATERAL (
    SELECT coalesce(json_agg({refund} ORDER BY r.created_at DESC, r.id DESC), '[]') AS list,
           {HELD} AS held
    FROM refunds r WHERE r.merchant_id = $1 AND r.transaction_id = p.id
  ) h), '[]')"""
    connection = obj(
        ("edges", edges),
        ("pageInfo", obj(*PAGE_INFO, typename=named("PageInfo"))),
        typename=named("TransactionConnection"),
    )
    head = newest_first("transactions", "id, amount, status", AFTER if after else "")
    return f"{head}\nSELECT {obj(('data', obj(('transactions', connection))))}::text"


def refund_node_sql() -> str:
    """(b): one refund and its transaction (joined: one row)."""
    transaction = obj(
        ("id", public_id("txn", "t.id")),
        ("amount", "t.amount"),
        ("status", "t.status"),
        ("paymentMethod", "t.payment_method"),
    )
    refund = obj(
        ("id", public_id("rfd", "r.id")),
        ("amount", "r.amount"),
        ("currency", "r.currency"),
        ("status", "r.status"),
        ("reason", "r.reason"),
        ("createdAt", iso("r.created_at")),
        ("transaction", transaction),
        typename="Refund",
    )
    node = f"""(SELECT {refund}
  FROM refunds r JOIN transactions t ON t.merchant_id = r.merchant_id AND t.id = r.transaction_id
  WHERE r.merchant_id = $1 AND r.id = $2)"""
    return f"SELECT {obj(('data', obj(('node', node))))}::text"


REFUND_NODE_SQL = refund_node_sql()
NO_NODE = b'{"data":{"node":null}}'


def dashboard_sql(*, status: bool, method: bool) -> str:
    """(c): the merchant, the count under the filter, and the filter's first page."""
    where = "AND status = $3 " if status else ""
    if method:
        where += f"AND payment_method = ${4 if status else 3}"
    viewer = obj(
        ("id", public_id("mer", "m.id")),
        ("name", "m.name"),
        ("currency", "m.currency"),
        ("balance", "m.balance"),
    )
    node = obj(
        ("id", public_id("txn", "p.id")),
        ("orderId", "p.order_id"),
        ("amount", "p.amount"),
        ("paymentMethod", "p.payment_method"),
        ("status", "p.status"),
        ("refundedAmount", "h.held"),
        ("refundableAmount", REFUNDABLE),
    )
    edges = f"""coalesce((
  SELECT json_agg({obj(("node", node))} ORDER BY p.created_at DESC, p.id DESC)
  FROM page p CROSS JOIN LATERAL (
    SELECT {HELD} AS held
    FROM refunds r WHERE r.merchant_id = $1 AND r.transaction_id = p.id
  ) h), '[]')"""
    connection = obj(
        ("totalCount", f"(SELECT count(*) FROM transactions WHERE merchant_id = $1 {where})"),
        ("edges", edges),
        ("pageInfo", obj(*PAGE_INFO)),
    )
    head = newest_first("transactions", "id, order_id, amount, payment_method, status", where)
    data = obj(
        ("viewer", f"(SELECT {viewer} FROM merchants m WHERE m.id = $1)"),
        ("transactions", connection),
    )
    return f"{head}\nSELECT {obj(('data', data))}::text"


def refunds_page_sql(*, after: bool) -> str:
    """(d): a page of refunds, each with its transaction (joined: one row each)."""
    node = obj(
        ("id", public_id("rfd", "p.id")),
        ("amount", "p.amount"),
        ("status", "p.status"),
        ("reason", "p.reason"),
        ("createdAt", iso("p.created_at")),
        (
            "transaction",
            obj(
                ("id", public_id("txn", "t.id")),
                ("orderId", "t.order_id"),
                ("amount", "t.amount"),
                ("paymentMethod", "t.payment_method"),
            ),
        ),
    )
    edges = f"""coalesce((
  SELECT json_agg({obj(("cursor", "p.cursor"), ("node", node))}
                  ORDER BY p.created_at DESC, p.id DESC)
  FROM page p JOIN transactions t ON t.merchant_id = $1 AND t.id = p.transaction_id
  ), '[]')"""
    connection = obj(("edges", edges), ("pageInfo", obj(*PAGE_INFO)))
    head = newest_first(
        "refunds", "id, transaction_id, amount, status, reason", AFTER if after else ""
    )
    return f"{head}\nSELECT {obj(('data', obj(('refunds', connection))))}::text"


def parse_cursor(value: str) -> tuple[datetime, UUID]:
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    when, _, key = raw.partition("|")
    return datetime.fromisoformat(when), UUID(hex=key)


Answer = Callable[[asyncpg.Pool, UUID, dict[str, Any]], Awaitable[bytes]]


def paged(first_page: str, later_page: str) -> Answer:
    async def answer(pool: asyncpg.Pool, merchant_id: UUID, variables: dict[str, Any]) -> bytes:
        after = variables.get("after")
        text: str
        if after is None:
            text = await pool.fetchval(first_page, merchant_id, variables["first"])
        else:
            text = await pool.fetchval(
                later_page, merchant_id, variables["first"], *parse_cursor(after)
            )
        return text.encode()

    return answer


async def refund_node(pool: asyncpg.Pool, merchant_id: UUID, variables: dict[str, Any]) -> bytes:
    prefix, _, key = variables["id"].partition("_")
    if prefix != "rfd":
        return NO_NODE
    node: str = await pool.fetchval(REFUND_NODE_SQL, merchant_id, UUID(hex=key))
    return node.encode()


DASHBOARD_SQL = {
    (status, method): dashboard_sql(status=status, method=method)
    for status in (False, True)
    for method in (False, True)
}


async def dashboard(pool: asyncpg.Pool, merchant_id: UUID, variables: dict[str, Any]) -> bytes:
    given = variables.get("filter") or {}
    status, method = given.get("status"), given.get("paymentMethod")
    sql = DASHBOARD_SQL[(status is not None, method is not None)]
    given_values = [v for v in (status, method) if v is not None]
    page: str = await pool.fetchval(sql, merchant_id, variables["first"], *given_values)
    return page.encode()


ANSWERS: dict[str, Answer] = {
    workloads.TRANSACTIONS_PAGE: paged(
        transactions_page_sql(typenames=True, after=False),
        transactions_page_sql(typenames=True, after=True),
    ),
    workloads.REFUND_NODE: refund_node,
    workloads.DASHBOARD: dashboard,
    workloads.REFUNDS_PAGE: paged(refunds_page_sql(after=False), refunds_page_sql(after=True)),
    workloads.BENCH_TRANSACTIONS: paged(
        transactions_page_sql(typenames=False, after=False),
        transactions_page_sql(typenames=False, after=True),
    ),
}


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
        merchant_id: UUID | None = await self.pool.fetchval(AUTH_SQL, key_hash)  # type: ignore[union-attr]
        if merchant_id is not None:
            self.keys[key_hash] = (merchant_id, now + 30.0)
        return merchant_id

    async def graphql(self, request: Request) -> Response:
        merchant_id = await self.merchant(request.headers.get("authorization"))
        if merchant_id is None:
            return Response(UNAUTHENTICATED, 401, media_type="application/json")
        body: dict[str, Any] = orjson.loads(await request.body())
        answer = ANSWERS.get(body.get("query") or "")
        if answer is None:
            return Response(b'{"error":"the ceiling answers only the benchmark documents"}', 400)
        assert self.pool is not None
        data = await answer(self.pool, merchant_id, body.get("variables") or {})
        return Response(data, media_type="application/json")


def create_app(dsn: str) -> Starlette:
    ceiling = Ceiling(dsn)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
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
        create_app(os.environ["DATABASE_URL"]),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
