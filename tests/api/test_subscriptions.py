"""refundUpdated over real WebSockets: authentication on both sub-protocols, tenancy,
filters, limits, and the LISTEN connection coming back after its backend dies."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from websockets.exceptions import ConnectionClosed

from tests.processing.live import (
    LEGACY_WS,
    PROTOCOLS,
    WAIT_SECONDS,
    live,
    refund_on_rails,
    subscribers_registered,
    wait_until,
)
from tests.support import Api


async def _closed(ws: object, received: list[dict[str, Any]] | None = None) -> ConnectionClosed:
    """Read until the server closes the socket; returns how it closed. What came before is
    appended to `received`."""
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                message = orjson.loads(await ws.recv())  # type: ignore[attr-defined]
                if received is not None:
                    received.append(message)
    except ConnectionClosed as closed:
        return closed
    raise AssertionError("not closed")


@pytest.mark.parametrize("token", [None, "sk_wrong_key", "not even bearer"])
async def test_graphql_transport_ws_closes_an_unauthenticated_socket_with_4401(
    server: str, token: str | None
) -> None:
    async with live(server, token, init=False) as client:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await client.send({"type": "connection_init", "payload": payload})
        await client.subscribe()
        closed = await _closed(client.ws)
    assert closed.rcvd is not None
    assert closed.rcvd.code == 4401


async def test_graphql_transport_ws_refuses_a_subscribe_before_connection_init(
    server: str,
) -> None:
    async with live(server, None, init=False) as client:
        await client.subscribe()
        closed = await _closed(client.ws)
    assert closed.rcvd is not None
    assert closed.rcvd.code == 4401


async def test_graphql_ws_answers_a_bad_key_with_connection_error_then_closes(
    server: str,
) -> None:
    received: list[dict[str, Any]] = []
    async with live(server, None, LEGACY_WS, init=False) as client:
        await client.send({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
        # a start right behind the rejected init must never run
        await client.subscribe()
        closed = await _closed(client.ws, received)
    assert [m["type"] for m in received] == ["connection_error"]
    assert closed.rcvd is not None


async def test_graphql_ws_never_runs_a_start_before_an_authenticated_connection_init(
    server: str, app: Starlette
) -> None:
    received: list[dict[str, Any]] = []
    async with live(server, None, LEGACY_WS, init=False) as client:
        await client.subscribe()
        closed = await _closed(client.ws, received)
    assert closed.rcvd is not None
    assert closed.rcvd.code == 4401
    assert received == []


async def test_the_admin_token_cannot_subscribe_to_refunds(server: str) -> None:
    from tests.conftest import ADMIN_TOKEN

    async with live(server, ADMIN_TOKEN) as client:
        await client.subscribe()
        message = await client.receive()
    assert message["type"] == "next"
    assert message["payload"]["data"] is None
    assert message["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_another_merchants_subscriber_hears_nothing_of_my_refunds(
    api: Api, server: str, app: Starlette, protocol: str
) -> None:
    # given merchant B listening to everything of theirs, and to A's refund id
    a, b = await api.create_merchant("A"), await api.create_merchant("B")
    async with live(server, a.key) as a_client, live(server, b.key, protocol) as b_client:
        await a_client.subscribe()
        await b_client.subscribe()
        await subscribers_registered(app, a)
        await subscribers_registered(app, b)
        # when A's refund goes all the way
        a_refund = await refund_on_rails(api, a)
        await b_client.subscribe(refundId=a_refund["id"])
        await subscribers_registered(app, b, 2)
        await a_client.refunds_until("PROCESSED")
        await refund_on_rails(api, a, source="bounce@okaxis")
        await a_client.refunds_until("REVERSED")
        # then the first thing B hears is B's own refund
        b_refund = await refund_on_rails(api, b)
        first = await b_client.next_refund()
    assert first["id"] == b_refund["id"]
    assert first["status"] == "PENDING"


async def test_filters_narrow_to_one_refund_or_one_transaction(
    api: Api, server: str, app: Starlette
) -> None:
    merchant = await api.create_merchant()
    await api.recharge(merchant, 1_000_00)
    first_txn = await api.record_transaction(merchant, amount=100_00)
    second_txn = await api.record_transaction(merchant, amount=100_00)
    async with live(server, merchant.key) as client:
        by_transaction = await client.subscribe(transactionId=second_txn["id"])
        await subscribers_registered(app, merchant)
        await api.initiate_refund(merchant, transactionId=first_txn["id"], amount=10_00)
        wanted = (
            await api.initiate_refund(merchant, transactionId=second_txn["id"], amount=20_00)
        )["refund"]
        pushed = await client.refunds_until("PROCESSED")
    assert {r["id"] for r in pushed} == {wanted["id"]}
    assert by_transaction == "1"


async def test_a_malformed_or_foreign_id_filter_is_quiet_not_an_error(
    api: Api, server: str, app: Starlette
) -> None:
    merchant = await api.create_merchant()
    async with live(server, merchant.key) as client:
        await client.subscribe(refundId="rfd_not_an_id")
        await client.subscribe()
        await subscribers_registered(app, merchant, 2)
        refund = await refund_on_rails(api, merchant)
        pushed = await client.refunds_until("PROCESSED")
    # only the unfiltered subscription (id "2") spoke
    assert [r["id"] for r in pushed] == [refund["id"]] * 3


async def test_a_connection_may_hold_only_so_many_subscriptions(
    api: Api, server: str, app: Starlette
) -> None:
    limit = app.state.services.settings.live.max_subscriptions_per_connection
    merchant = await api.create_merchant()
    async with live(server, merchant.key) as client:
        for _ in range(limit):
            await client.subscribe()
        await subscribers_registered(app, merchant, limit)
        await client.subscribe()
        message = await client.receive()
    assert message["type"] == "error"
    assert "limit" in message["payload"][0]["message"].lower()


async def test_the_server_pings_and_a_client_that_answers_stays_connected(
    api: Api, server: str
) -> None:
    merchant = await api.create_merchant()
    async with live(server, merchant.key) as client:
        await client.send({"type": "ping"})
        answer = await client.receive()
    assert answer["type"] == "pong"


async def test_subscribers_hear_changes_after_the_listen_connection_is_killed(
    api: Api, server: str, app: Starlette, engine: AsyncEngine
) -> None:
    # given the app's LISTEN backend killed, as a database restart would
    listener = app.state.background.listener
    made = listener.connections_made
    name = listener.name
    async with engine.begin() as conn:
        killed = (
            await conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": name},
            )
        ).scalar_one()
    assert killed == 1

    async def reconnected() -> bool:
        return bool(listener.connections_made > made and listener.connected.is_set())

    await wait_until(reconnected, "listener re-connected")
    # when a refund changes afterwards
    merchant = await api.create_merchant()
    async with live(server, merchant.key) as client:
        await client.subscribe()
        await subscribers_registered(app, merchant)
        await refund_on_rails(api, merchant)
        pushed = await client.refunds_until("PROCESSED")
    # then the subscriber hears all of it
    assert [r["status"] for r in pushed] == ["PENDING", "PROCESSING", "PROCESSED"]


async def test_subscribers_asking_different_things_of_one_change_each_get_their_own(
    api: Api, server: str, app: Starlette
) -> None:
    # given three subscribers of one merchant: two documents, one of them twice
    narrow = "subscription { refundUpdated { id status } }"
    wide = (
        "subscription($r: ID) { refundUpdated(refundId: $r) { status "
        "events { status } transaction { refundedAmount } } }"
    )
    merchant = await api.create_merchant()
    async with live(server, merchant.key) as one, live(server, merchant.key) as two:
        await one.subscribe(narrow)
        two_narrow = await two.subscribe(narrow)
        two_wide = await two.subscribe(wide)
        await subscribers_registered(app, merchant, 3)
        # when one change is pushed (the PENDING of a new refund; the rails move it on after)
        refund = await refund_on_rails(api, merchant, amount=12_00)
        first_of_one = await one.receive()
        first_of_two = await two.first_of_each(two_narrow, two_wide)
    # then each got its own selection (the shared execution keys on document and variables)
    by_id = {
        "1": first_of_two[two_narrow]["payload"]["data"]["refundUpdated"],
        "2": first_of_two[two_wide]["payload"]["data"]["refundUpdated"],
    }
    assert first_of_one["payload"]["data"]["refundUpdated"] == {
        "id": refund["id"],
        "status": "PENDING",
    }
    assert by_id["1"] == {"id": refund["id"], "status": "PENDING"}
    assert by_id["2"]["status"] == "PENDING"
    assert by_id["2"]["transaction"] == {"refundedAmount": 12_00}
    assert by_id["2"]["events"][0] == {"status": "PENDING"}
