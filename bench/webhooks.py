"""Webhook delivery, measured by hand (figures in bench/WEBHOOKS.md):

    .venv/bin/python -m bench.webhooks [--rate 100] [--seconds 30] [--backlog 10000] \
        [--baseline REF]

A fresh embedded PostgreSQL, `refunds serve` with REFUNDS_PROCESSOR=off (the API only), one
`refunds worker` (its webhook dispatcher does the delivering) and a receiver process on
127.0.0.1 (bench/webhook_sink.py). Each status change is a refund created ON_HOLD (a merchant
with no balance, queueIfInsufficientBalance): one REFUND_CREATED event, and nothing for the
refund processor to do, so that the worker's time goes to webhooks alone.

1. latency: changes at --rate per second for --seconds; from the event's time (taken just
   before its transaction commits) to the receiver reading the request: p50, p99, max.
2. backlog: --backlog changes made with the worker stopped (to the outbox, as during an outage),
   then the worker started: the drain's deliveries per second with one worker, and the latency
   of API reads (`refunds(first: 20)` by 4 merchants, --read-rate per second, from a process of
   their own: bench/read_probe.py) during the drain and, for 10 s, without one. Each phase
   prints the CPU seconds the machine used, by process.

With --baseline REF (a git commit; may be repeated), each phase runs again in the same run,
first with the worker of each REF's code (a `git archive` snapshot, bench/servers.py
REFUNDS), then with this checkout's, against the same database, API and receiver; each
--also-with NAME=VALUE adds a run of this checkout's worker with that variable set."""

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
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import database
from bench.read_probe import percentile
from bench.servers import REFUNDS, ROOT, Server, free_port, gql, migrate, spawn, start_service

MERCHANTS = 10
WORKER_ENV: list[str] = []
READ = "{ refunds(first: 20) { edges { node { id status amount } } } }"


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


