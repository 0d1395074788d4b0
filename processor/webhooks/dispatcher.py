"""The webhook dispatcher: claim due deliveries from the outbox, send each, record the attempt.

It runs beside the refund processor, in `refunds serve` and in `refunds worker`, and is woken
by the same NOTIFY of a stored refund event. A process that dies mid-attempt holds its claims
until the lease runs out; the next holder sends the delivery again with the same webhook-id,
so a receiver may see an event twice but never misses one."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from db.webhook_claims import Outgoing, WebhookClaims
from domain.webhooks import retry_wait_seconds
from processor.config import WebhookSettings
from processor.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES, WEBHOOK_OLDEST_UNDELIVERED
from processor.webhooks.sender import Attempt, WebhookSender

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

    def wake(self, _payload: str | None = None) -> None:
        """A refund event was stored (NOTIFY), or a retry fell due: look for work now."""
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                self._wake.clear()
                free = self.settings.concurrency - len(self._inflight)
                claimed: list[Outgoing] = []
                if free > 0:
                    try:
                        claimed = list(
                            await self.claims.claim(free, self.settings.claim_lease_seconds)
                        )
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
            await self.sender.close()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # a slot is free

    async def _deliver(self, out: Outgoing) -> None:
        try:
            attempt = await self.sender.send(out, datetime.now(UTC))
            WEBHOOK_ATTEMPTS.labels(attempt.result).inc()
            await self._record(out, attempt)
        except Exception:  # the lease runs out and the delivery is sent again
            log.exception("delivering webhook %s failed", out.delivery.id)

    async def _record(self, out: Outgoing, attempt: Attempt) -> None:
        if attempt.delivered:
            assert attempt.status_code is not None
            if await self.claims.succeeded(out, attempt.status_code):
                WEBHOOK_DELIVERIES.labels("succeeded").inc()
            return
        wait = retry_wait_seconds(
            out.delivery.attempts + 1, self.settings.retry_scale, random.random()
        )
        recorded = await self.claims.failed(
            out,
            attempt.status_code,
            attempt.error,
            wait,
            timedelta(days=self.settings.disable_after_days),
        )
        if not recorded:
            return
        WEBHOOK_DELIVERIES.labels("retrying" if wait is not None else "failed").inc()
        if wait is not None:
            asyncio.get_running_loop().call_later(wait, self._wake.set)

    async def _read_backlog_gauge(self) -> None:
        now = time.monotonic()
        if now - self._gauge_read < BACKLOG_GAUGE_SECONDS:
            return
        self._gauge_read = now
        try:
            WEBHOOK_OLDEST_UNDELIVERED.set(await self.claims.oldest_undelivered_seconds())
        except Exception:
            log.exception("reading the webhook backlog failed")
