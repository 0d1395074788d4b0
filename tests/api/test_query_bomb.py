"""Issue 8, finding 1, against the real `refunds serve`: the 40-level fragment bomb, over HTTP and
as a WebSocket subscribe, is refused at once with QUERY_TOO_COMPLEX, and /healthz keeps
answering in under a second while bombs are in flight (before, one bomb pinned the CPU)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from tests.api.adversarial_documents import fragment_chain
from tests.api.serve_process import ADMIN_TOKEN, Served, running
from tests.support import CREATE_MERCHANT

BOMB = fragment_chain(40)
BOMBS = 20  # sent back to back from two threads while /healthz is probed
HEALTHZ_BOUND = 1.0  # seconds, as the issue asks; a pinned process does not answer at all
BOMB_BOUND = 5.0  # seconds for one refusal: generous, a 2-core machine shared by several


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[Served]:
    with running(database_url) as served:
        yield served


@pytest.fixture(scope="module")
def key(served: Served) -> str:
    created = httpx.post(
        f"{served.base_url}/graphql",
        json={"query": CREATE_MERCHANT, "variables": {"input": {"name": "Bomber"}}},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=30,
    ).json()
    return str(created["data"]["createMerchant"]["apiKey"])


def _http_bomb(served: Served, key: str) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    response = httpx.post(
        f"{served.base_url}/graphql",
        json={"query": BOMB},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    return time.monotonic() - started, response.json()


def _ws_bomb(served: Served, key: str) -> tuple[float, dict[str, Any]]:
    with ws_connect(
        f"ws://127.0.0.1:{served.port}/graphql",
        subprotocols=[Subprotocol("graphql-transport-ws")],
        open_timeout=10,
    ) as ws:
        ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
        )
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        started = time.monotonic()
        ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": {"query": BOMB}}))
        message = json.loads(ws.recv(timeout=60))
        return time.monotonic() - started, message


def _healthz_latencies_while(served: Served, bombs: list[Any]) -> list[float]:
    latencies: list[float] = []
    with httpx.Client(base_url=served.base_url, timeout=30) as http:
        while not all(bomb.done() for bomb in bombs) or not latencies:
            started = time.monotonic()
            assert http.get("/healthz").text == "ok"
            latencies.append(time.monotonic() - started)
            time.sleep(0.02)
    return latencies


@pytest.mark.parametrize("transport", ["http", "websocket"])
def test_the_fragment_bomb_is_refused_at_once_and_healthz_keeps_answering(
    served: Served, key: str, transport: str
) -> None:
    send = _http_bomb if transport == "http" else _ws_bomb
    with ThreadPoolExecutor(max_workers=2) as pool:
        bombs = [pool.submit(send, served, key) for _ in range(BOMBS)]
        latencies = _healthz_latencies_while(served, bombs)
        results = [bomb.result() for bomb in bombs]
    assert max(latencies) < HEALTHZ_BOUND
    for seconds, answer in results:
        assert seconds < BOMB_BOUND
        errors = answer["errors"] if transport == "http" else answer["payload"]
        if transport == "websocket":
            assert answer["type"] == "error"
        assert errors[0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert errors[0]["extensions"]["cost"] == 2**40 + 1
