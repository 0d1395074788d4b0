"""Webhook delivery, measured by hand (figures in bench/WEBHOOKS.md):

    .venv/bin/python -m bench.webhooks [--rate 100] [--seconds 30] [--backlog 10000]

A fresh embedded PostgreSQL, `refunds serve` with REFUNDS_PROCESSOR=off (the API only), one
`refunds worker` (its webhook dispatcher does the delivering) and a receiver process on
127.0.0.1 (bench/webhook_sink.py). Each status change is a refund created ON_HOLD (a merchant
with no balance, queueIfInsufficientBalance): one REFUND_CREATED event, and nothing for the
refund processor to do, so that the worker's time goes to webhooks alone.

1. latency: changes at --rate per second for --seconds; from the event's time (taken just
   before its transaction commits) to the receiver reading the request: p50, p99, max.
2. backlog: --backlog changes made with the worker stopped (to the outbox, as during an outage),
   then the worker started: the drain's deliveries per second with one worker, and the p99 of
   API reads (`refunds(first: 20)`, 4 clients) during the drain and before it."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import database
from bench.servers import REFUNDS, ROOT, Server, free_port, migrate, spawn, start_service

MERCHANTS = 10
WORKER_ENV: list[str] = []
READ = "{ refunds(first: 20) { edges { node { id status amount } } } }"


async def gql(http: httpx.AsyncClient, token: str, query: str, variables: Any = None) -> Any:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


async def setup_merchants(
    http: httpx.AsyncClient, admin: str, hook_url: str
) -> list[tuple[str, str]]:
    """(api key, transaction id) per merchant, each with an endpoint at the receiver."""
    made = []
    for m in range(MERCHANTS):
        created = (
            await gql(
                http,
                admin,
                """mutation($i: CreateMerchantInput!) {
            createMerchant(input: $i) { merchant { id } apiKey } }""",
                {"i": {"name": f"Bench {m}", "currency": "INR"}},
            )
        )["createMerchant"]
        key, merchant_id = created["apiKey"], created["merchant"]["id"]
        paid = (
            await gql(
                http,
                admin,
                """mutation($i: RecordTransactionInput!) {
            recordTransaction(input: $i) { transaction { id } } }""",
                {
                    "i": {
                        "merchantId": merchant_id,
                        "reference": f"pay_{m}",
                        "orderId": f"order_{m}",
                        "amount": 10**12,
                        "currency": "INR",
                        "status": "SUCCESS",
                        "paymentMethod": "UPI",
                        "source": "customer@okaxis",
                    }
                },
            )
        )["recordTransaction"]["transaction"]
        await gql(
            http,
            key,
            """mutation($i: CreateWebhookEndpointInput!) {
            createWebhookEndpoint(input: $i) { userErrors { code } } }""",
            {"i": {"url": hook_url, "enabledEvents": ["REFUND_CREATED"]}},
        )
        made.append((key, paid["id"]))
    return made


async def change(http: httpx.AsyncClient, merchant: tuple[str, str]) -> None:
    key, transaction_id = merchant
    data = await gql(
        http,
        key,
        """mutation($i: InitiateRefundInput!) {
        initiateRefund(input: $i) { refund { status } userErrors { code } } }""",
        {
            "i": {
                "transactionId": transaction_id,
                "amount": 1,
                "reason": "OTHER",
                "queueIfInsufficientBalance": True,
            }
        },
    )
    assert data["initiateRefund"]["refund"]["status"] == "ON_HOLD", data


def received(path: Path) -> list[tuple[str, float, float]]:
    lines = path.read_text().split("\n") if path.exists() else []
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            out.append((parts[0], float(parts[1]), float(parts[2])))
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def wait_for_deliveries(path: Path, count: int, limit: float = 600) -> None:
    deadline = time.monotonic() + limit
    while len({r[0] for r in received(path)}) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(received(path))} of {count} delivered")
        await asyncio.sleep(0.2)


async def latency_phase(
    http: httpx.AsyncClient,
    merchants: list[tuple[str, str]],
    rate: float,
    seconds: float,
    sink: Path,
) -> dict[str, float]:
    total = int(rate * seconds)
    start = time.monotonic()
    tasks = []
    for n in range(total):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(change(http, merchants[n % len(merchants)])))
    await asyncio.gather(*tasks)
    await wait_for_deliveries(sink, total)
    lat = [(got - at) * 1000 for _, at, got in received(sink)]
    return {
        "events": total,
        "p50_ms": statistics.median(lat),
        "p99_ms": percentile(lat, 99),
        "max_ms": max(lat),
    }


async def reads(http: httpx.AsyncClient, key: str, stop: asyncio.Event, out: list[float]) -> None:
    while not stop.is_set():
        began = time.perf_counter()
        await gql(http, key, READ)
        out.append((time.perf_counter() - began) * 1000)


async def read_p99(
    http: httpx.AsyncClient, merchants: list[tuple[str, str]], seconds: float
) -> tuple[float, int]:
    stop = asyncio.Event()
    found: list[float] = []
    readers = [asyncio.create_task(reads(http, merchants[i][0], stop, found)) for i in range(4)]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*readers)
    return percentile(found, 99), len(found)


def start_worker(url: str, admin: str, work: Path, name: str) -> Server:
    env = {
        "DATABASE_URL": url,
        "REFUNDS_ADMIN_TOKEN": admin,
        "REFUNDS_WEBHOOK_ALLOW_PRIVATE": "1",
        "REFUNDS_DATA_DIR": str(work / "data"),
        # --worker-env NAME=VALUE …
        **dict(pair.split("=", 1) for pair in WORKER_ENV),
    }
    command = [*REFUNDS, "worker"]
    if profile := os.environ.get("BENCH_PROFILE"):  # a cProfile of the worker, to this file
        command = [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            f"{profile}.{name}",
            "-m",
            "api",
            "worker",
        ]
    return spawn(name, command, env, work / f"{name}.log", 0)


def stop(server: Server) -> None:
    os.killpg(server.process.pid, signal.SIGTERM)
    server.process.wait(30)


async def run(args: argparse.Namespace, work: Path) -> None:
    db = database.start(work)
    migrate(db.url, ROOT)
    admin = "adm_bench_" + secrets.token_hex(16)
    api = start_service(
        db.url,
        admin,
        work,
        ROOT,
        {"REFUNDS_WEBHOOK_ALLOW_PRIVATE": "1", "REFUNDS_RATE_LIMIT_PER_KEY": ""},
    )
    api.wait_ready()
    sink_port, sink_file = free_port(), work / "sink.txt"
    sink = subprocess.Popen(  # noqa: ASYNC220  (started once, before any load)
        [sys.executable, "-m", "bench.webhook_sink", str(sink_port), str(sink_file)],
        cwd=ROOT,
        start_new_session=True,
    )
    worker = start_worker(db.url, admin, work, "worker-1")
    try:
        base = api.url.removesuffix("/graphql")
        async with httpx.AsyncClient(
            base_url=base, timeout=60, limits=httpx.Limits(max_connections=64)
        ) as http:
            merchants = await setup_merchants(http, admin, f"http://127.0.0.1:{sink_port}/hooks")
            await asyncio.sleep(1)
            print(
                "latency:",
                await latency_phase(http, merchants, args.rate, args.seconds, sink_file),
                flush=True,
            )
            stop(worker)
            before = len(received(sink_file))
            baseline = await read_p99(http, merchants, 10)
            print(
                f"read p99 without a drain: {baseline[0]:.1f} ms ({baseline[1]} reads)", flush=True
            )
            sem = asyncio.Semaphore(32)

            async def one(n: int) -> None:
                async with sem:
                    await change(http, merchants[n % len(merchants)])

            await asyncio.gather(*(one(n) for n in range(args.backlog)))
            print(f"backlog of {args.backlog} events stored; starting one worker", flush=True)
            stop_reads = asyncio.Event()
            during: list[float] = []
            readers = [
                asyncio.create_task(reads(http, merchants[i][0], stop_reads, during))
                for i in range(4)
            ]
            worker = start_worker(db.url, admin, work, "worker-2")
            began = time.monotonic()
            await wait_for_deliveries(sink_file, before + args.backlog)
            drained = time.monotonic() - began
            stop_reads.set()
            await asyncio.gather(*readers)
            got = received(sink_file)[before:]
            first, last = min(g[2] for g in got), max(g[2] for g in got)
            print(
                f"drain: {args.backlog} in {drained:.1f} s from worker start "
                f"({args.backlog / drained:.0f}/s); first to last delivery {last - first:.1f} s "
                f"({args.backlog / (last - first):.0f}/s)",
                flush=True,
            )
            print(
                f"read p99 during the drain: {percentile(during, 99):.1f} ms ({len(during)} reads)",
                flush=True,
            )
    finally:
        for server in (worker, api):
            if server.process.poll() is None:
                stop(server)
        os.killpg(sink.pid, signal.SIGTERM)
        for log in sorted(work.glob("*.log")):  # noqa: ASYNC240  (after the measurements)
            if text := log.read_text().strip():
                print(f"--- {log.name} (last lines)\n" + "\n".join(text.splitlines()[-5:]))
        db.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--worker-env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    WORKER_ENV.extend(args.worker_env)
    with tempfile.TemporaryDirectory(prefix="refunds-bench-webhooks-") as work:
        asyncio.run(run(args, Path(work)))


if __name__ == "__main__":
    main()
