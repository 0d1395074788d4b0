"""Server keep-alive on graphql-transport-ws: the server pings, and a peer that stays silent
(no pong, nothing) past the idle timeout is closed, so a dead client's subscriptions end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from api.config import LiveSettings, Settings
from processor.config import ProcessorSettings
from tests.processing.live import TRANSPORT_WS, WAIT_SECONDS, ws_url
from tests.serving import serving
from tests.support import Api


@pytest.fixture
async def quick_server(settings: Settings) -> AsyncIterator[str]:
    """The app with a 0.2 s keep-alive and a 0.6 s idle timeout (and no processor)."""
    app = create_app(
        replace(
            settings,
            processor=ProcessorSettings(enabled=False),
            live=LiveSettings(keepalive_seconds=0.2, idle_seconds=0.6),
        )
    )
    async with serving(app, lifespan="on") as url:
        yield url


async def _read_without_answering(ws: object, received: list[str]) -> None:
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            received.append(orjson.loads(await ws.recv())["type"])  # type: ignore[attr-defined]


async def test_a_silent_peer_is_pinged_then_closed_as_idle(api: Api, quick_server: str) -> None:
    merchant = await api.create_merchant()
    received: list[str] = []
    async with connect(ws_url(quick_server), subprotocols=[TRANSPORT_WS]) as ws:  # type: ignore[list-item]
        await ws.send(
            orjson.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {merchant.key}"}}
            ).decode()
        )
        with pytest.raises(ConnectionClosed) as closed:
            await _read_without_answering(ws, received)
    assert received[0] == "connection_ack"
    assert "ping" in received[1:]
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4408
