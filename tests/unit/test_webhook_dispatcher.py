"""The dispatcher's loop (processor/webhooks/dispatcher.py) with a fake outbox and sender: a
claim round runs in a task of its own, so that rows already claimed are sent while it waits
for the database, a send's slot is free at its answer, before its record is written, and an
endpoint holding its share of rows is left out of the next claims."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID, uuid4

from db.webhook_claims import Outcome, Outgoing, WebhookClaims
from processor.config import WebhookSettings
from processor.webhooks.dispatcher import CLAIM_AHEAD, WebhookDispatcher
from processor.webhooks.sender import Attempt, WebhookSender
from tests.api.test_webhook_delivery import _outgoing

BASE = _outgoing("http://127.0.0.1/hooks")


def rows(count: int) -> list[Outgoing]:
    endpoint = uuid4()
    return [
        replace(BASE, delivery=replace(BASE.delivery, id=uuid4(), endpoint_id=endpoint))
        for _ in range(count)
    ]


class Outbox:
    """Claims hand out the given batches, one per claim; then each claim waits for `release`.
    Records wait for `records_open`."""

    def __init__(self, batches: list[list[Outgoing]]) -> None:
        self.batches = batches
        self.claims_asked: list[int] = []
        self.skipped: list[list[UUID]] = []
        self.release = asyncio.Event()
        self.records_open = asyncio.Event()
        self.recorded: list[UUID] = []

    async def claim(
        self,
        limit: int,
        lease_seconds: float,
        merchants: Sequence[UUID] | None = None,
        skip_endpoints: Sequence[UUID] = (),
    ) -> Sequence[Outgoing]:
        self.claims_asked.append(limit)
        self.skipped.append(list(skip_endpoints))
        if self.batches:
            return self.batches.pop(0)[:limit]
        await self.release.wait()
        return []

    async def record(
        self, outcomes: Sequence[Outcome], disable_after: timedelta
    ) -> dict[UUID, bool]:
        await self.records_open.wait()
        self.recorded += [o.sent.delivery.id for o in outcomes]
        return {o.sent.delivery.id: False for o in outcomes}

    async def renew(self, held: Sequence[Any], lease_seconds: float) -> set[UUID]:
        return {one.id for one in held}

    async def oldest_undelivered_seconds(self) -> float:
        return 0.0


class Sender:
    def __init__(self) -> None:
        self.sent: list[UUID] = []

    async def send(self, out: Outgoing, at: datetime) -> Attempt:
        await asyncio.sleep(0)
        self.sent.append(out.delivery.id)
        return Attempt(204, None)

    async def close(self) -> None:
        pass


class HangingSender(Sender):
    async def send(self, out: Outgoing, at: datetime) -> Attempt:
        self.sent.append(out.delivery.id)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def _until(condition: Any, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110  (the fakes have no event to wait on)
            await asyncio.sleep(0.01)


def _dispatcher(outbox: Outbox, sender: Sender, **settings: Any) -> WebhookDispatcher:
    return WebhookDispatcher(
        cast(WebhookClaims, outbox),
        cast(WebhookSender, sender),
        WebhookSettings(poll_seconds=60, **settings),
    )


async def test_claimed_rows_are_sent_while_the_next_claim_waits_for_the_database() -> None:
    first = rows(CLAIM_AHEAD * 2)  # all that a first claim asks for
    outbox, sender = Outbox([first]), Sender()
    outbox.records_open.set()
    dispatcher = _dispatcher(outbox, sender, concurrency=2, endpoint_concurrency=2)
    running = asyncio.create_task(dispatcher.run())
    try:
        # the first claim fills what it asked for (a backlog), so the next one starts while
        # those rows are still being sent, and waits; every row of the first is sent anyway
        await _until(lambda: len(sender.sent) == len(first))
        assert outbox.claims_asked[0] == len(first)
        assert len(outbox.claims_asked) == 2
        assert sender.sent == [out.delivery.id for out in first]
        await _until(lambda: len(outbox.recorded) == len(first))
    finally:
        outbox.release.set()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_a_sends_slot_is_free_at_its_answer_while_its_record_waits() -> None:
    first = rows(3)
    outbox, sender = Outbox([first]), Sender()
    dispatcher = _dispatcher(outbox, sender, concurrency=1, endpoint_concurrency=1)
    running = asyncio.create_task(dispatcher.run())
    try:
        # one send at a time, and no record written yet: all three are sent, one after another
        await _until(lambda: len(sender.sent) == 3)
        assert outbox.recorded == []
        outbox.records_open.set()
        await _until(lambda: sorted(outbox.recorded) == sorted(o.delivery.id for o in first))
    finally:
        outbox.release.set()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_a_claim_skips_the_endpoints_holding_their_share_and_counts_them_at_it() -> None:
    # a worker with room for 2 x 8 = 16 rows, at most 2 x 1 counted for one endpoint; the
    # first claim brings 16 rows of one endpoint, whose sends never end
    stuck = rows(CLAIM_AHEAD * 2)
    outbox, sender = Outbox([stuck]), HangingSender()
    dispatcher = _dispatcher(outbox, sender, concurrency=2, endpoint_concurrency=1)
    running = asyncio.create_task(dispatcher.run())
    try:
        await _until(lambda: len(outbox.claims_asked) == 2)
        # the next claim leaves that endpoint out and has room for all but its two
        assert outbox.claims_asked == [CLAIM_AHEAD * 2, CLAIM_AHEAD * 2 - 2]
        assert outbox.skipped[1] == [stuck[0].delivery.endpoint_id]
    finally:
        outbox.release.set()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
