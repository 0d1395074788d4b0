"""The webhook dispatcher: claim due deliveries from the outbox, send each, record the attempt.

It runs beside the refund processor, in `refunds serve` and in `refunds worker`, and is woken
by the same NOTIFY of a stored refund event. A process that dies mid-attempt holds its claims
until the lease runs out; the next holder sends the delivery again with the same webhook-id,
so a receiver may see an event twice but never misses one.

Attempts that finish while an earlier record is being written wait for it and are written
together, in one transaction (a group commit: db/webhook_claims.py record), and a free
slot is refilled in batches while a backlog lasts: the database sees a few statements per batch
of deliveries rather than a few per delivery (bench/WEBHOOKS.md)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from db.webhook_claims import Outcome, Outgoing, WebhookClaims
from domain.webhooks import retry_wait_seconds
from processor.config import WebhookSettings
from processor.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES, WEBHOOK_OLDEST_UNDELIVERED
from processor.webhooks.sender import WebhookSender

log = logging.getLogger("refunds.webhooks")
BACKLOG_GAUGE_SECONDS = 5.0  # how often the oldest-undelivered gauge is read


class WebhookDispatcher:
    def __init__(
        self, claims: WebhookClaims, sender: WebhookSender, settings: WebhookSettings
    ) -> None:
        self.claims = claims
        self.sender = sender
        self.settings = settings
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._gauge_read = 0.0
        # While the last claim filled every free slot (a backlog), claim again only once this
        # many are free: one claim round per batch, not one per finished delivery.
        self._refill = max(1, settings.concurrency // 4)
        self._backlog = False
        self._recorder = OutcomeRecorder(self._record_batch)

    def wake(self, _payload: str | None = None) -> None:
        """A refund event was stored (NOTIFY), or a retry fell due: look for work now."""
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                self._wake.clear()
                free = self.settings.concurrency - len(self._inflight)
                claimed: list[Outgoing] = []
                if free >= (self._refill if self._backlog else 1):
                    try:
                        claimed = list(
                            await self.claims.claim(free, self.settings.claim_lease_seconds)
                        )
                        self._backlog = len(claimed) == free
                    except Exception:
                        log.exception("claiming webhook deliveries failed; retrying")
                for out in claimed:
                    task = asyncio.create_task(self._deliver(out))
                    self._inflight.add(task)
                    task.add_done_callback(self._done)
                await self._read_backlog_gauge()
                if not claimed or len(claimed) < free:  # nothing more due, or no slot free
                    with suppress(TimeoutError):
                        async with asyncio.timeout(self.settings.poll_seconds):
                            await self._wake.wait()
        finally:
            for task in list(self._inflight):
                task.cancel()
            for task in list(self._inflight):
                with suppress(BaseException):
                    await task
            await self._recorder.close()
            await self.sender.close()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # a slot is free

    async def _deliver(self, out: Outgoing) -> None:
        try:
            attempt = await self.sender.send(out, datetime.now(UTC))
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
                asyncio.get_running_loop().call_later(wait, self._wake.set)
        except Exception:  # the lease runs out and the delivery is sent again
            log.exception("delivering webhook %s failed", out.delivery.id)

    async def _record_batch(self, outcomes: list[Outcome]) -> list[bool]:
        disable_after = timedelta(days=self.settings.disable_after_days)
        recorded = await self.claims.record(outcomes, disable_after)
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
