"""Live-status benchmark: subscription fan-out, memory per idle subscription, and
commit-to-subscriber latency under a steady rate of status changes.

    python -m bench.subscriptions                 # everything, writes bench/SUBSCRIPTIONS.md
    python -m bench.subscriptions --sizes 1000 --rates 100 --duration 5 --no-report

Standalone: it starts an embedded PostgreSQL in a temporary directory (or uses DATABASE_URL,
in a fresh database of its own), runs `refunds serve` on 127.0.0.1 with the processor off (the
benchmark makes the status changes itself, through the domain's use cases, so it knows when
each one committed), and drives subscribers from separate client processes over real
WebSockets (graphql-transport-ws). Everything it starts, it stops.

Times are CLOCK_MONOTONIC, shared by every process on the machine: a change's time is taken
when its commit returns in the committer, a delivery's when the client reads the frame."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import secrets
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import psutil
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import database as embedded
from bench import servers
from bench.status_changes import change_status, new_tenant, public_refund_id, settle, start
from bench.subscribers import Subscribers, raise_fd_limit
from bench.subscriptions_report import report
from db.engine import create_engine
from db.listener import connect_kwargs

ROOT = servers.ROOT
ADMIN_TOKEN = "adm_bench_" + secrets.token_hex(16)


# -- the database and the server ------------------------------------------------------------


@contextmanager
def database(work: Path) -> Iterator[str]:
    """A fresh, migrated database URL: a database of its own on the server of DATABASE_URL
    (dropped at the end), else a fresh embedded server in `work` (bench/database.py)."""
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        db = embedded.start(work)
        try:
            servers.migrate(db.url, ROOT)
            yield db.url
        finally:
            db.stop()
        return
    name = f"refunds_bench_subs_{secrets.token_hex(3)}"
    asyncio.run(_admin_sql(server_url, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        servers.migrate(url, ROOT)
        yield url
    finally:
        asyncio.run(_admin_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin_sql(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(**connect_kwargs(server_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def pg_version(url: str) -> str:
    conn = await asyncpg.connect(**connect_kwargs(url))
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


@dataclass
class Setup:
    """What every measurement of one run shares."""

    db_url: str
    engine: AsyncEngine
    work: Path  # the server's data directory goes here
    log: Path  # every server started appends to it
    gc_threshold: str  # --gc-threshold: REFUNDS_GC_THRESHOLD for the server, to compare


@contextmanager
def serving(setup: Setup) -> Iterator[servers.Server]:
    """`refunds serve` with the processor off (the benchmark makes the status changes itself)
    and room for tens of thousands of subscribers."""
    env = {"REFUNDS_WS_MAX_CONNECTIONS": "20000", "REFUNDS_MAX_SUBSCRIBERS": "50000"}
    if setup.gc_threshold:  # else the service's own default (api/gc_tuning.py)
        env["REFUNDS_GC_THRESHOLD"] = setup.gc_threshold
    server = servers.start_service(
        setup.db_url, ADMIN_TOKEN, setup.work, ROOT, env, name="refunds serve", log=setup.log
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def rss(server: servers.Server) -> int:
    return int(psutil.Process(server.process.pid).memory_info().rss)


# -- the measurements -----------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def fan_out(
    setup: Setup, size: int, rounds: int, processes: int, per_connection: int
) -> dict[str, Any]:
    engine = setup.engine
    tenant = await new_tenant(engine, (rounds + 1) // 2)
    with serving(setup) as srv:
        # warm the server (imports, caches, one subscription) before the baseline
        warm = Subscribers(srv.port, tenant.key, 1, 1, 1)
        warm.wait_connected(srv)
        warm.stop()
        await asyncio.sleep(1)
        baseline = rss(srv)
        subs = Subscribers(srv.port, tenant.key, size, processes, per_connection)
        try:
            connect_started = time.monotonic()
            subs.wait_connected(srv)
            connect_seconds = time.monotonic() - connect_started
            gc.collect()
            await asyncio.sleep(3)
            idle_rss = rss(srv)
            commits: dict[tuple[str, str], float] = {}
            expected = 0
            complete = True
            for n in range(rounds):
                refund_id = tenant.refund_ids[n // 2]
                if n % 2 == 0:
                    t, status = await start(engine, tenant.merchant_id, refund_id), "PROCESSING"
                else:
                    t, status = await settle(engine, tenant.merchant_id, refund_id), "PROCESSED"
                commits[(public_refund_id(refund_id), status)] = t
                expected += size
                complete &= subs.wait_received(expected)
                await asyncio.sleep(0.2)
            receipts = subs.take()
        finally:
            subs.stop()
    last: dict[tuple[str, str], float] = defaultdict(float)
    every: dict[tuple[str, str], list[float]] = defaultdict(list)
    for t, public_id, status in receipts:
        key = (public_id, status)
        if key in commits:
            last[key] = max(last[key], t)
            every[key].append(t - commits[key])
    fan = [(last[k] - commits[k]) * 1000 for k in commits if k in last]
    deliveries = [d * 1000 for ds in every.values() for d in ds]
    return {
        "size": size,
        "rounds": rounds,
        "complete": complete and len(receipts) == size * rounds,
        "received": len(receipts),
        "connect_seconds": connect_seconds,
        "baseline_rss": baseline,
        "idle_rss": idle_rss,
        "bytes_per_subscription": (idle_rss - baseline) / size,
        "fanout_ms_p50": statistics.median(fan),
        "fanout_ms_p99": pct(fan, 99),
        "fanout_ms_max": max(fan),
        "delivery_ms_p50": statistics.median(deliveries),
    }


async def steady_rate(setup: Setup, rate: int, duration: float, subscribers: int) -> dict[str, Any]:
    refunds = int(rate * duration / 2)
    tenant = await new_tenant(setup.engine, refunds)
    pool = await asyncpg.create_pool(**connect_kwargs(setup.db_url), min_size=8, max_size=8)
    with serving(setup) as srv:
        subs = Subscribers(srv.port, tenant.key, subscribers, 1, 1)
        try:
            subs.wait_connected(srv)
            await asyncio.sleep(1)
            commits: dict[tuple[str, str], float] = {}
            lag: list[float] = []

            async def both(refund_id: UUID, due: float) -> None:
                lag.append(max(0.0, time.monotonic() - due))
                for status in ("PROCESSING", "PROCESSED"):
                    commits[(public_refund_id(refund_id), status)] = await change_status(
                        pool, refund_id, status
                    )

            # open loop: a refund's two changes start every 2/rate seconds, whatever the
            # previous ones are doing, so a slow commit does not lower the offered rate
            began = time.monotonic()
            tasks = []
            for n, refund_id in enumerate(tenant.refund_ids):
                due = began + n * 2 / rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                tasks.append(asyncio.create_task(both(refund_id, due)))
            await asyncio.gather(*tasks)
            elapsed = time.monotonic() - began
            complete = subs.wait_received(len(commits) * subscribers)
            receipts = subs.take()
        finally:
            subs.stop()
            await pool.close()
    latencies = [(t - commits[(r, s)]) * 1000 for t, r, s in receipts if (r, s) in commits]
    return {
        "rate": rate,
        "achieved_rate": len(commits) / elapsed,
        "changes": len(commits),
        "subscribers": subscribers,
        "complete": complete,
        "deliveries": len(latencies),
        "latency_ms_p50": statistics.median(latencies),
        "latency_ms_p99": pct(latencies, 99),
        "latency_ms_max": max(latencies),
        "start_lag_ms_p99": pct([x * 1000 for x in lag], 99),
    }


# -- running it -----------------------------------------------------------------------------


async def run(args: argparse.Namespace, db_url: str, work: Path, log: Path) -> dict[str, Any]:
    engine = create_engine(db_url, pool_size=20)
    setup = Setup(db_url, engine, work, log, args.gc_threshold)
    results: dict[str, Any] = {"fanout": [], "rates": [], "mux": [], "pg": await pg_version(db_url)}
    try:
        for repeat in range(args.repeat):
            for size in args.sizes:
                print(f"fan-out: {size} subscribers (run {repeat + 1})", flush=True)
                r = await fan_out(
                    setup, size, args.rounds, args.client_processes, args.per_connection
                )
                print(f"  {r}", flush=True)
                results["fanout"].append(r)
            if args.mux:
                size = max(args.sizes)
                print(f"fan-out: {size} subscriptions, {args.mux} per connection", flush=True)
                r = await fan_out(setup, size, args.rounds, args.client_processes, args.mux)
                print(f"  {r}", flush=True)
                results["mux"].append(r)
            for rate in args.rates:
                print(f"steady rate: {rate} changes/s (run {repeat + 1})", flush=True)
                r = await steady_rate(setup, rate, args.duration, args.subscribers)
                print(f"  {r}", flush=True)
                results["rates"].append(r)
    finally:
        await engine.dispose()
    return results


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.subscriptions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    p.add_argument("--sizes", type=ints, default=[1_000, 5_000, 10_000])
    p.add_argument("--rounds", type=int, default=20, help="status changes per fan-out size")
    p.add_argument("--rates", type=ints, default=[100, 500])
    p.add_argument("--duration", type=float, default=10.0, help="seconds per steady rate")
    p.add_argument("--subscribers", type=int, default=10, help="for the steady-rate runs")
    p.add_argument("--client-processes", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument(
        "--gc-threshold",
        default="",
        help="REFUNDS_GC_THRESHOLD for the server, e.g. 100000,50,1000 or python",
    )
    p.add_argument(
        "--per-connection",
        type=int,
        default=1,
        help="fan-out subscriptions per WebSocket connection",
    )
    p.add_argument(
        "--mux",
        type=int,
        default=100,
        help="also run the largest size with this many subscriptions per connection (0: don't)",
    )
    p.add_argument(
        "--report",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write bench/SUBSCRIPTIONS.md",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    raise_fd_limit()
    when = datetime.now(UTC)
    log = Path(tempfile.gettempdir()) / f"refunds-bench-subscriptions-{os.getpid()}.log"
    print(f"server log: {log}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="refunds-bench-subs-"))
    try:
        with database(work) as db_url:
            results = asyncio.run(run(args, db_url, work, log))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.report:
        (ROOT / "bench" / "SUBSCRIPTIONS.md").write_text(report(results, args, when))
        print("wrote bench/SUBSCRIPTIONS.md", flush=True)


if __name__ == "__main__":
    main()
