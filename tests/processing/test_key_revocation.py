"""A key revoked through one process is refused by another within a second, and the
WebSockets it opened there are closed with 4403 (both protocols): the in-process server and a
real `refunds serve` on the same database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from tests.api.test_api_keys import create_key, list_keys, revoke_key
from tests.conftest import ADMIN_TOKEN
from tests.processing.live import LEGACY_WS, TRANSPORT_WS, LiveClient, live, wait_until
from tests.processing.test_processes import serving
from tests.support import Api, Merchant

VIEWER = "{ viewer { id } }"
# the contract's bound: a revoked key is refused everywhere within 1 second
REVOCATION_SECONDS = 1.0


async def _seconds_until_refused(http: httpx.AsyncClient, key: str, since: float) -> float:
    while True:
        response = await http.post(
            "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {key}"}
        )
        if response.status_code == 401:
            return time.monotonic() - since
        await asyncio.sleep(0.01)


async def _seconds_until_closed(client: LiveClient, since: float) -> tuple[float, Any]:
    await client.ws.wait_closed()
    return time.monotonic() - since, client.ws.close_code


async def _last_used(api: Api, merchant: Merchant, key_id: str) -> str | None:
    keys = {k["id"]: k for k in await list_keys(api, merchant.key)}
    used: str | None = keys[key_id]["lastUsedAt"]
    return used


async def _used_after(api: Api, merchant: Merchant, key_id: str, after: str | None) -> str:
    async def moved() -> bool:
        used = await _last_used(api, merchant, key_id)
        return used is not None and (after is None or used > after)

    await wait_until(moved, "lastUsedAt moved")
    used = await _last_used(api, merchant, key_id)
    assert used is not None
    return used


async def test_a_key_revoked_on_one_process_is_refused_and_its_sockets_closed_on_another(
    api: Api, database_url: str, tmp_path: Path
) -> None:
    merchant = await api.create_merchant()
    created = await create_key(api, merchant, "Till 4")
    key, key_id = created["key"], created["apiKey"]["id"]
    env = {"REFUNDS_PROCESSOR": "off", "REFUNDS_KEY_USE_RECORD_SECONDS": "0.2"}
    async with (
        serving(database_url, tmp_path / "two.log", **env) as two,
        httpx.AsyncClient(base_url=two, timeout=10) as http,
    ):
        other = Api(http, ADMIN_TOKEN)
        # given the key in use on process two: its lastUsedAt moves with each use
        assert (await other.gql(VIEWER, token=key))["viewer"]["id"] == merchant.id
        first_use = await _used_after(api, merchant, key_id, None)
        await other.gql(VIEWER, token=key)
        await _used_after(api, merchant, key_id, first_use)
        async with live(two, key, TRANSPORT_WS) as modern, live(two, key, LEGACY_WS) as legacy:
            await modern.subscribe()
            await legacy.subscribe()
            # when the merchant revokes it through process one
            payload = await revoke_key(api, merchant.key, key_id)
            since = time.monotonic()
            assert payload["userErrors"] == []
            # then process two refuses it, and closes both its sockets with 4403
            async with asyncio.timeout(30):
                (
                    refused,
                    (modern_closed, modern_code),
                    (legacy_closed, legacy_code),
                ) = await asyncio.gather(
                    _seconds_until_refused(http, key, since),
                    _seconds_until_closed(modern, since),
                    _seconds_until_closed(legacy, since),
                )
    assert (modern_code, legacy_code) == (4403, 4403)
    assert max(refused, modern_closed, legacy_closed) < REVOCATION_SECONDS, (
        refused,
        modern_closed,
        legacy_closed,
    )
