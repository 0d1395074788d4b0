"""A real HTTP receiver for webhooks on 127.0.0.1: it records every request and answers with
the next status of its script (then 204), so tests can make it fail, vanish and come back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.serving import serving
from tests.support import free_port

WAIT_LIMIT_SECONDS = 60.0  # a guard against hanging, never a measured bound
HANG = 0  # in a script: hold the request, unanswered, until the receiver is released


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def refund_id(self) -> str:
        refund_id: str = self.json["data"]["refund"]["id"]
        return refund_id


@dataclass
class Receiver:
    port: int
    # statuses to answer first, in order; HANG: hold the request unanswered until `release`
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    hold_seconds: float = 0.0  # each request is answered this long after it came, so they overlap
    in_flight: int = 0  # requests being answered now
    most_in_flight: int = 0  # the most it was answering at once
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def _hook(self, request: Request) -> Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.hold_seconds:
                await asyncio.sleep(self.hold_seconds)
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: Request) -> Response:
        status = self.script.pop(0) if self.script else 204
        headers = {k.lower(): v for k, v in request.headers.items()}
        async with self._changed:
            self.received.append(Received(headers, await request.body(), status))
            self._changed.notify_all()
        if status == HANG:
            await self.release.wait()
        if 300 <= status < 400:  # back to this receiver: a sender that follows it comes again
            return Response(status_code=status, headers={"location": "/hooks"})
        return Response(status_code=status if status != HANG else 204)

    async def wait_for(self, done: Callable[[list[Received]], bool]) -> list[Received]:
        """Wait until `done(received)` holds; returns what was received by then."""
        async with asyncio.timeout(WAIT_LIMIT_SECONDS), self._changed:
            await self._changed.wait_for(lambda: done(self.received))
        return list(self.received)

    def of_refund(self, refund_id: str) -> list[Received]:
        return [r for r in self.received if r.refund_id == refund_id]


@contextlib.asynccontextmanager
async def receiving(
    script: list[int] | None = None, port: int | None = None, receiver: Receiver | None = None
) -> AsyncIterator[Receiver]:
    """A receiver listening until the block ends (on `port`, or one free now)."""
    receiver = receiver or Receiver(port or free_port(), list(script or []))
    app = Starlette(routes=[Route("/hooks", receiver._hook, methods=["POST"])])
    async with serving(app, port=receiver.port):
        try:
            yield receiver
        finally:
            receiver.release.set()
