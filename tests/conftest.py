"""Test fixtures: a real PostgreSQL (the embedded one, or TEST_DATABASE_URL), a fresh database
per test run with the migrations applied, and the real app served by uvicorn over TCP.

Tests isolate themselves by tenancy: each creates its own merchant, so no table is truncated
and tests never see each other's data."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from api.app import create_app
from api.config import EdgeSettings, Settings
from db.engine import create_engine
from db.listener import connect_kwargs
from db.migrate import upgrade
from db.secret_box import new_key_entry
from processor.config import WebhookSettings
from tests.serving import serving
from tests.support import Api

ADMIN_TOKEN = "adm_test_" + secrets.token_hex(16)

# Apps started inside the test process keep Python's garbage-collector thresholds: tuning them is
# for a serving process (tests/api/test_gc_tuning.py checks `refunds serve` does), not for pytest.
# Subprocesses start without this (tests/api/serve_process.py drops REFUNDS_* settings).
os.environ["REFUNDS_GC_THRESHOLD"] = "python"
# Webhook secrets are sealed with this key (db/secret_box.py) by every process the tests start
# (they inherit the environment; tests/api/serve_process.py passes it on) and opened with it by
# those that send: the API and the workers of one test share it.
os.environ["REFUNDS_WEBHOOK_SECRET_KEYS"] = new_key_entry()


def _server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        return external
    from db import embedded

    # One embedded server per machine user, reused across runs; a fresh database each run.
    data_dir = Path(os.environ.get("REFUNDS_TEST_DATA_DIR", "/tmp/refunds-test-pg"))
    return embedded.start(data_dir)


async def _on_server(server_url: str, sql: str) -> None:
    """Run one statement on the server's maintenance database (CREATE/DROP DATABASE)."""
    conn = await asyncpg.connect(**connect_kwargs(server_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server_url = _server_url(tmp_path_factory)
    name = f"refunds_test_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_on_server(server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    asyncio.run(_on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        admin_token=ADMIN_TOKEN,
        gateway_delay_scale=0.0,
        refund_window_days=180,
        # The whole suite reaches this app from one address; the limits themselves are tested on
        # servers of their own (tests/api/test_rate_limits.py).
        edge=EdgeSettings(failed_auth_limit="10000/minute"),
        # Receivers in the tests listen on 127.0.0.1 (the refusal without this is tested on a
        # server of its own); the retry schedule shrunk 10,000 times: its 30 h take 10 s.
        webhooks=WebhookSettings(allow_private=True, retry_scale=0.0001, poll_seconds=0.2),
        # lastUsedAt moves only when recorded: tests/api/both_paths.py reads a key twice, once per
        # path, and a record between the two would differ by more than the paths do
        key_use_record_seconds=86_400.0,
    )


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of the tests' own, for setup and for going around the API."""
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def app(settings: Settings) -> Starlette:
    """The real application; `app.state.services` gives its engine (to count its SQL)."""
    return create_app(settings)


@pytest.fixture(scope="session")
async def server(app: Starlette) -> AsyncIterator[str]:
    """The real app on a real socket (port chosen by the OS); yields its base URL."""
    async with serving(app, lifespan="on", ws="websockets-sansio") as url:
        yield url


@pytest.fixture
async def api(server: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        yield Api(http, ADMIN_TOKEN)
