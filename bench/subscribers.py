"""Subscribers for the live-status benchmark (bench/subscriptions.py): idle subscriptions of one
merchant over real WebSockets (graphql-transport-ws), in client processes of their own, each
timing every frame when it arrives and parsing it only after the measurement."""

from __future__ import annotations

import asyncio
import base64
import multiprocessing as mp
import os
import resource
import time
import urllib.request
from contextlib import suppress
from multiprocessing.connection import Connection
from typing import Any

import orjson

from bench import servers

SUBSCRIPTION = "subscription { refundUpdated { id status updatedAt } }"
CONNECT_CONCURRENCY = 200


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def subscriber_count(server: servers.Server) -> float:
    """The live subscriptions the server counts (its /metrics)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("refunds_subscribers "):
                return float(line.split()[1])
    return 0.0


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

    def wait_connected(self, server: servers.Server, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answers = self.ask("connected")
            connected = sum(c for c, _ in answers)
            failed = sum(f for _, f in answers)
            if failed:
                raise RuntimeError(f"{failed} subscriber connections failed or closed")
            if connected >= self.count and subscriber_count(server) >= self.count:
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
