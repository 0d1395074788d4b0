"""Floods against the real `refunds serve`: failed authentications per client address and
requests per API key are limited, answering 429 with Retry-After and a RATE_LIMITED error.

Each test speaks from its own loopback address (127.0.0.x), so their limits do not meet."""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from api.config import EdgeSettings
from api.rate_limits import RateLimits
from tests.api.serve_process import ADMIN_TOKEN, Served, running
from tests.support import CREATE_MERCHANT

FAILED_AUTHS = 5
KEY_REQUESTS = 30
# Day-long windows: the sliding-window counter weighs the previous window by the share of it still
# in view, so a test that straddles a window boundary sees its earlier requests fade out; with a
# day the fading over a test's few seconds cannot let an extra request through (with a minute, a
# CI run crossing the boundary got a 401 where a 429 was due).
WINDOW = "day"


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[Served]:
    with running(
        database_url,
        REFUNDS_RATE_LIMIT_FAILED_AUTH=f"{FAILED_AUTHS}/{WINDOW}",
        REFUNDS_RATE_LIMIT_PER_KEY=f"{KEY_REQUESTS}/{WINDOW}",
    ) as served:
        yield served


def _client(served: Served, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=served.base_url, transport=transport, timeout=30)


def _query(
    http: httpx.Client, token: str, query: str = "{ __typename }", variables: object = None
) -> httpx.Response:
    return http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )


def _assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


def test_a_flood_of_made_up_keys_is_refused_after_the_failed_auth_limit(served: Served) -> None:
    with _client(served, "127.0.0.2") as http:
        statuses = [_query(http, "rk_" + secrets.token_urlsafe(32)).status_code for _ in range(200)]
        assert statuses[:FAILED_AUTHS] == [401] * FAILED_AUTHS
        assert statuses[FAILED_AUTHS:] == [429] * (200 - FAILED_AUTHS)
        # the address is refused before any key is looked up, a good one included
        _assert_rate_limited(_query(http, ADMIN_TOKEN))
    with _client(served, "127.0.0.3") as elsewhere:  # another client is not affected
        assert _query(elsewhere, ADMIN_TOKEN).status_code == 200


def _ws_init(served: Served, address: str, token: str) -> str:
    """connection_init from `address`: "connection_ack", or the close code."""
    sock = socket.create_connection(("127.0.0.1", served.port), source_address=(address, 0))
    with ws_connect(
        f"ws://127.0.0.1:{served.port}/graphql",
        sock=sock,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        open_timeout=10,
    ) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        ws.send(json.dumps(init))
        try:
            return str(json.loads(ws.recv(timeout=10))["type"])
        except ConnectionClosed as closed:
            return str(closed.rcvd.code if closed.rcvd else None)


def test_a_websocket_connection_init_over_the_failed_auth_limit_is_refused(
    served: Served,
) -> None:
    address = "127.0.0.4"
    assert _ws_init(served, address, ADMIN_TOKEN) == "connection_ack"
    for _ in range(FAILED_AUTHS):
        assert _ws_init(served, address, "rk_made_up_" + secrets.token_hex(8)) == "4401"
    assert _ws_init(served, address, ADMIN_TOKEN) == "4401"  # a good key too, for a while
    with _client(served, address) as http:
        _assert_rate_limited(_query(http, ADMIN_TOKEN))


def test_one_key_over_its_request_limit_gets_429_and_other_keys_do_not(served: Served) -> None:
    with _client(served, "127.0.0.5") as http:
        merchant = {"input": {"name": "Flooder", "currency": "INR"}}
        created = _query(http, ADMIN_TOKEN, CREATE_MERCHANT, merchant).json()
        key = created["data"]["createMerchant"]["apiKey"]
        statuses = [_query(http, key).status_code for _ in range(KEY_REQUESTS + 10)]
        assert statuses[:KEY_REQUESTS] == [200] * KEY_REQUESTS
        assert statuses[KEY_REQUESTS:] == [429] * 10
        response = _query(http, key, "{ viewer { name } }")  # the fast path is limited too
        _assert_rate_limited(response)
        assert _query(http, ADMIN_TOKEN).status_code == 200


async def test_an_empty_limit_setting_means_no_limit() -> None:
    limits = RateLimits(EdgeSettings(failed_auth_limit="", key_request_limit=" "))
    for _ in range(100):
        await limits.failed_authentication("198.51.100.7")
        assert await limits.refuse_key("Bearer rk_busy") is None
    assert await limits.refuse_address("198.51.100.7") is None


def test_a_malformed_limit_setting_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="REFUNDS_RATE_LIMIT_PER_KEY='300 a second'"):
        RateLimits(EdgeSettings(key_request_limit="300 a second"))
