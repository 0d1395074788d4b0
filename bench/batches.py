"""Refund batches and exports, measured by hand (figures in bench/BATCHES.md):

    .venv/bin/python -m bench.batches [--items 10000] [--rounds 2] [--export-rows 100000]
                                      [--accept-items 10000]

A fresh embedded PostgreSQL and one `refunds serve` with its processor on (it applies batches
and settles refunds; the sandbox rails settle at once), on 127.0.0.1.

0. acceptance: three batches of --accept-items items, each timed to initiateRefundBatch's
   answer (then cancelled).
1. batch vs single refunds, alternating in each round, each on a merchant of its own with
   --items fresh payments: a batch of --items items (one per payment) by initiateRefundBatch,
   timed to the mutation's answer (accepted) and to the batch COMPLETED (applied); then the same
   refunds by 32 clients calling initiateRefund at once, timed to the last answer.
2. the refunds export: --export-rows refunds of one merchant, GET /exports/refunds.csv read to
   the end, against PostgreSQL's own `COPY (the same query) TO STDOUT` on one connection, in
   alternating rounds; the service's peak RSS while it streams (sampled from /proc every 10 ms),
   and the same for an export a tenth the size (flat memory: the peaks should not differ)."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from bench import database
from bench.servers import ROOT, gql, migrate, start_service
from db.listener import connect_kwargs
from db.reports import refunds_export_query

CLIENTS = 32
BATCH = """mutation($input: InitiateRefundBatchInput!) {
  initiateRefundBatch(input: $input) { batch { id total } userErrors { code message } } }"""
REFUND = """mutation($input: InitiateRefundInput!) {
  initiateRefund(input: $input) { refund { id } userErrors { code } } }"""
STATUS = "query($id: ID!) { refundBatch(id: $id) { status created refused } }"
CANCEL = "mutation($id: ID!) { cancelRefundBatch(input: {id: $id}) { batch { status } } }"


async def merchant(http: httpx.AsyncClient, admin: str, name: str) -> tuple[str, str]:
    """(merchant id, api key) of a new merchant with a balance that covers everything."""
    created = (
        await gql(
            http,
            admin,
            "mutation($i: CreateMerchantInput!) { createMerchant(input: $i) "
            "{ merchant { id } apiKey } }",
            {"i": {"name": name}},
        )
    )["createMerchant"]
    merchant_id = created["merchant"]["id"]
    await gql(
        http,
        admin,
        "mutation($i: RechargeBalanceInput!) { rechargeBalance(input: $i) { merchant { id } } }",
        {"i": {"merchantId": merchant_id, "amount": 10**15, "reference": f"rch-{name}"}},
    )
    return merchant_id, created["apiKey"]


async def payments(conn: asyncpg.Connection, merchant_id: str, count: int) -> list[str]:
    """`count` successful payments of 100.00, written straight to the table; their public ids."""
    uuid = merchant_id.partition("_")[2]
    rows = await conn.fetch(
        "INSERT INTO transactions (merchant_id, id, reference, order_id, amount, currency, "
        "status, payment_method, source, created_at) "
        "SELECT $1::uuid, gen_random_uuid(), 'pay_' || $2 || '_' || n, 'order_' || n, 10000, "
        "'INR', 'SUCCESS', 'UPI', 'customer@okaxis', now() - n * interval '1 second' "
        "FROM generate_series(1, $3) AS n RETURNING id",
        uuid,
        secrets.token_hex(4),
        count,
    )
    return [f"txn_{r['id'].hex}" for r in rows]


async def batch_round(http: httpx.AsyncClient, key: str, ids: list[str]) -> tuple[float, float]:
    """(seconds to accept, seconds to apply) one batch of an item per payment."""
    items = [{"transactionId": i, "amount": 1_00, "reason": "ORDER_CANCELLED"} for i in ids]
    variables = {"input": {"items": items, "idempotencyKey": secrets.token_hex(8)}}
    began = time.perf_counter()
    payload = (await gql(http, key, BATCH, variables))["initiateRefundBatch"]
    accepted = time.perf_counter() - began
    assert payload["userErrors"] == [], payload["userErrors"]
    while True:
        found = (await gql(http, key, STATUS, {"id": payload["batch"]["id"]}))["refundBatch"]
        if found["status"] != "RUNNING":
            break
        await asyncio.sleep(0.05)
    applied = time.perf_counter() - began
    assert found["created"] == len(ids), found
    return accepted, applied


async def accept_only(
    http: httpx.AsyncClient, conn: asyncpg.Connection, admin: str, items: int
) -> float:
    """Seconds to accept a batch of `items` items (then cancelled: only acceptance is timed)."""
    merchant_id, key = await merchant(http, admin, "accept-only")
    ids = await payments(conn, merchant_id, items)
    batch = [{"transactionId": i, "amount": 1_00, "reason": "ORDER_CANCELLED"} for i in ids]
    variables = {"input": {"items": batch, "idempotencyKey": secrets.token_hex(8)}}
    began = time.perf_counter()
    payload = (await gql(http, key, BATCH, variables))["initiateRefundBatch"]
    accepted = time.perf_counter() - began
    assert payload["userErrors"] == [], payload["userErrors"]
    await gql(http, key, CANCEL, {"id": payload["batch"]["id"]})
    return accepted


async def singles_round(http: httpx.AsyncClient, key: str, ids: list[str]) -> float:
    """Seconds for CLIENTS clients to refund every payment, one initiateRefund each."""
    queue = list(reversed(ids))

    async def client() -> None:
        while queue:
            transaction_id = queue.pop()
            variables = {
                "input": {"transactionId": transaction_id, "amount": 1_00, "reason": "OTHER"}
            }
            answer = (await gql(http, key, REFUND, variables))["initiateRefund"]
            assert answer["userErrors"] == [], answer

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return time.perf_counter() - began


async def seed_refunds(conn: asyncpg.Connection, merchant_id: str, count: int) -> None:
    """`count` PROCESSED refunds of the merchant, one per payment, written straight."""
    uuid = merchant_id.partition("_")[2]
    await payments(conn, merchant_id, count)
    await conn.execute(
        "INSERT INTO refunds (merchant_id, id, transaction_id, amount, currency, status, reason, "
        "speed_requested, speed_processed, destination_kind, destination_display, "
        "bank_reference, created_at, updated_at, processed_at) "
        "SELECT merchant_id, gen_random_uuid(), id, 1234, 'INR', 'PROCESSED', 'OTHER', "
        "'NORMAL', 'NORMAL', 'ORIGINAL_SOURCE', 'c***@okaxis', 'ARN' || reference, "
        "created_at, created_at, created_at FROM transactions WHERE merchant_id = $1::uuid",
        uuid,
    )
    await conn.execute("ANALYZE")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def export_round(
    http: httpx.AsyncClient, key: str, window: dict[str, str], pid: int
) -> tuple[float, int, int]:
    """(seconds, bytes, peak RSS in KiB) of one export read to the end."""
    peak = rss_kib(pid)
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(pid))
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    size = 0
    began = time.perf_counter()
    async with http.stream(
        "GET", "/exports/refunds.csv", params=window, headers={"Authorization": f"Bearer {key}"}
    ) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_raw():
            size += len(chunk)
    took = time.perf_counter() - began
    done.set()
    await sampler
    return took, size, peak


async def copy_round(conn: asyncpg.Connection, merchant_id: str, window: dict[str, str]) -> float:
    """Seconds for PostgreSQL's own COPY of the export's query, read by asyncpg."""
    size = 0

    async def sink(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)

    args = [
        merchant_id.partition("_")[2],
        *(datetime.fromisoformat(window[k]) for k in ("from", "to")),
    ]
    began = time.perf_counter()
    await conn.copy_from_query(
        refunds_export_query(2, with_statuses=False), *args, output=sink, format="csv", header=True
    )
    return time.perf_counter() - began


def median(values: list[float]) -> float:
    return statistics.median(values)


async def run(args: argparse.Namespace, work: Path) -> None:
    db = database.start(work)
    migrate(db.url, ROOT)
    admin = "adm_bench_" + secrets.token_hex(16)
    service = start_service(
        db.url,
        admin,
        work,
        ROOT,
        {
            "REFUNDS_PROCESSOR": "on",
            "REFUNDS_GATEWAY_DELAY_SCALE": "0",
            "REFUNDS_RATE_LIMIT_PER_KEY": "",
        },
    )
    service.wait_ready()
    print(f"load before: {os.getloadavg()}  cores: {os.cpu_count()}", flush=True)
    conn = await asyncpg.connect(**connect_kwargs(db.url))
    try:
        async with httpx.AsyncClient(
            base_url=service.url.removesuffix("/graphql"),
            timeout=600,
            limits=httpx.Limits(max_connections=CLIENTS + 4),
        ) as http:
            if args.accept_items:
                took = [await accept_only(http, conn, admin, args.accept_items) for _ in range(3)]
                each = ", ".join(f"{t:.2f}" for t in took)
                print(
                    f"batch of {args.accept_items} accepted in {each} s "
                    f"(median {median(took):.2f} s)",
                    flush=True,
                )
            accepted, applied, singles = [], [], []
            for round_ in range(args.rounds):
                batch_merchant, batch_key = await merchant(http, admin, f"batch-{round_}")
                batch_ids = await payments(conn, batch_merchant, args.items)
                single_merchant, single_key = await merchant(http, admin, f"single-{round_}")
                single_ids = await payments(conn, single_merchant, args.items)
                first, second = ("batch", "singles") if round_ % 2 == 0 else ("singles", "batch")
                for which in (first, second):
                    if which == "batch":
                        a, b = await batch_round(http, batch_key, batch_ids)
                        accepted.append(a)
                        applied.append(b)
                        print(
                            f"round {round_}: batch accepted {a:.2f} s, applied {b:.1f} s",
                            flush=True,
                        )
                    else:
                        s = await singles_round(http, single_key, single_ids)
                        singles.append(s)
                        print(f"round {round_}: {CLIENTS} clients {s:.1f} s", flush=True)
            print(
                f"batch of {args.items}: accepted median {median(accepted):.2f} s; applied median "
                f"{median(applied):.1f} s ({args.items / median(applied):.0f}/s); {CLIENTS} "
                f"clients median {median(singles):.1f} s ({args.items / median(singles):.0f}/s); "
                f"ratio batch/clients throughput {median(singles) / median(applied):.2f}",
                flush=True,
            )
            big_id, big_key = await merchant(http, admin, "export-big")
            await seed_refunds(conn, big_id, args.export_rows)
            small_id, small_key = await merchant(http, admin, "export-small")
            await seed_refunds(conn, small_id, args.export_rows // 10)
            now = datetime.now(UTC)
            window = {
                "from": (now - timedelta(days=30)).isoformat(),
                "to": (now + timedelta(hours=1)).isoformat(),
            }
            pid = service.process.pid
            exports: list[float] = []
            copies: list[float] = []
            peaks: list[float] = []
            small_peaks: list[float] = []
            for round_ in range(args.rounds + 1):
                order = ("export", "copy") if round_ % 2 == 0 else ("copy", "export")
                for which in order:
                    if which == "export":
                        seconds, size, peak = await export_round(http, big_key, window, pid)
                        exports.append(seconds)
                        peaks.append(peak)
                    else:
                        copies.append(await copy_round(conn, big_id, window))
                _, _, small_peak = await export_round(http, small_key, window, pid)
                small_peaks.append(small_peak)
                print(
                    f"round {round_}: export {exports[-1]:.2f} s ({size / 1e6:.1f} MB), COPY "
                    f"{copies[-1]:.2f} s, peak RSS {peak / 1024:.0f} MiB "
                    f"(a tenth the rows: {small_peak / 1024:.0f} MiB)",
                    flush=True,
                )
            print(
                f"export of {args.export_rows} refunds: median {median(exports):.2f} s, COPY "
                f"median {median(copies):.2f} s, ratio (COPY time / export time) "
                f"{median(copies) / median(exports):.2f}; peak RSS median "
                f"{median(peaks) / 1024:.0f} MiB ({args.export_rows // 10} rows: "
                f"{median(small_peaks) / 1024:.0f} MiB)",
                flush=True,
            )
    finally:
        print(f"load after: {os.getloadavg()}", flush=True)
        await conn.close()
        service.stop()
        if text := (work / "graphql.log").read_text().strip():  # noqa: ASYNC240
            print("--- service log (last lines)\n" + "\n".join(text.splitlines()[-5:]))
        db.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--export-rows", type=int, default=100_000)
    parser.add_argument(
        "--accept-items", type=int, default=10_000, help="a batch only accepted (0: none)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="refunds-bench-batches-") as work:
        asyncio.run(run(args, Path(work)))


if __name__ == "__main__":
    main()
