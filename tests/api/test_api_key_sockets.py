"""API keys and WebSockets on one process: a READ_ONLY key subscribes; a revocation this
process missed (its LISTEN connection was down) still closes the key's sockets with 4403 and
refuses the key once the connection is back."""

from __future__ import annotations

import asyncio
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from tests.api.test_api_keys import create_key
from tests.processing.live import (
    LEGACY_WS,
    TRANSPORT_WS,
    WAIT_SECONDS,
    live,
    refund_on_rails,
    subscribers_registered,
    wait_until,
)
from tests.support import Api

VIEWER = "{ viewer { id } }"


async def test_a_read_only_key_subscribes_and_hears_refunds_made_with_a_full_key(
    api: Api, server: str, app: Starlette
) -> None:
    merchant = await api.create_merchant()
    reader = (await create_key(api, merchant, "Wallboard", "READ_ONLY"))["key"]
    async with live(server, reader) as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        refund = await refund_on_rails(api, merchant)
        pushed = await client.next_refund()
    assert pushed["id"] == refund["id"]


async def _kill_listener(app: Starlette, engine: AsyncEngine) -> None:
    listener = app.state.background.listener
    made = listener.connections_made
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": listener.name},
        )

    async def reconnected() -> bool:
        return bool(listener.connections_made > made and listener.connected.is_set())

    await wait_until(reconnected, "listener re-connected")


async def test_a_revocation_missed_while_listening_was_down_applies_on_reconnect(
    api: Api, server: str, app: Starlette, engine: AsyncEngine
) -> None:
    # given a key in use, cached, with a socket open in each protocol
    merchant = await api.create_merchant()
    created = await create_key(api, merchant, "Till 7")
    key, key_id = created["key"], UUID(hex=created["apiKey"]["id"].partition("_")[2])
    assert (await api.post(VIEWER, token=key)).status_code == 200
    async with live(server, key, TRANSPORT_WS) as modern, live(server, key, LEGACY_WS) as legacy:
        # when it is revoked without this process hearing of it (a NOTIFY lost)
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE api_keys SET revoked_at = now() WHERE merchant_id = :m AND id = :k"),
                {"m": UUID(hex=merchant.id.partition("_")[2]), "k": key_id},
            )
        assert (await api.post(VIEWER, token=key)).status_code == 200  # the cache still has it
        # and the LISTEN connection drops and comes back
        await _kill_listener(app, engine)
        # then the key is refused, and both sockets are closed with 4403
        assert (await api.post(VIEWER, token=key)).status_code == 401
        async with asyncio.timeout(WAIT_SECONDS):
            await modern.ws.wait_closed()
            await legacy.ws.wait_closed()
    assert (modern.ws.close_code, legacy.ws.close_code) == (4403, 4403)


async def test_a_socket_authenticated_just_before_its_keys_revocation_arrived_is_closed(
    api: Api, server: str, app: Starlette
) -> None:
    # given a revocation heard while the key's lookup was still in flight (the row read
    # before the revocation committed; here: a key this process heard of, still active)
    merchant = await api.create_merchant()
    created = await create_key(api, merchant, "Kiosk")
    key_id = UUID(hex=created["apiKey"]["id"].partition("_")[2])
    app.state.services.revocations.revoked(key_id)
    # when the socket it authenticated registers after that
    async with live(server, created["key"]) as client:
        async with asyncio.timeout(WAIT_SECONDS):
            await client.ws.wait_closed()
    # then it is closed as revoked
    assert client.ws.close_code == 4403
