"""The GraphQL endpoint: strawberry's ASGI view with authentication in front of it, JSON error
bodies instead of plain text, and orjson encoding and decoding. orjson's decoder refuses, as
the client's mistake (400 BAD_REQUEST), what Python's `json` lets through to fail later: invalid
UTF-8, lone surrogates (which no response could encode) and nesting deeper than 1,024 levels
(which would exhaust Python's recursion)."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlencode

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from api import compiled
from api.auth import MerchantPrincipal, Principal
from api.context import Context, Services
from api.errors import UNAVAILABLE_MESSAGE
from api.metrics import HTTP_REJECTIONS
from api.persisted_queries import PersistedQueries, PersistedQueryError
from api.rate_limits import RateLimits, client_address
from api.web import security_headers
from api.web.graphiql import graphiql_csp, offline_graphiql_html
from api.ws_handlers import LegacyWSHandler, TransportWSHandler

log = logging.getLogger("refunds.api")

# The peer of the WebSocket being served, for `authenticate` (called by the protocol handlers).
websocket_client: ContextVar[str] = ContextVar("websocket_client", default="unknown")

UNAUTHENTICATED_MESSAGE = (
    "Missing or unknown API key. Send Authorization: Bearer <key> (a merchant API key or the "
    "admin token)."
)


NOT_AN_OBJECT = (
    'A GraphQL request is a JSON object: {"query": "...", "variables": {...}, '
    '"operationName": "..."}.'
)


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
    )


class GraphQLEndpoint(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler  # closes unauthenticated with 4401
    graphql_ws_handler_class = LegacyWSHandler  # text frames

    def __init__(self, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services
        self.websockets_open = 0
        self.rate_limits = RateLimits(services.settings.edge)
        edge = services.settings.edge
        self.compiled_reads = compiled.build(
            self.schema, edge.max_query_cost, edge.plan_cache_size, services.settings.serving
        )
        self.persisted_queries = PersistedQueries(edge.persisted_query_cache_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        if not self._wants_ide(request):
            address = client_address(scope)
            if refusal := await self.rate_limits.refuse_address(address):
                HTTP_REJECTIONS.labels("rate_limited_address").inc()
                await refusal(scope, receive, send)
                return
            try:
                principal = await self.services.authenticator.principal(
                    request.headers.get("authorization")
                )
            except Exception:  # the key store is unreachable: say so, never how
                log.exception("authentication lookup failed")
                HTTP_REJECTIONS.labels("auth_unavailable").inc()
                await error_response(503, "SERVICE_UNAVAILABLE", UNAVAILABLE_MESSAGE)(
                    scope, receive, send
                )
                return
            if principal is None:
                log.info("unauthenticated request from %s", address)
                await self.rate_limits.failed_authentication(address)
                HTTP_REJECTIONS.labels("unauthenticated").inc()
                await error_response(401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE)(
                    scope, receive, send
                )
                return
            if refusal := await self.rate_limits.refuse_key(request.headers.get("authorization")):
                HTTP_REJECTIONS.labels("rate_limited_key").inc()
                await refusal(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
            payload = await self._payload(request)
            try:
                request, payload = self._persisted_query_resolved(request, payload, principal)
            except PersistedQueryError as error:
                log.info("persisted query refused: %s", error.code)
                HTTP_REJECTIONS.labels(error.code.lower()).inc()
                await error_response(error.status, error.code, error.message)(scope, receive, send)
                return
            compiled_response = await self._compiled(payload, principal)
            if compiled_response is not None:
                await compiled_response(scope, receive, send)
                return
        try:
            response = await self.run(request)
        except HTTPException as error:
            HTTP_REJECTIONS.labels(f"http_{error.status_code}").inc()
            log.info("bad request (%s): %s", error.status_code, error.reason)
            response = error_response(error.status_code, "BAD_REQUEST", error.reason)
        await response(scope, receive, send)

    async def _payload(self, request: Request) -> Any:
        """The request as one JSON value: a POST's JSON body, or a GET's query parameters with
        `variables` and `extensions` decoded; None when strawberry must judge it (it refuses
        what does not decode with the usual 400)."""
        if request.method == "GET":
            params: dict[str, Any] = dict(request.query_params)
            for key in ("variables", "extensions"):
                if params.get(key):
                    try:
                        params[key] = orjson.loads(params[key])
                    except orjson.JSONDecodeError:
                        return None
            return params
        if request.method != "POST" or not request.headers.get("content-type", "").startswith(
            "application/json"
        ):
            return None
        try:
            return orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None

    def _persisted_query_resolved(
        self, request: Request, payload: Any, principal: Principal
    ) -> tuple[Request, Any]:
        """The request with a persisted query's document in it (api/persisted_queries.py), as
        both read paths take it; unchanged when it names none."""
        if not isinstance(payload, dict):
            return request, payload
        caller = str(principal.merchant_id) if isinstance(principal, MerchantPrincipal) else ""
        resolved = self.persisted_queries.resolve(payload, caller)
        if resolved is payload:
            return request, payload
        if request.method == "GET":
            params = {
                key: value if isinstance(value, str) else orjson.dumps(value).decode()
                for key, value in resolved.items()
                if value is not None
            }
            scope = {**request.scope, "query_string": urlencode(params).encode()}
            return Request(scope, request.receive), resolved
        return Request(request.scope, _replayed(orjson.dumps(resolved), request.receive)), resolved

    async def _compiled(self, payload: Any, principal: Principal) -> Response | None:
        """A read answered by its compiled plan (api/compiled), or None: strawberry answers."""
        if self.compiled_reads is None or payload is None:
            return None
        services = self.services
        body = await self.compiled_reads.respond(
            payload, principal, services.reads, services.api_keys
        )
        return None if body is None else Response(body, media_type="application/json")

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """strawberry's GraphiQL page with its files served from this package."""
        return HTMLResponse(offline_graphiql_html(), headers=security_headers(graphiql_csp()))

    @staticmethod
    def _wants_ide(request: Request) -> bool:
        return (
            request.method == "GET"
            and "query" not in request.query_params
            and "extensions" not in request.query_params
            and "text/html" in request.headers.get("accept", "")
        )

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        principal = request.scope.get("state", {}).get("principal")
        return Context(self.services, request, response, principal)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """Request bodies, GET variables and WebSocket messages; orjson.JSONDecodeError is the
        json.JSONDecodeError strawberry answers with 400 (HTTP) or closes with 4400 (WS)."""
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            value = self.decode_json(data)
        except orjson.JSONDecodeError as error:
            raise HTTPException(
                400, f"Unable to parse request body as JSON: {error.msg}."
            ) from None
        if not isinstance(value, dict | list):  # a list is a batch, which strawberry refuses
            raise HTTPException(400, NOT_AN_OBJECT)
        return value

    async def parse_http_body(self, request: Any) -> Any:
        data = await super().parse_http_body(request)
        if not isinstance(getattr(data, "operation_name", None), str | None):
            raise HTTPException(400, "The GraphQL operation's `operationName` must be a string.")
        return data

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A bounded number of sockets per process; past it, refuse (1013: try again later)."""
        if self.websockets_open >= self.services.settings.live.max_connections:
            HTTP_REJECTIONS.labels("too_many_websockets").inc()
            await WebSocket(scope, receive, send).close(code=1013)
            return
        self.websockets_open += 1
        websocket_client.set(client_address(scope))
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.websockets_open -= 1

    async def authenticate(self, connection_params: dict[str, Any] | None) -> Any:
        """The principal named by a connection_init payload, or None."""
        params = connection_params or {}
        authorization = params.get("Authorization") or params.get("authorization")
        address = websocket_client.get()
        if await self.rate_limits.address_blocked(address):
            HTTP_REJECTIONS.labels("rate_limited_address").inc()
            return None
        try:
            principal = await self.services.authenticator.principal(
                authorization if isinstance(authorization, str) else None
            )
        except Exception:  # the key store is unreachable: refuse, never crash the socket
            log.exception("authentication lookup failed")
            return None
        if principal is None:
            await self.rate_limits.failed_authentication(address)
        return principal

    async def on_ws_connect(self, context: Context) -> Any:
        if context.principal is not None:  # graphql-transport-ws: done by TransportWSHandler
            return None
        principal = await self.authenticate(context.connection_params)
        if principal is None:
            raise ConnectionRejectionError({"message": UNAUTHENTICATED_MESSAGE})
        context.principal = principal
        return None


def _replayed(body: bytes, receive: Receive) -> Receive:
    """`receive` with the request's body replaced by `body` (already read whole)."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


__all__ = ["GraphQLEndpoint", "Response"]
