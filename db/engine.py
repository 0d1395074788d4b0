"""The async engine: one per process, built from a plain `postgresql://` URL."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger("refunds.db")

# A lock wait longer than this is a fault (or a stuck idempotency key), not a queue to join.
LOCK_TIMEOUT_MS = 5_000
STATEMENT_TIMEOUT_MS = 30_000


def async_url(url: str) -> str:
    """`postgresql://…` (as users write it) with the asyncpg driver named."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"DATABASE_URL must be a postgresql:// URL, not {parsed.drivername}://")


def _json_serializer(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(
    url: str, *, pool_size: int, max_overflow: int | None = None, **kwargs: Any
) -> AsyncEngine:
    """The request path's engine gets its `max_overflow` from the settings (0 by default): a
    fixed pool, because under load an overflow connection
    is opened for one request and closed after it: a new backend, asyncpg's type introspection
    and every statement prepared again, each time (measured: bench/LEVERS.md, "a fixed pool on
    the request path"). Requests beyond the pool wait for a connection, as they do with
    asyncpg's own pool.

    Internal users (the processor, the broker, the CLI) give no `max_overflow`: bounded by their
    own concurrency, they keep as many again in overflow, a margin rather than a steady state."""
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_pre_ping=False,
        json_serializer=_json_serializer,
        json_deserializer=orjson.loads,
        connect_args={
            "server_settings": {
                "lock_timeout": str(LOCK_TIMEOUT_MS),
                "statement_timeout": str(STATEMENT_TIMEOUT_MS),
                "application_name": "refunds",
            }
        },
        **kwargs,
    )


async def database_answers(engine: AsyncEngine, timeout_seconds: float = 2.0) -> bool:
    """A readiness probe: does the database run `SELECT 1` in time? Any failure means no; the
    log says which kind, never the driver's message."""
    try:
        async with asyncio.timeout(timeout_seconds):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as error:
        log.warning("readiness check failed: %s", type(error).__name__)
        return False
    return True
