"""Which database failures the API reports as SERVICE_UNAVAILABLE ("retry shortly").

Each failure is produced for real on the tests' PostgreSQL and classified as the service sees
it: through SQLAlchemy's wrapping where the service uses SQLAlchemy, raw where it uses asyncpg."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from graphql import GraphQLError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.errors import UNAVAILABLE_MESSAGE, MaskFaults
from db.engine import create_engine
from db.errors import is_transient
from db.listener import connect_kwargs


async def failure_of(engine: AsyncEngine, *statements: str) -> DBAPIError:
    """The exception the last statement raises, in one transaction of the service's engine."""
    async with engine.connect() as conn:
        await conn.begin()
        for statement in statements[:-1]:
            await conn.execute(text(statement))
        with pytest.raises(DBAPIError) as raised:
            await conn.execute(text(statements[-1]))
        await conn.rollback()
    return raised.value


async def raw_connection(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(**connect_kwargs(database_url))


async def terminate(engine: AsyncEngine, pid: int) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def test_a_lock_wait_past_lock_timeout_is_transient(engine: AsyncEngine) -> None:
    async with engine.connect() as holder:
        await holder.begin()
        await holder.execute(text("LOCK TABLE merchants IN ACCESS EXCLUSIVE MODE"))
        error = await failure_of(
            engine, "SET LOCAL lock_timeout = '50ms'", "SELECT count(*) FROM merchants"
        )
        await holder.rollback()
    assert getattr(error, "orig", None) is not None  # wrapped by SQLAlchemy, as in the service
    assert is_transient(error)


async def test_a_statement_past_statement_timeout_is_transient(engine: AsyncEngine) -> None:
    error = await failure_of(engine, "SET LOCAL statement_timeout = '20ms'", "SELECT pg_sleep(5)")
    assert is_transient(error)


async def test_a_pooled_connection_killed_by_the_server_is_transient(
    engine: AsyncEngine, database_url: str
) -> None:
    # given a pool whose one connection an operator (or a restart) has killed
    pool = create_engine(database_url, pool_size=1)
    try:
        async with pool.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await terminate(engine, pid)
        # when the service next uses it
        with pytest.raises(DBAPIError) as raised:
            async with pool.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await pool.dispose()
    assert is_transient(raised.value)


async def test_a_raw_connection_killed_by_the_server_is_transient(
    engine: AsyncEngine, database_url: str
) -> None:
    victim = await raw_connection(database_url)
    await terminate(engine, victim.get_server_pid())
    async with asyncio.timeout(10):
        while not victim.is_closed():  # noqa: ASYNC110 - asyncpg offers no event to wait on
            await asyncio.sleep(0.01)
    with pytest.raises(asyncpg.InterfaceError) as raised:
        await victim.fetchval("SELECT 1")
    assert is_transient(raised.value)


async def test_a_server_that_does_not_answer_is_transient() -> None:
    with pytest.raises(OSError, match="Connect call failed|refused") as raised:
        await asyncio.wait_for(asyncpg.connect("postgresql://nobody@127.0.0.1:1/none"), 10)
    assert is_transient(raised.value)


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 1/0",
        "SELECT * FROM no_such_table",
        "INSERT INTO merchants (id) VALUES (NULL)",
    ],
)
async def test_mistakes_are_not_transient(engine: AsyncEngine, statement: str) -> None:
    error = await failure_of(engine, statement)
    assert not is_transient(error)
    assert not is_transient(ValueError("a bug"))


def test_an_outage_is_masked_as_service_unavailable_and_a_bug_as_internal_error() -> None:
    masker = MaskFaults()
    outage = GraphQLError(
        "connection refused by 10.0.0.5",
        path=["initiateRefund"],
        original_error=ConnectionRefusedError(111, "Connect call failed ('10.0.0.5', 5432)"),
    )
    bug = GraphQLError("boom", path=["initiateRefund"], original_error=KeyError("boom"))
    masked_outage, masked_bug = masker._process_errors([outage, bug])
    assert masked_outage.formatted == {
        "message": UNAVAILABLE_MESSAGE,
        "path": ["initiateRefund"],
        "extensions": {"code": "SERVICE_UNAVAILABLE"},
    }
    assert masked_bug.formatted == {
        "message": "Internal server error.",
        "path": ["initiateRefund"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }
