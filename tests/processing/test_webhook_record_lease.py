"""Outcomes recorded in a batch (db/webhook_claims.py record) after some of the batch's leases
ran out and another worker claimed those rows: only the rows still held are recorded; the
others are left to their new holder, whose own record counts the attempt once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables import webhook_deliveries
from db.webhook_claims import Outcome, WebhookClaims
from processor.config import WebhookSettings
from tests.api.webhook_receiver import Receiver, receiving
from tests.processing.test_webhook_worker_killed import events_owed
from tests.support import free_port

d = webhook_deliveries.c
DISABLE_AFTER = timedelta(days=5)


async def test_a_batch_records_only_the_claims_still_held_and_the_new_holder_the_rest(
    own_database_url: str, own_engine: AsyncEngine, tmp_path: Path
) -> None:
    receiver = Receiver(free_port())
    async with receiving(receiver=receiver):
        await events_owed(own_database_url, tmp_path, receiver, 6)
    keys = WebhookSettings().box()  # as the API that sealed the secrets (tests/conftest.py)
    a, b = WebhookClaims(own_engine, "worker-a", keys), WebhookClaims(own_engine, "worker-b", keys)
    # given worker A's claim of all six with a short lease, run out before A records them
    held_by_a = await a.claim(10, lease_seconds=0.5)
    assert len(held_by_a) == 6
    await asyncio.sleep(1.0)
    # and worker B's claim of three of them meanwhile
    held_by_b = await b.claim(3, lease_seconds=30)
    taken_by_b = {out.delivery.id for out in held_by_b}
    assert len(taken_by_b) == 3
    # when A records its six answers in one batch
    recorded = await a.record([Outcome(o, 204, None, True, None) for o in held_by_a], DISABLE_AFTER)
    # then only the three A still held are recorded
    assert set(recorded) == {o.delivery.id for o in held_by_a} - taken_by_b
    async with own_engine.connect() as conn:
        rows = {r.id: r for r in await conn.execute(select(webhook_deliveries))}
    for delivery_id, row in rows.items():
        if delivery_id in taken_by_b:
            assert (row.status, row.attempts, row.claimed_by) == ("PENDING", 0, "worker-b")
        else:
            assert (row.status, row.attempts, row.claimed_by) == ("SUCCEEDED", 1, None)
    # and B's own record of its three counts each attempt once
    recorded_b = await b.record(
        [Outcome(o, 204, None, True, None) for o in held_by_b], DISABLE_AFTER
    )
    assert set(recorded_b) == taken_by_b
    async with own_engine.connect() as conn:
        final = list(await conn.execute(select(d.status, d.attempts, d.claimed_by)))
    assert sorted(final) == [("SUCCEEDED", 1, None)] * 6
