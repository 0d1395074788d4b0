"""The batch applier: claims RUNNING batches and applies their items, each as one initiateRefund
(domain/use_cases/refund_batches.py), in LANES lanes at once per batch. A payment's items share
a lane (domain/batches.py lane_of), so they are applied one after another in the batch's order:
of five items that together exceed their payment, exactly the first ones that fit succeed.

The claim is renewed while the batch is applied; a holder that dies leaves the batch due again
once its lease runs out, and the next holder carries on from the items still PENDING."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime

from db.batch_claims import BatchClaim, BatchClaims
from domain.batches import LANES, RefundBatchBusy
from domain.ports import UnitOfWork
from domain.use_cases.refund_batches import apply_batch_items, finish_if_applied
from processor.config import ProcessorSettings

log = logging.getLogger("refunds.processor")

BATCHES_AT_ONCE = 2  # per process
CHUNK = 100  # pending items read per lane at a time
# Items applied in one database transaction: each holds the merchant's balance row until it
# commits, so a single initiateRefund may wait that long (figures: bench/BATCHES.md).
ITEMS_PER_COMMIT = 20
RETRY_SECONDS = 5.0  # after a fault (the database away, a lock timeout), the batch is retried


def _now() -> datetime:
    return datetime.now(UTC)


class BatchApplier:
    def __init__(
        self,
        claims: BatchClaims,
        unit_of_work: Callable[[], UnitOfWork],
        settings: ProcessorSettings,
        window_days: int,
        concurrency: int = BATCHES_AT_ONCE,
    ) -> None:
        self.claims = claims
        self.unit_of_work = unit_of_work
        self.settings = settings
        self.window_days = window_days
        self.concurrency = concurrency  # batches applied at once by one process
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()

    def wake(self, _payload: str | None = None) -> None:
        """A batch was submitted (NOTIFY): look for work now."""
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                self._wake.clear()
                free = self.concurrency - len(self._inflight)
                claimed: list[BatchClaim] = []
                if free > 0:
                    try:
                        claimed = await self.claims.claim(free, self.settings.claim_lease_seconds)
                    except Exception:
                        log.exception("claiming refund batches failed; retrying")
                for claim in claimed:
                    task = asyncio.create_task(self.apply(claim))
                    self._inflight.add(task)
                    task.add_done_callback(self._done)
                if len(claimed) < free or free == 0:
                    with suppress(TimeoutError):
                        async with asyncio.timeout(self.settings.poll_seconds):
                            await self._wake.wait()
        finally:
            for task in list(self._inflight):
                task.cancel()
            for task in list(self._inflight):
                with suppress(BaseException):
                    await task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # a slot is free

    async def apply(self, claim: BatchClaim) -> None:
        """Apply a claimed batch's pending items, then finish it or give the claim back."""
        renew = asyncio.create_task(self._keep_claim(claim))
        try:
            async with asyncio.TaskGroup() as lanes:  # a lane's fault stops the others
                for lane in range(LANES):
                    lanes.create_task(self._lane(claim, lane))
            finished = await finish_if_applied(
                self.unit_of_work(), claim.merchant_id, claim.batch_id, _now()
            )
        except Exception as error:
            if _only_busy(error):
                # Giving the claim back would wait on the cancellation's lock: the claim is
                # left to run out, and only a cancellation that rolled back leaves the batch
                # RUNNING, due again then.
                log.info(
                    "refund batch %s is held by another transaction (being cancelled); left to it",
                    claim.batch_id,
                )
                return
            log.exception("applying refund batch %s failed; retrying", claim.batch_id)
            await self.claims.retry_later(claim, RETRY_SECONDS)
            return
        finally:
            renew.cancel()
            with suppress(asyncio.CancelledError):
                await renew
        if finished:
            await self.claims.release(claim)
        else:  # items left PENDING (a lane stopped early): due again at once
            await self.claims.retry_later(claim, 0)

    async def _lane(self, claim: BatchClaim, lane: int) -> None:
        while indexes := await self.claims.pending(claim, lane, CHUNK):
            for at in range(0, len(indexes), ITEMS_PER_COMMIT):
                applied = await apply_batch_items(
                    self.unit_of_work(),
                    claim.merchant_id,
                    claim.batch_id,
                    indexes[at : at + ITEMS_PER_COMMIT],
                    now=_now(),
                    window_days=self.window_days,
                )
                if applied is None:  # no longer RUNNING (cancelled)
                    return

    async def _keep_claim(self, claim: BatchClaim) -> None:
        while True:
            await asyncio.sleep(self.settings.claim_lease_seconds / 3)
            with suppress(Exception):
                await self.claims.extend(claim, self.settings.claim_lease_seconds)


def _only_busy(error: BaseException) -> bool:
    """A cancellation held the batch (in every lane that failed): an expected race."""
    if isinstance(error, BaseExceptionGroup):
        return all(_only_busy(e) for e in error.exceptions)
    return isinstance(error, RefundBatchBusy)
