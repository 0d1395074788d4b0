"""The graphql-transport-ws protocol handler, with what strawberry's lacks:

- an unauthenticated `connection_init` closes the socket with 4401 (the contract), where
  strawberry's ConnectionRejectionError closes with 4403;
- a socket opened with a key that is then revoked is closed with 4403 (api/keys/revocations.py),
  in both protocols;
- server keep-alive: a `ping` every keepalive interval (the protocol's own message; clients
  answer `pong`), and a peer that has sent nothing for `idle_seconds` is closed with 4408, so a
  dead client's subscriptions do not live on.

- `refundUpdated` runs on a fast path (api/refunds/live_plans.py): one execution and one
  serialisation per change for every subscriber asking the same, instead of strawberry's
  per-subscriber pipeline.

A message that is not a well-formed object of its type (a bare number, a subscribe without a
string query, variables that are not an object) closes the socket with 4400 in both protocols,
as graphql-transport-ws prescribes; strawberry would fail on it with a traceback.

Both protocols send text frames: the view encodes JSON to bytes (orjson), which strawberry's
adapter would send as binary frames, and GraphQL-over-WebSocket clients expect text.

The legacy graphql-ws protocol gets its keep-alive (`ka`) from strawberry; a rejected
connection_init there gets `connection_error` and a close, and strawberry refuses a `start`
before an acknowledged connection_init (closing with 4401)."""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import orjson
from starlette.websockets import WebSocketDisconnect
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage

from api.auth import MerchantPrincipal
from api.broker import SubscriberTooSlow
from api.context import Context
from api.refunds.live_plans import LiveOperation, plan_for, prepare, render

if TYPE_CHECKING:
    from api.graphql_view import GraphQLEndpoint

UNAUTHORIZED = 4401
IDLE = 4408
BAD_MESSAGE = 4400
OPERATION_TYPES = frozenset({"subscribe", "start"})
ID_TYPES = frozenset({"subscribe", "start", "complete", "stop"})


