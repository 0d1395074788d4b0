"""The dispatcher's claim-ahead queue, against `refunds worker` processes and real receivers:
sends to one endpoint never exceed REFUNDS_WEBHOOK_ENDPOINT_CONCURRENCY however many are
claimed, an endpoint that never answers cannot hold up another merchant's deliveries, and
claimed rows waiting longer than their lease are kept (renewed), never sent by a second
worker beside the first."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables import webhook_deliveries
from tests.api.webhook_receiver import HANG, Receiver, receiving
from tests.processing.live import wait_until
from tests.processing.test_processes import service
from tests.processing.test_webhook_worker_killed import events_owed
from tests.support import free_port

WORKER_ENV = {
    "REFUNDS_GATEWAY_DELAY_SCALE": "0",
    "REFUNDS_WEBHOOK_ALLOW_PRIVATE": "1",
    "REFUNDS_WEBHOOK_POLL_SECONDS": "0.2",
    "REFUNDS_PROCESSOR_POLL_SECONDS": "0.2",
}


async def _all_succeeded(engine: AsyncEngine, count: int) -> None:
    async def done() -> bool:
        async with engine.connect() as conn:
            statuses = list((await conn.execute(select(webhook_deliveries.c.status))).scalars())
        return statuses == ["SUCCEEDED"] * count

    await wait_until(done, f"{count} deliveries recorded")


async def test_sends_to_one_endpoint_never_exceed_its_cap_however_many_are_claimed(
    own_database_url: str, own_engine: AsyncEngine, tmp_path: Path
) -> None:
    count, cap = 12, 2
    # given a receiver that holds each request a moment, and 12 events owed to it
    receiver = Receiver(free_port(), hold_seconds=0.3)
    async with receiving(receiver=receiver):
        refund_ids = await events_owed(own_database_url, tmp_path, receiver, count)
        # when one worker with room for 64 sends, at most 2 to an endpoint, delivers them
        with service(
            ["worker"],
            tmp_path / "worker.log",
            DATABASE_URL=own_database_url,
            REFUNDS_WEBHOOK_CONCURRENCY="64",
            REFUNDS_WEBHOOK_ENDPOINT_CONCURRENCY=str(cap),
            **WORKER_ENV,
        ) as worker:
            await receiver.wait_for(lambda got: len(got) >= count)
            await _all_succeeded(own_engine, count)
            assert worker.poll() is None, "the worker exited; see worker.log"
    # then the receiver answered two at a time, never more, and each event once
    assert receiver.most_in_flight == cap
    assert {r.refund_id for r in receiver.received} == refund_ids
    assert len({r.webhook_id for r in receiver.received}) == count == len(receiver.received)


async def test_an_endpoint_that_never_answers_does_not_hold_up_another_merchants_deliveries(
    own_database_url: str, tmp_path: Path
) -> None:
    # given merchant A's receiver, which holds every request unanswered, and 40 events owed to
    # it: more than a worker with room for 4 sends holds (8 x 4 = 32 rows)
    for merchant in ("a", "b"):
        (tmp_path / merchant).mkdir()
    async with receiving(script=[HANG] * 40) as stalled, receiving() as healthy:
        await events_owed(own_database_url, tmp_path / "a", stalled, 40)
        with service(
            ["worker"],
            tmp_path / "worker.log",
            DATABASE_URL=own_database_url,
            REFUNDS_WEBHOOK_CONCURRENCY="4",
            REFUNDS_WEBHOOK_ENDPOINT_CONCURRENCY="2",
            REFUNDS_WEBHOOK_TIMEOUT_SECONDS="25",
            **WORKER_ENV,
        ) as worker:
            # and the worker holding A's rows, two of them sent and waiting for an answer
            await stalled.wait_for(lambda got: len(got) >= 2)
            # when merchant B's events are made meanwhile
            refund_ids = await events_owed(own_database_url, tmp_path / "b", healthy, 10)
            # then B's receiver gets every one of them while A's still holds its first two
            got = await healthy.wait_for(lambda got: len(got) >= 10)
            assert {r.refund_id for r in got} == refund_ids
            assert len(stalled.received) == 2
            assert worker.poll() is None, "the worker exited; see worker.log"


async def test_claimed_rows_waiting_past_their_lease_are_not_sent_by_a_second_worker(
    own_database_url: str, own_engine: AsyncEngine, tmp_path: Path
) -> None:
    count = 12
    # given 12 events owed to a receiver that takes a while over each request, and workers
    # whose leases (3 s) run out long before the last of 12 sent one at a time (0.4 s each)
    receiver = Receiver(free_port(), hold_seconds=0.4)
    short_leases = {
        **WORKER_ENV,
        "REFUNDS_WEBHOOK_LEASE_SECONDS": "3",
        "REFUNDS_WEBHOOK_ENDPOINT_CONCURRENCY": "1",
    }
    async with receiving(receiver=receiver):
        refund_ids = await events_owed(own_database_url, tmp_path, receiver, count)
        with service(
            ["worker"], tmp_path / "a.log", DATABASE_URL=own_database_url, **short_leases
        ) as worker_a:
            # when worker A has claimed them all (the first is being answered) and worker B
            # starts looking for due deliveries beside it
            await receiver.wait_for(lambda got: len(got) >= 1)
            with service(
                ["worker"], tmp_path / "b.log", DATABASE_URL=own_database_url, **short_leases
            ) as worker_b:
                await receiver.wait_for(lambda got: len(got) >= count)
                await _all_succeeded(own_engine, count)
                assert worker_a.poll() is None, "worker A exited; see a.log"
                assert worker_b.poll() is None, "worker B exited; see b.log"
    # then each event was sent once: A kept its waiting claims alive, B found none due
    sent = Counter(r.webhook_id for r in receiver.received)
    assert set(sent.values()) == {1}
    assert {r.refund_id for r in receiver.received} == refund_ids
    assert receiver.most_in_flight == 1
    log_a = (tmp_path / "a.log").read_text()
    assert "waited out their lease" not in log_a
