"""Test helpers for live status: a GraphQL WebSocket client for both sub-protocols (over the
`websockets` package, against the real server), and ways to wait for a subscriber to be
registered before the change it waits for is made."""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
import orjson
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect

from tests.support import Api, Merchant

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
PROTOCOLS = (TRANSPORT_WS, LEGACY_WS)
WAIT_SECONDS = 20.0  # generous: the machine is shared; nothing is asserted about time

PUSHED_FIELDS = """id status failureCode failureMessage bankReference speedRequested
  speedProcessed estimatedSettlementAt processedAt updatedAt destination { kind display }
  transaction { id refundedAmount } events { status }"""
REFUND_UPDATED = f"""subscription($refundId: ID, $transactionId: ID) {{
  refundUpdated(refundId: $refundId, transactionId: $transactionId) {{ {PUSHED_FIELDS} }} }}"""

TERMINAL = {"PROCESSED", "FAILED", "ACTION_REQUIRED", "CANCELLED", "REVERSED", "ON_HOLD"}


def ws_url(server: str) -> str:
    return server.replace("http://", "ws://", 1) + "/graphql"


class LiveClient:
    """One WebSocket speaking either sub-protocol; answers server pings."""

    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self._ids = itertools.count(1)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(message).decode())

    async def init(self, token: str | None) -> dict[str, Any]:
        """Send connection_init; returns the server's answer (ack or error)."""
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def receive(self) -> dict[str, Any]:
        while True:
            async with asyncio.timeout(WAIT_SECONDS):
                raw = await self.ws.recv()
            assert isinstance(raw, str), "GraphQL over WebSocket is text frames, not binary"
            message: dict[str, Any] = orjson.loads(raw)
            if message["type"] == "ping":
                await self.send({"type": "pong"})
            elif message["type"] != "ka":
                return message

    async def subscribe(self, query: str = REFUND_UPDATED, **variables: Any) -> str:
        op_id = str(next(self._ids))
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send(
            {"type": kind, "id": op_id, "payload": {"query": query, "variables": variables}}
        )
        return op_id

    async def next_refund(self) -> dict[str, Any]:
        message = await self.receive()
        assert message["type"] in ("next", "data"), message
        assert not message["payload"].get("errors"), message
        refund: dict[str, Any] = message["payload"]["data"]["refundUpdated"]
        return refund

    async def first_of_each(self, *op_ids: str) -> dict[str, dict[str, Any]]:
        """The first message of each operation. Operations on one socket are independent
        streams: a fast one may push its second change before a slow one pushes its first."""
        first: dict[str, dict[str, Any]] = {}
        while set(first) != set(op_ids):
            message = await self.receive()
            first.setdefault(message["id"], message)
        return first

    async def refunds_until(self, *statuses: str) -> list[dict[str, Any]]:
        """Pushed refunds until one in `statuses` (default: one that waits for something)."""
        wanted = set(statuses) or TERMINAL
        seen = []
        while True:
            refund = await self.next_refund()
            seen.append(refund)
            if refund["status"] in wanted:
                return seen


@asynccontextmanager
async def live(
    server: str, token: str | None, protocol: str = TRANSPORT_WS, *, init: bool = True
) -> AsyncIterator[LiveClient]:
    async with connect(
        ws_url(server),
        subprotocols=[protocol],  # type: ignore[list-item]
        open_timeout=WAIT_SECONDS,
    ) as ws:
        client = LiveClient(ws, protocol)
        if init:
            answer = await client.init(token)
            assert answer["type"] == "connection_ack", answer
        yield client


async def wait_until(predicate: Any, what: str) -> None:
    """Poll `predicate` (state in another process or task, with no event to wait on)."""
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while not await predicate():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for: {what}") from None


async def subscribers_registered(app: Starlette, merchant: Merchant, count: int = 1) -> None:
    """Wait until this process's broker holds `count` subscribers of the merchant."""
    broker = app.state.services.broker
    merchant_id = UUID(hex=merchant.id.partition("_")[2])

    async def ready() -> bool:
        return bool(broker.subscriber_count(merchant_id) >= count)

    await wait_until(ready, "subscribers registered")


async def metrics_subscribers(http: httpx.AsyncClient, server: str) -> float:
    text = (await http.get(f"{server}/metrics")).text
    found = re.search(r"^refunds_subscribers (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def refund_on_rails(
    api: Api,
    merchant: Merchant,
    *,
    source: str = "customer@okaxis",
    method: str = "UPI",
    amount: int = 100_00,
    recharge: bool = True,
    **refund_fields: Any,
) -> dict[str, Any]:
    """Record a transaction paid from `source` (its marker picks the sandbox outcome), fund
    the merchant and refund it. Returns the initiateRefund payload's refund."""
    if recharge:
        await api.recharge(merchant, amount)
    transaction = await api.record_transaction(
        merchant,
        amount=amount,
        source=source,
        paymentMethod=method,
        reference=f"pay_{secrets.token_hex(6)}",
    )
    payload = await api.initiate_refund(
        merchant, transactionId=transaction["id"], amount=amount, **refund_fields
    )
    assert payload["userErrors"] == [], payload
    refund: dict[str, Any] = payload["refund"]
    return refund
