"""One LISTEN connection per process, on a dedicated asyncpg connection (not a pooled one).

PostgreSQL delivers a NOTIFY at commit to the sessions listening at that moment and keeps
nothing, so this connection must stay up: it is watched with `add_termination_listener`, checked
with a query when quiet, and re-opened with backoff after it dies (a database restart, a
terminated backend). Notifications sent while it was down are lost; `on_reconnect` handlers run
after every re-connection so that consumers can catch up from the tables."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger("refunds.listener")

HEALTH_CHECK_SECONDS = 10.0
HEALTH_CHECK_TIMEOUT_SECONDS = 5.0
RECONNECT_MIN_SECONDS = 0.2
RECONNECT_MAX_SECONDS = 5.0


def connect_kwargs(database_url: str) -> dict[str, Any]:
    """asyncpg's arguments for a `postgresql://` URL (Unix socket in `?host=` included)."""
    url = make_url(database_url)
    return {
        "user": url.username,
        "password": url.password or None,
        "host": url.query.get("host", url.host),
        "port": url.port,
        "database": url.database or "postgres",
    }


class NotificationListener:
    def __init__(self, database_url: str, *channels: str, name: str = "refunds-listener"):
        self.database_url = database_url
        self.channels = channels
        self.name = name
        self.connected = asyncio.Event()
        self.connections_made = 0
        self._handlers: dict[str, list[Callable[[str], None]]] = {c: [] for c in channels}
        self._reconnect_handlers: list[Callable[[], None]] = []

    def on_notify(self, handler: Callable[[str], None], channel: str | None = None) -> None:
        """`handler(payload)` runs in the event loop for every notification on `channel` (the
        first one by default); keep it short."""
        self._handlers[channel or self.channels[0]].append(handler)

    def on_reconnect(self, handler: Callable[[], None]) -> None:
        self._reconnect_handlers.append(handler)

    def _dispatch(self, _conn: Any, _pid: int, channel: str, payload: object) -> None:
        assert isinstance(payload, str)
        for handler in self._handlers[channel]:
            try:
                handler(payload)
            except Exception:
                log.exception("notification handler failed")

    async def run(self) -> None:
        delay = RECONNECT_MIN_SECONDS
        while True:
            try:
                conn = await asyncpg.connect(
                    **connect_kwargs(self.database_url),
                    server_settings={"application_name": self.name},
                )
            except (TimeoutError, OSError, asyncpg.PostgresError) as error:
                log.warning(
                    "listener cannot connect (%s); retrying in %.1fs", type(error).__name__, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
                continue
            delay = RECONNECT_MIN_SECONDS
            try:
                await self._listen(conn)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("listener connection lost (%s)", type(error).__name__)
            finally:
                self.connected.clear()
                with suppress(Exception):
                    conn.terminate()
            await asyncio.sleep(RECONNECT_MIN_SECONDS)

    async def _listen(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        for channel in self.channels:
            await conn.add_listener(channel, self._dispatch)
        self.connections_made += 1
        self.connected.set()
        if self.connections_made > 1:
            log.info("listener re-connected to channels %s", ", ".join(self.channels))
            for handler in self._reconnect_handlers:
                handler()
        while not lost.is_set():
            with suppress(TimeoutError):
                async with asyncio.timeout(HEALTH_CHECK_SECONDS):
                    await lost.wait()
                    return
            # Quiet for a while: prove the connection still works (a half-open TCP
            # connection fires no termination listener).
            async with asyncio.timeout(HEALTH_CHECK_TIMEOUT_SECONDS):
                await conn.execute("SELECT 1")
