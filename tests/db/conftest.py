"""Fixtures of the database tests."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from alembic import command
from sqlalchemy.engine import make_url

from db.migrate import alembic_config
from tests.conftest import _on_server


@pytest.fixture
async def database_at_0004(database_url: str) -> AsyncIterator[str]:
    """A database of its own, migrated to revision 0004 only.

    Async on the suite's event loop, with Alembic in a thread: the loop keeps draining the
    session app's LISTEN connection, whose backend must answer DROP DATABASE's barrier."""
    name = f"refunds_0004_{secrets.token_hex(4)}"
    url = make_url(database_url)
    server_url = url.set(database="postgres").render_as_string(hide_password=False)
    await _on_server(server_url, f'CREATE DATABASE "{name}"')
    own_url = url.set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(command.upgrade, alembic_config(own_url), "0004")
    yield own_url
    await _on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
