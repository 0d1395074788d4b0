"""The async engine: one per process, built from a plain `postgresql://` URL."""

from __future__ import annotations

import os
from typing import Any

import orjson
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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


def create_engine(url: str, *, pool_size: int | None = None, **kwargs: Any) -> AsyncEngine:
    size = pool_size or int(os.environ.get("REFUNDS_DB_POOL_SIZE", "10"))
    return create_async_engine(
        async_url(url),
        pool_size=size,
        max_overflow=size,
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
