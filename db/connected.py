"""Reads that take a pooled connection for each call, or run on one the caller already holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class ConnectedReads:
    def __init__(self, engine: AsyncEngine, connection: AsyncConnection | None = None) -> None:
        self.engine = engine
        self.connection = connection

    def on(self, connection: AsyncConnection) -> Self:
        """The same reads on a connection the caller holds: a request that already holds one
        must not wait for a second from the pool (all requests doing so would deadlock it)."""
        return type(self)(self.engine, connection)

    @asynccontextmanager
    async def _connected(self) -> AsyncIterator[AsyncConnection]:
        if self.connection is not None:
            yield self.connection
            return
        async with self.engine.connect() as conn:
            yield conn
