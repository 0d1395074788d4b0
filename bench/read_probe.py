"""API reads at a fixed rate, timed from when each was due, in a process of its own:

    python -m bench.read_probe PORT RATE SECONDS QUERY KEY [KEY ...]

reads for SECONDS or until SIGTERM, then prints one JSON line: how many reads, and their p50 /
p90 / p99 / max in ms. bench/webhooks.py runs it beside a webhook drain and without one. Each
read is due at start + n / RATE whatever the answers' speed and is timed from then (no
coordinated omission). The requests are built once and written to keep-alive sockets, little of
this process's CPU each, so that the figures are the API's and not this client's: the bench's
own httpx client cost far more per read, and its event loop's delays were counted as the API's
(bench/WEBHOOKS.md)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time

import orjson

CONNECTIONS = 8


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def percentiles(values: list[float]) -> dict[str, float]:
    at = {f"p{p}_ms": round(percentile(values, p), 1) for p in (50, 90, 99)}
    return {**at, "max_ms": round(max(values), 1)}


def request(port: int, query: str, key: str) -> bytes:
    body = orjson.dumps({"query": query})
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def answer(reader: asyncio.StreamReader) -> None:
    """Read one HTTP response (uvicorn's answers carry a Content-Length); fail on non-200."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    body = await reader.readexactly(length)
    if b'"errors"' in body:
        raise RuntimeError(body[:200].decode())


async def probe(port: int, rate: float, seconds: float, query: str, keys: list[str]) -> None:
    requests = [request(port, query, key) for key in keys]
    free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        free.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    timings: list[float] = []

    async def one(due: float, data: bytes) -> None:
        reader, writer = await free.get()
        writer.write(data)
        await answer(reader)
        timings.append((time.perf_counter() - due) * 1000)
        free.put_nowait((reader, writer))

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    tasks = []
    start = time.perf_counter()
    n = 0
    while not stop.is_set() and n < rate * seconds:
        due = start + n / rate
        if (wait := due - time.perf_counter()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            continue
        tasks.append(asyncio.create_task(one(due, requests[n % len(requests)])))
        n += 1
    await asyncio.gather(*tasks)
    print(orjson.dumps({"reads": len(timings), **percentiles(timings)}).decode(), flush=True)


def main() -> None:
    port, rate, seconds, query, *keys = sys.argv[1:]
    asyncio.run(probe(int(port), float(rate), float(seconds), query, keys))


if __name__ == "__main__":
    main()
