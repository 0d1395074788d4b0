"""Slow and greedy sockets against the real `refunds serve`: requests that never finish are cut
off after the read timeout, open connections are capped, WebSocket messages are bounded."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from tests.api.serve_process import ADMIN_TOKEN, Served, running

READ_TIMEOUT = 2.0
MAX_CONNECTIONS = 12
# Far longer than the read timeout: a socket still open by then was never cut off.
NEVER = 20.0


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[Served]:
    with running(
        database_url,
        REFUNDS_HTTP_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT),
        REFUNDS_HTTP_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
    ) as served:
        yield served


def _connect(served: Served) -> socket.socket:
    return socket.create_connection(("127.0.0.1", served.port), timeout=NEVER)


def _closed_by_server(sock: socket.socket) -> bool:
    """True when the server closes the socket before NEVER (reads whatever it sends first)."""
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def test_half_the_headers_then_silence_is_cut_off_after_the_read_timeout(served: Served) -> None:
    with _connect(served) as sock:
        sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: applic")
        started = time.monotonic()
        assert _closed_by_server(sock)
        assert time.monotonic() - started >= READ_TIMEOUT * 0.9  # not before the timeout


def test_a_body_that_stops_at_9_of_100_bytes_is_cut_off(served: Served) -> None:
    with _connect(served) as sock:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {ADMIN_TOKEN}\r\n".encode()
            + b"Content-Length: 100\r\n\r\n"
            + b'{"query":'
        )
        assert _closed_by_server(sock)


def test_a_silent_connection_is_cut_off(served: Served) -> None:
    with _connect(served) as sock:
        assert _closed_by_server(sock)


def test_an_honest_slow_but_complete_request_is_answered(served: Served) -> None:
    body = json.dumps({"query": "{ __typename }"}).encode()
    request = (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    with _connect(served) as sock:
        for start in range(0, len(request), len(request) // 4 + 1):
            sock.sendall(request[start : start + len(request) // 4 + 1])
            time.sleep(READ_TIMEOUT / 10)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert b'"__typename":"Query"' in answer


def test_a_websocket_outlives_the_read_timeout(served: Served) -> None:
    with ws_connect(
        f"ws://127.0.0.1:{served.port}/graphql",
        subprotocols=[Subprotocol("graphql-transport-ws")],
        open_timeout=10,
    ) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {ADMIN_TOKEN}"}}
        ws.send(json.dumps(init))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        time.sleep(READ_TIMEOUT * 2)
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "pong"


def test_connections_over_the_cap_are_refused_with_503(served: Served) -> None:
    held = [_connect(served) for _ in range(MAX_CONNECTIONS)]
    try:
        answer = httpx.get(f"{served.base_url}/healthz", timeout=NEVER)
        assert answer.status_code == 503
    finally:
        for sock in held:
            sock.close()


def _ws_with_message_of(served: Served, size: int) -> tuple[str, int | None]:
    """Sends a connection_init padded to `size` bytes; the reply type, or the close code."""
    padding = "x" * (size - len(json.dumps({"type": "connection_init", "payload": {"pad": ""}})))
    message = json.dumps({"type": "connection_init", "payload": {"pad": padding}})
    assert len(message) == size
    with ws_connect(
        f"ws://127.0.0.1:{served.port}/graphql",
        subprotocols=[Subprotocol("graphql-transport-ws")],
        open_timeout=10,
        max_size=None,
    ) as ws:
        ws.send(message)
        try:
            return json.loads(ws.recv(timeout=NEVER))["type"], None
        except ConnectionClosed as closed:
            return "closed", closed.rcvd.code if closed.rcvd else None


def test_a_websocket_message_over_1_mib_closes_with_1009(served: Served) -> None:
    assert _ws_with_message_of(served, 1_048_577) == ("closed", 1009)


def test_a_websocket_message_of_1_mib_is_read(served: Served) -> None:
    # read and answered (refused as unauthenticated: it carries no key), not closed for its size
    assert _ws_with_message_of(served, 1_048_576) == ("closed", 4401)
