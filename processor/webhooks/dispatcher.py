"""The webhook dispatcher: claim due deliveries from the outbox, send each, record the attempt.

It runs beside the refund processor, in `refunds serve` and in `refunds worker`, and is woken
by the same NOTIFY of a stored refund event. A process that dies mid-attempt holds its claims
until the lease runs out; the next holder sends the delivery again with the same webhook-id,
so a receiver may see an event twice but never misses one.

Claims run ahead of the free send slots: claimed rows wait in a queue (queue.py) that is
refilled in big claims while a backlog lasts, and leave it for a send while their endpoint has
fewer than `endpoint_concurrency` sends in flight. A claim round runs in a task of its own, so
the sends go on while it waits for the database (a round costs a few statements per merchant
whatever its size, so it is the rounds, not the rows, that bound a drain); a send's slot is
free at its answer, while the row stays held until its attempt is recorded. A NOTIFY names the
merchant whose event is new, so a wake by one claims that merchant's deliveries without the
read across merchants.
Attempts that finish while an earlier record is being written wait for it and are written
together, in one transaction (a group commit: db/webhook_claims.py record): the database sees
a few statements per batch of deliveries rather than a few per delivery (bench/WEBHOOKS.md)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from uuid import UUID

import orjson

from db.webhook_claims import Outcome, Outgoing, WebhookClaims
from domain.webhooks import retry_wait_seconds
from processor.config import WebhookSettings
from processor.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES, WEBHOOK_OLDEST_UNDELIVERED
from processor.webhooks.queue import SendQueue
from processor.webhooks.sender import WebhookSender

log = logging.getLogger("refunds.webhooks")
BACKLOG_GAUGE_SECONDS = 5.0  # how often the oldest-undelivered gauge is read
# Rows held per process, as a multiple of `concurrency`: enough for the sends to go on at full
# speed while the next claim round is made.
CLAIM_AHEAD = 8
# Of one endpoint's rows, at most this multiple of `endpoint_concurrency` counts against the
# rows held (CLAIM_AHEAD): an endpoint that answers slowly, or not at all until its timeout,
# cannot fill the hold and stall every other endpoint's deliveries.
ENDPOINT_COUNTED = 2
# … and an endpoint holding this multiple of `endpoint_concurrency` gets no more rows until its
# sends bring it below, which bounds what a stalled endpoint keeps in memory.
ENDPOINT_CLAIM_AHEAD = 8


class WebhookDispatcher:
    def __init__(
        self, claims: WebhookClaims, sender: WebhookSender, settings: WebhookSettings
    ) -> None:
        self.claims = claims
        self.sender = sender
        self.settings = settings
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._claiming: asyncio.Task[None] | None = None
        self._gauge_read = 0.0
        # Claimed rows wait here for a send slot. The rows held (waiting, being sent, being
        # recorded), each endpoint's counted up to ENDPOINT_COUNTED times its concurrency, stay
        # under CLAIM_AHEAD times `concurrency`: claims run in a task of their own, ahead of
        # the sends, so that the slots stay busy while the next claim is made.
        self._queue = SendQueue(settings.endpoint_concurrency)
        self._hold_at_most = CLAIM_AHEAD * settings.concurrency
        self._counted_per_endpoint = ENDPOINT_COUNTED * settings.endpoint_concurrency
        self._hold_per_endpoint = ENDPOINT_CLAIM_AHEAD * settings.endpoint_concurrency
        self._skipped: set[UUID] = set()  # endpoints the last claim left out: they were full
        # While the last claim filled all it asked for (a backlog), claim again only once this
        # many rows can be held: a claim costs a few statements per merchant whatever its size,
        # so a backlog is claimed in big batches, not one per finished delivery.
        self._refill = max(1, settings.concurrency)
        self._backlog = False
        # What to claim next: from every merchant (after a timeout, a retry falling due, a
        # reconnect, or while a backlog lasts), or only from those whose events are new.
        self._everywhere = True
        self._notified: set[UUID] = set()
        lease = settings.claim_lease_seconds
        # A queued row is renewed once a quarter of its lease has gone, and sent only while
        # its lease outlasts an attempt (or half of it, for a lease shorter than an attempt).
        self._renew_below = lease * 3 / 4
        self._renew_every = lease / 8
        self._renew_checked = 0.0
        self._min_lease = min(settings.timeout_seconds, lease / 2)
        self._recorder = OutcomeRecorder(self._record_batch)

    def wake(self, payload: str | None = None) -> None:
        """A refund event was stored (NOTIFY: the payload names its merchant), or a retry fell
        due, or the listener reconnected (no payload: look everywhere)."""
        merchant = _merchant_of(payload)
        if merchant is None:
            self._everywhere = True
        else:
            self._notified.add(merchant)
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                self._wake.clear()
                self._start_sends()
                self._start_claim()
                await self._renew_waiting()
                await self._read_backlog_gauge()
                with suppress(TimeoutError):
                    async with asyncio.timeout(self._wait_seconds()):
                        await self._wake.wait()
                if not self._wake.is_set():
                    self._everywhere = True  # the fallback poll
        finally:
            tasks = [*self._inflight, *([self._claiming] if self._claiming else [])]
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(BaseException):
                    await task
            await self._recorder.close()
            await self.sender.close()

    def _room(self) -> int:
        return self._hold_at_most - self._queue.held(per_endpoint=self._counted_per_endpoint)

    def _wait_seconds(self) -> float:
        if len(self._queue):  # rows waiting: their leases may need renewing
            return min(self.settings.poll_seconds, self._renew_every)
        return self.settings.poll_seconds

    def _start_claim(self) -> None:
        """A claim round in a task of its own (one at a time): sends go on meanwhile."""
        if self._claiming is not None and not self._claiming.done():
            return
        everywhere = self._everywhere or self._backlog
        if not everywhere and not self._notified:
            return
        room = self._room()
        if room < (self._refill if self._backlog else 1):
            return
        merchants = None if everywhere else sorted(self._notified)
        self._notified.clear()
        self._everywhere = False
        full = self._queue.full(self._hold_per_endpoint)
        self._skipped = set(full)
        self._claiming = asyncio.create_task(self._claim(room, merchants, full))

    async def _claim(self, room: int, merchants: list[UUID] | None, full: list[UUID]) -> None:
        lease = self.settings.claim_lease_seconds
        held_until = time.monotonic() + lease  # reckoned before the claim: never late
        try:
            claimed = await self.claims.claim(room, lease, merchants, skip_endpoints=full)
        except Exception:
            log.exception("claiming webhook deliveries failed; retrying")
            # no wake: the next claim waits for the fallback poll (or a NOTIFY)
            self._backlog, self._everywhere = False, True
            return
        self._backlog = len(claimed) == room
        for out in claimed:
            self._queue.add(out, held_until)
        self._wake.set()  # rows to send, or room for the next claim

    def _start_sends(self) -> None:
        free = self.settings.concurrency - self._queue.sending()
        if free <= 0 or not len(self._queue):
            return
        taken, dropped = self._queue.take(free, time.monotonic(), self._min_lease)
        if dropped:
            log.warning("%d claimed webhook deliveries waited out their lease unsent", dropped)
        for out in taken:
            task = asyncio.create_task(self._deliver(out))
            self._inflight.add(task)
            task.add_done_callback(self._done)

    async def _renew_waiting(self) -> None:
        now = time.monotonic()
        if now - self._renew_checked < self._renew_every:
            return
        self._renew_checked = now
        rows = self._queue.to_renew(now + self._renew_below)
        if not rows:
            return
        lease = self.settings.claim_lease_seconds
        try:
            kept = await self.claims.renew([row.out.delivery for row in rows], lease)
        except Exception:  # they are dropped unsent if their lease runs short meanwhile
            log.exception("renewing webhook claims failed")
            return
        self._queue.renewed(rows, kept, now + lease)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # room for a claim

    async def _deliver(self, out: Outgoing) -> None:
        try:
            await self._attempt(out)
        finally:
            self._queue.done(out)
            endpoint_id = out.delivery.endpoint_id
            if (
                endpoint_id in self._skipped
                and self._queue.held_for(endpoint_id) < self._hold_per_endpoint
            ):  # left out of the last claim for being full, it has room again: claim for it
                self._skipped.discard(endpoint_id)
                self._notified.add(out.delivery.merchant_id)
                self._wake.set()

    async def _attempt(self, out: Outgoing) -> None:
        try:
            try:
                attempt = await self.sender.send(out, datetime.now(UTC))
            finally:  # its slot is free for the next send while this one is recorded
                self._queue.sent(out)
                self._wake.set()
            WEBHOOK_ATTEMPTS.labels(attempt.result).inc()
            wait = None
            if not attempt.delivered:
                wait = retry_wait_seconds(
                    out.delivery.attempts + 1, self.settings.retry_scale, random.random()
                )
            outcome = Outcome(
                out,
                attempt.status_code,
                attempt.error,
                attempt.delivered,
                None if wait is None else timedelta(seconds=wait),
            )
            if not await self._recorder.record(outcome):
                return  # the claim was lost (lease run out, or redelivered): its holder records
            WEBHOOK_DELIVERIES.labels(outcome.status.value.lower()).inc()
            if wait is not None:
                asyncio.get_running_loop().call_later(wait, self.wake)
        except Exception:  # the lease runs out and the delivery is sent again
            log.exception("delivering webhook %s failed", out.delivery.id)

    async def _record_batch(self, outcomes: list[Outcome]) -> list[bool]:
        disable_after = timedelta(days=self.settings.disable_after_days)
        recorded = await self.claims.record(outcomes, disable_after)
        for outcome in outcomes:
            if recorded.get(outcome.sent.delivery.id):  # its refund's next event may go now
                self._notified.add(outcome.sent.delivery.merchant_id)
                self._wake.set()
        return [outcome.sent.delivery.id in recorded for outcome in outcomes]

    async def _read_backlog_gauge(self) -> None:
        now = time.monotonic()
        if now - self._gauge_read < BACKLOG_GAUGE_SECONDS:
            return
        self._gauge_read = now
        try:
            WEBHOOK_OLDEST_UNDELIVERED.set(await self.claims.oldest_undelivered_seconds())
        except Exception:
            log.exception("reading the webhook backlog failed")


class OutcomeRecorder:
    """Group commit: an outcome handed over while no batch is being written is written at once;
    those handed over meanwhile wait and go together in the next batch. So a quiet dispatcher
    writes each outcome without delay, and a busy one writes many per statement."""

    def __init__(self, write: Callable[[list[Outcome]], Awaitable[list[bool]]]) -> None:
        self._write = write
        self._waiting: list[tuple[Outcome, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, outcome: Outcome) -> bool:
        """Whether it was recorded (the claim was still held); raises what the write raised."""
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((outcome, answer))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches())
        return await answer

    async def _write_batches(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                results = await self._write([outcome for outcome, _ in batch])
            except Exception as error:
                for _, answer in batch:
                    if not answer.done():  # done: its delivery was cancelled (shutting down)
                        answer.set_exception(error)
                continue
            for (_, answer), result in zip(batch, results, strict=True):
                if not answer.done():
                    answer.set_result(result)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with suppress(BaseException):
                await self._writer


def _merchant_of(payload: str | None) -> UUID | None:
    """The merchant a refund event's NOTIFY names (db/repositories/refunds.py), if any."""
    if not payload:
        return None
    try:
        return UUID(orjson.loads(payload)["m"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
