"""Fixtures for processor tests: a database of the test's own, where no processor runs but
the ones the test starts (the session's app processes refunds in the shared one)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine
from db.listener import connect_kwargs
from db.migrate import upgrade


async def _admin(database_url: str, sql: str) -> None:
    kwargs = connect_kwargs(
        make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
    )
    conn = await asyncpg.connect(**kwargs)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _url_of(database_url: str, name: str) -> str:
    return make_url(database_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def migrated_template(database_url: str) -> Iterator[str]:
    """A migrated database to copy from (CREATE DATABASE ... TEMPLATE is much faster than
    running the migrations for each test)."""
    name = f"refunds_tpl_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_admin(database_url, f'CREATE DATABASE "{name}"'))
    upgrade(_url_of(database_url, name))
    yield name
    asyncio.run(_admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def own_database_url(database_url: str, migrated_template: str) -> AsyncIterator[str]:
    name = f"refunds_own_{os.getpid()}_{secrets.token_hex(4)}"
    await _admin(database_url, f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    yield _url_of(database_url, name)
    await _admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def own_engine(own_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(own_database_url, pool_size=4)
    yield engine
    await engine.dispose()