def malformed(message: object) -> str | None:
    """Why a client's message cannot be handled, or None when it can."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "A message is a JSON object with a string `type`."
    kind = message["type"]
    if kind in ID_TYPES and not isinstance(message.get("id"), str):
        return f"A {kind} message needs a string `id`."
    if kind in OPERATION_TYPES:
        payload = message.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return f"A {kind} message's payload needs a string `query`."
        if not isinstance(payload.get("variables"), dict | None):
            return f"A {kind} message's `variables` must be an object."
        if not isinstance(payload.get("operationName"), str | None):
            return f"A {kind} message's `operationName` must be a string."
    return None


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    view: GraphQLEndpoint

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_heard = time.monotonic()
        self.kept_alive = False

    async def handle_message(self, message: Message) -> None:
        self.last_heard = time.monotonic()
        if reason := malformed(message):
            await self.handle_invalid_message(reason)
            return
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
        if self.connection_acknowledged and not self.kept_alive:
            self.kept_alive = True
            KeepAlive.of(self.view).add(self)
            opened_with(self.view, self.context, self)

    async def ping_or_close(self, idle_seconds: float) -> None:
        try:
            if time.monotonic() - self.last_heard > idle_seconds:
                await self.websocket.close(code=IDLE, reason="Idle timeout")
            else:
                await self.send_message({"type": "ping"})
        except Exception:  # the socket is gone; shutdown() cleans up
            return

    async def shutdown(self) -> None:
        if self.kept_alive:
            KeepAlive.of(self.view).discard(self)
            closed_with(self.view, self.context, self)
        await super().shutdown()

    # -- text frames -------------------------------------------------------------------------

    async def send_message(self, message: Message) -> None:
        await send_text(self.websocket, orjson.dumps(message))

    # -- the refundUpdated fast path ---------------------------------------------------------

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        live = self._live(operation)
        if live is None:
            await super().run_operation(operation)
            return
        try:
            await self._run_live(operation, live)
        except (WebSocketDisconnected, asyncio.CancelledError):
            raise
        except Exception as error:
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    def _live(self, operation: Operation[Context, None]) -> LiveOperation | None:
        settings = self.view.services.settings
        if not settings.live.share_executions or not isinstance(
            self.context.principal, MerchantPrincipal
        ):
            return None
        max_cost = settings.edge.max_query_cost
        plan = plan_for(operation.query, operation.operation_name, max_cost)
        if plan is None:
            return None
        return prepare(plan, self.context, operation.variables, operation.operation_name)

    async def _run_live(self, operation: Operation[Context, None], live: LiveOperation) -> None:
        assert isinstance(self.context.principal, MerchantPrincipal)
        broker = self.view.services.broker
        assert broker is not None
        head = b'{"id":' + orjson.dumps(operation.id) + b',"type":"next","payload":'
        async with broker.subscribe(
            self.context.principal.merchant_id, live.refund_id, live.transaction_id
        ) as subscriber:
            while True:
                try:
                    pushed = await subscriber.next()
                except SubscriberTooSlow as error:
                    await operation.send_operation_message(
                        {"id": operation.id, "type": "error", "payload": [error.formatted]}
                    )
                    return
                self.context.__dict__.pop("loaders", None)  # fresh loaders per change
                await send_text(self.websocket, head + await render(live, pushed) + b"}")


class KeepAlive:
    """One timer per process pings every authenticated graphql-transport-ws connection (and
    closes the silent ones), instead of a sleeping task per connection."""

    def __init__(self, interval: float, idle_seconds: float) -> None:
        self.interval = interval
        self.idle_seconds = idle_seconds
        self.handlers: set[TransportWSHandler] = set()
        self.task: asyncio.Task[None] | None = None
        self.pending: set[asyncio.Task[None]] = set()

    @classmethod
    def of(cls, view: GraphQLEndpoint) -> KeepAlive:
        keeper: KeepAlive | None = getattr(view, "_keep_alive", None)
        if keeper is None:
            live = view.services.settings.live
            keeper = cls(live.keepalive_seconds, live.idle_seconds)
            view._keep_alive = keeper  # type: ignore[attr-defined]
        return keeper

    def add(self, handler: TransportWSHandler) -> None:
        self.handlers.add(handler)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.run())

    def discard(self, handler: TransportWSHandler) -> None:
        self.handlers.discard(handler)

    async def run(self) -> None:
        while self.handlers:
            await asyncio.sleep(self.interval)
            for handler in list(self.handlers):  # short-lived: a frame each, or a close
                task = asyncio.create_task(handler.ping_or_close(self.idle_seconds))
                self.pending.add(task)  # held until done, so it is not collected mid-flight
                task.add_done_callback(self.pending.discard)


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    view: GraphQLEndpoint

    async def handle_message(self, message: OperationMessage) -> None:
        if reason := malformed(message):
            await self.websocket.close(code=BAD_MESSAGE, reason=reason)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            opened_with(self.view, self.context, self)

    async def cleanup(self) -> None:
        closed_with(self.view, self.context, self)
        await super().cleanup()

    async def send_message(self, message: OperationMessage) -> None:
        await send_text(self.websocket, orjson.dumps(message))


def opened_with(view: GraphQLEndpoint, context: Context, handler: Any) -> None:
    """Registers a merchant's socket, to be closed with 4403 if its key is revoked."""
    if isinstance(context.principal, MerchantPrincipal):
        view.services.revocations.opened(context.principal, handler)


def closed_with(view: GraphQLEndpoint, context: Context, handler: Any) -> None:
    if isinstance(context.principal, MerchantPrincipal):
        view.services.revocations.closed(context.principal, handler)


async def send_text(websocket: Any, data: bytes) -> None:
    try:
        await websocket.ws.send_text(data.decode())
    except WebSocketDisconnect as error:
        raise WebSocketDisconnected from error
