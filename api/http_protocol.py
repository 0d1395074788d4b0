"""uvicorn's httptools protocol with a read timeout.

uvicorn bounds an idle keep-alive connection (`timeout_keep_alive`) but not one that is sending a
request: a client that sends half its headers, or part of its body, and then waits would hold the
connection (and its memory) for ever. Here a request must arrive whole within the read timeout,
counted from when the connection opened (its first request) or from the request's first byte
(later requests on a keep-alive connection), or the connection is closed. A WebSocket upgrade
leaves the timer behind: its own pings and idle timeout take over."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.config import EdgeSettings


class TimedHttpToolsProtocol(HttpToolsProtocol):
    # uvicorn builds the protocol from its import path in every worker process, so the setting
    # is read from the environment here, once per process.
    read_timeout_seconds = EdgeSettings.from_env().http_read_timeout_seconds

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_read_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.read_timer is None:
            self._arm_read_timer()

    def on_message_complete(self) -> None:
        self._disarm_read_timer()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm_read_timer()
        super().handle_websocket_upgrade()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_timer()
        super().connection_lost(exc)

    def _arm_read_timer(self) -> None:
        self.read_timer = self.loop.call_later(self.read_timeout_seconds, self._read_timed_out)

    def _disarm_read_timer(self) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None

    def _read_timed_out(self) -> None:
        self.read_timer = None
        if not self.transport.is_closing():
            self.transport.close()