class Sink:
    """What the receiver has written (bench/webhook_sink.py: `webhook-id sent-at got-at` per
    request), read on from where the last read stopped: the bench polls it while it measures,
    and re-reading the whole file each time took a core of its own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.got: list[tuple[str, float, float]] = []
        self.ids: set[str] = set()
        self._offset = 0

    def read(self) -> list[tuple[str, float, float]]:
        if self.path.exists():
            with self.path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offset += len(complete)
            for line in complete.decode().splitlines():
                parts = line.split()
                if len(parts) == 3:
                    self.got.append((parts[0], float(parts[1]), float(parts[2])))
                    self.ids.add(parts[0])
        return self.got

    async def wait_for(self, count: int, limit: float = 600) -> None:
        """Until `count` distinct deliveries have arrived in all."""
        deadline = time.monotonic() + limit
        while len(self.ids) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(self.ids)} of {count} delivered")
            await asyncio.sleep(0.2)
            self.read()


async def latency_phase(
    http: httpx.AsyncClient,
    merchants: list[tuple[str, str]],
    rate: float,
    seconds: float,
    sink: Sink,
) -> dict[str, float]:
    before, seen = len(sink.read()), len(sink.ids)
    total = int(rate * seconds)
    start = time.monotonic()
    tasks = []
    for n in range(total):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(change(http, merchants[n % len(merchants)])))
    await asyncio.gather(*tasks)
    await sink.wait_for(seen + total)
    lat = [(got - at) * 1000 for _, at, got in sink.read()[before:]]
    return {
        "events": total,
        "p50_ms": round(statistics.median(lat), 1),
        "p99_ms": round(percentile(lat, 99), 1),
        "max_ms": round(max(lat), 1),
    }


class Readers:
    """API reads (`refunds(first: 20)`) by four merchants at `rate` per second while something
    else happens, from a process of their own (bench/read_probe.py)."""

    def __init__(self, port: int, merchants: list[tuple[str, str]], rate: float) -> None:
        keys = [key for key, _ in merchants[:4]]
        command = [sys.executable, "-m", "bench.read_probe", str(port), str(rate), "3600"]
        self._process = subprocess.Popen(  # noqa: ASYNC220  (a fork, not a wait)
            [*command, READ, *keys], cwd=ROOT, stdout=subprocess.PIPE
        )

    def stop(self) -> dict[str, float]:
        """How many reads there were, and their p50 / p90 / p99 / max (ms)."""
        self._process.send_signal(signal.SIGTERM)
        out, _ = self._process.communicate(timeout=60)
        return dict(orjson.loads(out))


def start_worker(
    url: str, admin: str, work: Path, name: str, root: Path, extra: dict[str, str]
) -> Server:
    env = {
        "DATABASE_URL": url,
        "REFUNDS_ADMIN_TOKEN": admin,
        "REFUNDS_WEBHOOK_ALLOW_PRIVATE": "1",
        "REFUNDS_DATA_DIR": str(work / "data"),
        # --worker-env NAME=VALUE …
        **dict(pair.split("=", 1) for pair in WORKER_ENV),
        **extra,
    }
    command = [*REFUNDS, "worker"]
    if nice := os.environ.get("BENCH_WORKER_NICE"):  # the worker at this nice level (a lever)
        command = ["nice", "-n", nice, *command]
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
    return spawn(name, command, env, work / f"{name}.log", 0, root)


def used_cpu(before: tuple[float, float], worker: int, sink: int) -> dict[str, float]:
    """CPU seconds the worker and the receiver used since `before` (theirs then)."""
    return {
        "worker_cpu_s": round(cpu_seconds(worker) - before[0], 1),
        "sink_cpu_s": round(cpu_seconds(sink) - before[1], 1),
    }


def stop(server: Server) -> None:
    os.killpg(server.process.pid, signal.SIGTERM)
    server.process.wait(30)


def snapshot(ref: str, work: Path) -> Path:
    """REF's code, as `git archive` writes it, under work/."""
    root = work / f"baseline-{ref}"
    root.mkdir()
    archive = subprocess.run(
        ["git", "archive", ref], cwd=ROOT, check=True, capture_output=True, timeout=120
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True, timeout=120)
    return root


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (Linux /proc)."""
    return _stat(Path(f"/proc/{pid}/stat").read_text())[1]


def _stat(text: str) -> tuple[str, float]:
    """A /proc/PID/stat line's command name, and the user and system CPU seconds in it."""
    fields = text.rsplit(")", 1)[1].split()
    name = text[text.index("(") + 1 : text.rindex(")")]
    return name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU seconds every process of the machine has used so far, all cores (Linux /proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    idle = int(fields[3]) + int(fields[4])  # idle, iowait
    return (sum(int(f) for f in fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_by_command() -> dict[int, tuple[str, float]]:
    """Each process's command name and the CPU seconds it has used so far."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        found[int(stat.parent.name)] = _stat(text)
    return found


def cpu_used_by(before: dict[int, tuple[str, float]], named: dict[int, str]) -> dict[str, float]:
    """CPU seconds used since `before` (cpu_by_command), by the name in `named` of each pid or
    else by command name; processes that ended meanwhile are not counted."""
    used: dict[str, float] = {}
    for pid, (name, seconds) in cpu_by_command().items():
        label = named.get(pid, name)
        used[label] = used.get(label, 0.0) + seconds - before.get(pid, (name, 0.0))[1]
    return {k: round(v, 1) for k, v in sorted(used.items(), key=lambda kv: -kv[1]) if v >= 0.1}


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


async def drain_phase(
    http: httpx.AsyncClient,
    merchants: list[tuple[str, str]],
    backlog: int,
    sink: Sink,
    start: Callable[[], Server],
    named: dict[int, str],
    api_port: int,
    read_rate: float,
) -> tuple[Server, dict[str, Any]]:
    """`backlog` changes stored with no worker running, then a worker started by `start`."""
    before, seen = len(sink.read()), len(sink.ids)
    sem = asyncio.Semaphore(32)

    async def one(n: int) -> None:
        async with sem:
            await change(http, merchants[n % len(merchants)])

    await asyncio.gather(*(one(n) for n in range(backlog)))
    readers = Readers(api_port, merchants, read_rate)
    machine, processes = machine_cpu_seconds(), cpu_by_command()
    worker = start()
    began = time.monotonic()
    await sink.wait_for(seen + backlog)
    drained = time.monotonic() - began
    machine = machine_cpu_seconds() - machine
    by_process = cpu_used_by(processes, {**named, worker.process.pid: "worker"})
    read = readers.stop()
    got = sink.read()[before:]
    first, last = min(g[2] for g in got), max(g[2] for g in got)
    return worker, {
        "events": backlog,
        "from_worker_start_s": round(drained, 1),
        "per_s_from_start": round(backlog / drained),
        "per_s_first_to_last": round(backlog / (last - first)),
        "reads": read,
        "machine_cpu_s": round(machine, 1),
        "cpu_s_by_process": by_process,
        "load": load_average(),
    }


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
    sink = Sink(sink_file)
    receiver = subprocess.Popen(  # noqa: ASYNC220  (started once, before any load)
        [sys.executable, "-m", "bench.webhook_sink", str(sink_port), str(sink_file)],
        cwd=ROOT,
        start_new_session=True,
    )
    variants: list[tuple[str, Path, dict[str, str]]] = [("this checkout", ROOT, {})]
    for n, ref in enumerate(args.baseline):
        variants.insert(n, (f"baseline {ref}", snapshot(ref, work), {}))
    for pair in args.also_with:
        variants.append((f"this checkout, {pair}", ROOT, dict([pair.split("=", 1)])))
    started: list[Server] = []  # each worker, stopped at the end even when a phase fails

    def start(name: str, root: Path, extra: dict[str, str]) -> Server:
        started.append(start_worker(db.url, admin, work, name, root, extra))
        return started[-1]

    try:
        base = api.url.removesuffix("/graphql")
        async with httpx.AsyncClient(
            base_url=base,
            timeout=60,
            # closed before uvicorn closes an idle connection (5 s): no request on a dying one
            limits=httpx.Limits(max_connections=64, keepalive_expiry=2),
        ) as http:
            merchants = await setup_merchants(http, admin, f"http://127.0.0.1:{sink_port}/hooks")
            for n, (label, root, extra) in enumerate(variants):
                worker = start(f"latency-{n}", root, extra)
                await asyncio.sleep(2)
                cpu = cpu_seconds(worker.process.pid), cpu_seconds(receiver.pid)
                found = await latency_phase(http, merchants, args.rate, args.seconds, sink)
                found |= used_cpu(cpu, worker.process.pid, receiver.pid)
                print(f"latency, {label}: {found} (load {load_average()})", flush=True)
                stop(worker)
            named = {api.process.pid: "api", receiver.pid: "receiver", os.getpid(): "bench"}
            machine, processes = machine_cpu_seconds(), cpu_by_command()
            readers = Readers(api.port, merchants, args.read_rate)
            await asyncio.sleep(10)
            idle = readers.stop()
            machine = machine_cpu_seconds() - machine
            print(
                f"reads without a drain: {idle}, "
                f"machine CPU {machine:.1f} s in 10 s: {cpu_used_by(processes, named)}, "
                f"load {load_average()})",
                flush=True,
            )
            for n, (label, root, extra) in enumerate(variants):
                name = f"drain-{n}"
                sink_cpu = cpu_seconds(receiver.pid)
                worker, found = await drain_phase(
                    http,
                    merchants,
                    args.backlog,
                    sink,
                    partial(start, name, root, extra),
                    named,
                    api.port,
                    args.read_rate,
                )
                found |= used_cpu((0.0, sink_cpu), worker.process.pid, receiver.pid)
                print(f"drain, {label}: {found}", flush=True)
                stop(worker)
    finally:
        for server in [*started, api]:
            if server.process.poll() is None:
                stop(server)
        os.killpg(receiver.pid, signal.SIGTERM)
        for log in sorted(work.glob("*.log")):  # noqa: ASYNC240  (after the measurements)
            lines = log.read_text().splitlines()
            errors = [line for line in lines if " ERROR " in line or " WARNING " in line]
            if errors or lines:
                print(f"--- {log.name}: {len(errors)} errors and warnings, the first:")
                print("\n".join(errors[:10] or lines[-3:]))
        db.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument(
        "--read-rate",
        type=float,
        default=200,
        help="API reads per second while measuring read latency; 0: four clients back to back",
    )
    parser.add_argument("--worker-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="REF",
        help="also measure this commit's worker (before this checkout's; may be repeated)",
    )
    parser.add_argument(
        "--also-with",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="also measure this checkout's worker with this variable set (a lever)",
    )
    args = parser.parse_args()
    WORKER_ENV.extend(args.worker_env)
    with tempfile.TemporaryDirectory(prefix="refunds-bench-webhooks-") as work:
        asyncio.run(run(args, Path(work)))


if __name__ == "__main__":
    main()
