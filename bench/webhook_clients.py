"""The webhook sender's HTTP client, measured alone (figures in bench/WEBHOOKS.md):

    .venv/bin/python -m bench.webhook_clients [--requests 2000] [--concurrency 64]

The receiver of bench/webhooks.py (bench/webhook_sink.py) in a process of its own, and in this
process each client POSTing a webhook-sized body to it, `--concurrency` at a time over
keep-alive connections, as processor/webhooks/sender.py does: the client's CPU per request
(this process's CPU time, so not the receiver's) and the requests per second. The clients
take turns, twice each, so that a change in the machine's load shows."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson

from bench.servers import ROOT, free_port

BODY = orjson.dumps(
    {
        "type": "refund.created",
        "timestamp": "2026-12-03T00:00:00+00:00",
        "data": {"refund": {"id": "rfnd_0", "notes": "x" * 500}},
    }
)
HEADERS = {
    "webhook-id": "msg_0",
    "webhook-timestamp": "0",
    "webhook-signature": "v1,0",
    "content-type": "application/json",
}


async def with_httpx(url: str, requests: int, concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                response = await client.post(url, content=BODY, headers=HEADERS)
                await response.aread()
                assert response.status_code == 204, response.status_code

        await asyncio.gather(*(one() for _ in range(requests)))


async def with_aiohttp(url: str, requests: int, concurrency: int) -> None:
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with (
                gate,
                session.post(url, data=BODY, headers=HEADERS, allow_redirects=False) as response,
            ):
                await response.read()
                assert response.status == 204, response.status

        await asyncio.gather(*(one() for _ in range(requests)))


CLIENTS: dict[str, Callable[[str, int, int], Coroutine[Any, Any, None]]] = {
    "httpx": with_httpx,
    "aiohttp": with_aiohttp,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="refunds-bench-clients-") as work:
        sink = subprocess.Popen(
            [sys.executable, "-m", "bench.webhook_sink", str(port), str(Path(work) / "sink.txt")],
            cwd=ROOT,
            start_new_session=True,
        )
        try:
            time.sleep(5)  # the receiver starts
            url = f"http://127.0.0.1:{port}/hooks"
            for name in [*CLIENTS, *CLIENTS]:
                began, cpu = time.perf_counter(), time.process_time()
                asyncio.run(CLIENTS[name](url, args.requests, args.concurrency))
                cpu_ms = (time.process_time() - cpu) * 1000 / args.requests
                rate = args.requests / (time.perf_counter() - began)
                load = " ".join(f"{x:.1f}" for x in os.getloadavg())
                print(
                    f"{name}: {args.requests} requests, {args.concurrency} at a time: "
                    f"client CPU {cpu_ms:.2f} ms/request, {rate:.0f} requests/s (load {load})",
                    flush=True,
                )
        finally:
            os.killpg(sink.pid, signal.SIGTERM)
            sink.wait(10)


if __name__ == "__main__":
    main()
