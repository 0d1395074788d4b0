"""The graphql-transport-ws protocol handler, with what strawberry's lacks:

- an unauthenticated `connection_init` closes the socket with 4401 (the contract), where
  strawberry's ConnectionRejectionError closes with 4403;
- server keep-alive: a `ping` every keepalive interval (the protocol's own message; clients
  answer `pong`), and a peer that has sent nothing for `idle_seconds` is closed with 4408, so a
  dead client's subscriptions do not live on.

The legacy graphql-ws protocol gets its keep-alive (`ka`) from strawberry; a rejected
connection_init there gets `connection_error` and a close, and strawberry refuses a `start`
before an acknowledged connection_init (closing with 4401)."""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)

from api.context import Context

if TYPE_CHECKING:
    from api.graphql_view import GraphQLEndpoint

UNAUTHORIZED = 4401
IDLE = 4408


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    view: GraphQLEndpoint

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_heard = time.monotonic()
        self.keepalive_task: asyncio.Task[None] | None = None

    async def handle_message(self, message: Message) -> None:
        self.last_heard = time.monotonic()
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload", {})
        first = not self.connection_init_received and not self.connection_timed_out
        if first and isinstance(payload, dict):
            principal = await self.view.authenticate(payload)
            if principal is None:
                self.connection_init_received = True
                if self.connection_init_timeout_task:
                    self.connection_init_timeout_task.cancel()
                await self.websocket.close(code=UNAUTHORIZED, reason="Unauthorized")
                return
            self.context.principal = principal
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self.keepalive_task is None:
            self.keepalive_task = asyncio.create_task(self.keep_alive())

    async def keep_alive(self) -> None:
        live = self.view.services.settings.live
        while True:
            await asyncio.sleep(live.keepalive_seconds)
            if time.monotonic() - self.last_heard > live.idle_seconds:
                with suppress(Exception):
                    await self.websocket.close(code=IDLE, reason="Idle timeout")
                return
            try:
                await self.send_message({"type": "ping"})
            except Exception:  # the socket is gone; shutdown() cleans up
                return

    async def shutdown(self) -> None:
        if self.keepalive_task is not None:
            self.keepalive_task.cancel()
            with suppress(asyncio.CancelledError):
                await self.keepalive_task
        await super().shutdown()
