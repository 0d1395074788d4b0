"""A `refunds worker` killed with SIGKILL in the middle of webhook deliveries loses none: once
its leases run out another worker sends each again, with the same webhook-id."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables import webhook_deliveries
from tests.api.test_webhook_delivery import refund_of
from tests.api.test_webhook_endpoints import create_endpoint
from tests.api.webhook_receiver import HANG, Receiver, receiving
from tests.conftest import ADMIN_TOKEN
from tests.processing.live import wait_until
from tests.processing.test_processes import service, serving
from tests.support import Api

WORKER_ENV = {
    "REFUNDS_GATEWAY_DELAY_SCALE": "0",
    "REFUNDS_WEBHOOK_ALLOW_PRIVATE": "1",
    "REFUNDS_WEBHOOK_LEASE_SECONDS": "1.5",
    "REFUNDS_WEBHOOK_POLL_SECONDS": "0.2",
    "REFUNDS_PROCESSOR_POLL_SECONDS": "0.2",
}


async def events_owed(
    database_url: str, tmp_path: Path, receiver: Receiver, count: int
) -> set[str]:
    """`count` refunds of one merchant, each owing its REFUND_CREATED to the receiver, made
    through an API that sends nothing (no processor); returns the refund ids."""
    async with (
        serving(
            database_url,
            tmp_path / "api.log",
            REFUNDS_PROCESSOR="off",
            REFUNDS_WEBHOOK_ALLOW_PRIVATE="1",
        ) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        api = Api(http, ADMIN_TOKEN)
        merchant = await api.create_merchant()
        await api.recharge(merchant, 1_000_000)
        payload = await create_endpoint(api, merchant, receiver.url, ["REFUND_CREATED"])
        assert payload["userErrors"] == []
        return {await refund_of(api, merchant) for _ in range(count)}


async def test_deliveries_held_by_a_killed_worker_are_sent_again_with_the_same_webhook_id(
    own_database_url: str, own_engine: AsyncEngine, tmp_path: Path
) -> None:
    count = 4
    # given a receiver that holds the first requests unanswered, and events owed to it
    async with receiving(script=[HANG] * count) as receiver:
        refund_ids = await events_owed(own_database_url, tmp_path, receiver, count)
        with service(
            ["worker"], tmp_path / "a.log", DATABASE_URL=own_database_url, **WORKER_ENV
        ) as worker_a:
            # when worker A is killed while every delivery is in flight
            await receiver.wait_for(lambda got: len(got) >= count)
            assert worker_a.poll() is None, "worker A exited; see a.log"
            os.kill(worker_a.pid, signal.SIGKILL)
            worker_a.wait()
        held = {r.webhook_id for r in receiver.received}
        assert len(held) == count
        # and another worker comes up
        with service(
            ["worker"], tmp_path / "b.log", DATABASE_URL=own_database_url, **WORKER_ENV
        ) as worker_b:

            async def all_delivered() -> bool:
                assert worker_b.poll() is None, "worker B exited; see b.log"
                async with own_engine.connect() as conn:
                    statuses = (await conn.execute(select(webhook_deliveries.c.status))).scalars()
                    return list(statuses) == ["SUCCEEDED"] * count

            await wait_until(all_delivered, "worker B delivering worker A's deliveries")
    # then each event was answered 2xx, sent again under the webhook-id it first had
    answered = [r for r in receiver.received if r.status != HANG]
    assert {r.webhook_id for r in answered} == held
    assert {r.refund_id for r in answered} == refund_ids
