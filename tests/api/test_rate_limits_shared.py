"""Two `refunds serve` processes sharing their rate limits through Redis (a redis-server of the
test's own, from PATH): a client's failed authentications count once, whichever process it
reaches."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.api.serve_process import running
from tests.support import free_port

FAILED_AUTHS = 6


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    server = shutil.which("redis-server")
    assert server, "these tests need redis-server on PATH (apt-get install redis-server)"
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_failed_authentications_count_once_across_processes(
    database_url: str, redis_url: str
) -> None:
    limits = {
        "REFUNDS_RATE_LIMIT_STORAGE": redis_url,
        # a day, so that no window boundary falls inside the test (tests/api/test_rate_limits.py)
        "REFUNDS_RATE_LIMIT_FAILED_AUTH": f"{FAILED_AUTHS}/day",
    }
    with (
        running(database_url, settings=limits) as first,
        running(database_url, settings=limits) as second,
    ):
        transport = httpx.HTTPTransport(local_address="127.0.0.8")
        with httpx.Client(transport=transport, timeout=30) as http:
            statuses = []
            for n in range(4 * FAILED_AUTHS):
                served = (first, second)[n % 2]
                made_up = {"Authorization": f"Bearer rk_{secrets.token_urlsafe(16)}"}
                answer = http.post(
                    f"{served.base_url}/graphql", json={"query": "{ __typename }"}, headers=made_up
                )
                statuses.append(answer.status_code)
    assert statuses == [401] * FAILED_AUTHS + [429] * (3 * FAILED_AUTHS)


def test_an_unreachable_shared_store_lets_requests_through(database_url: str) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}"
    with running(database_url, REFUNDS_RATE_LIMIT_STORAGE=nowhere) as served:
        with httpx.Client(base_url=served.base_url, timeout=30) as http:
            made_up = {"Authorization": "Bearer rk_made_up"}
            answer = http.post("/graphql", json={"query": "{ __typename }"}, headers=made_up)
        assert answer.status_code == 401  # counted nowhere, but answered
        assert "rate limit store unreachable" in served.log()
