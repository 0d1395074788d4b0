"""Fixtures of the database tests."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from alembic import command
from sqlalchemy.engine import make_url

from db.migrate import alembic_config
from tests.conftest import _on_server


@asynccontextmanager
async def database_at(database_url: str, revision: str) -> AsyncIterator[str]:
    """A database of its own, migrated to `revision` only, dropped afterwards.

    Async on the suite's event loop, with Alembic in a thread: the loop keeps draining the
    session app's LISTEN connection, whose backend must answer DROP DATABASE's barrier."""
    name = f"refunds_{revision}_{secrets.token_hex(4)}"
    url = make_url(database_url)
    server_url = url.set(database="postgres").render_as_string(hide_password=False)
    await _on_server(server_url, f'CREATE DATABASE "{name}"')
    own_url = url.set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(own_url), revision)
        yield own_url
    finally:
        await _on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def database_at_0002(database_url: str) -> AsyncIterator[str]:
    async with database_at(database_url, "0002") as url:
        yield url


@pytest.fixture
async def database_at_0004(database_url: str) -> AsyncIterator[str]:
    async with database_at(database_url, "0004") as url:
        yield url
