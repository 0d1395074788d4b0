"""The processor loop: claim due refunds, drive each through the gateway, apply the answer.

Every status change goes through `domain.use_cases.processing` (start_processing,
record_outcome), which stores the event and NOTIFYs in the same transaction, and is a no-op
when repeated. Work is claimed with a lease that the holder renews while it waits on the bank;
when a holder dies its refunds become due again once the lease runs out, and the next holder
calls the gateway again with the same idempotency key, which returns the first answer."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from uuid import UUID

import orjson

from db.claims import Claim, RefundClaims, WorkOrder
from domain.gateway import (
    ActionRequired,
    Gateway,
    PayoutRequest,
    PayoutResult,
    Rejected,
    Settled,
    TransientGatewayError,
)
from domain.model import DestinationKind, RefundStatus
from domain.ports import UnitOfWork
from domain.use_cases.processing import RailOutcome, record_outcome, start_processing
from domain.values import made_from
from processor.config import ProcessorSettings
from processor.metrics import FAULTS, IN_FLIGHT, OUTCOMES, TRANSIENT_ERRORS

log = logging.getLogger("refunds.processor")

RETRIES_EXHAUSTED = "RETRIES_EXHAUSTED"
BANK_RETURNED = "RETURNED_BY_BANK"


def idempotency_key(order: WorkOrder) -> str:
    """The refund's id, plus a digest of the alternate destination when there is one: a new
    account after ACTION_REQUIRED is a new payout, which must not get the old answer back."""
    if order.destination_kind is DestinationKind.ORIGINAL_SOURCE or not order.destination_details:
        return str(order.refund_id)
    details = orjson.dumps(order.destination_details, option=orjson.OPT_SORT_KEYS)
    return f"{order.refund_id}:{hashlib.sha256(details).hexdigest()[:16]}"


def payout_request(order: WorkOrder) -> PayoutRequest:
    if order.destination_kind is DestinationKind.ORIGINAL_SOURCE or not order.destination_details:
        destination = order.source
    else:
        destination = " ".join(str(v) for v in order.destination_details.values())
    return made_from(
        PayoutRequest, order, idempotency_key=idempotency_key(order), destination=destination
    )


def outcome_of(result: PayoutResult) -> RailOutcome:
    if isinstance(result, Settled):
        return RailOutcome(
            RefundStatus.PROCESSED,
            bank_reference=result.bank_reference,
            speed_processed=result.speed,
            message="Paid by the bank.",
        )
    if isinstance(result, ActionRequired):
        return RailOutcome(
            RefundStatus.ACTION_REQUIRED, failure_code=result.code, message=result.message
        )
    assert isinstance(result, Rejected)
    return RailOutcome(RefundStatus.FAILED, failure_code=result.code, message=result.message)


def backoff_seconds(attempt: int, settings: ProcessorSettings) -> float:
    """Exponential, with equal jitter: half fixed, half random, so that refunds failing together
    do not all come back together, and none comes back at once."""
    ceiling = min(settings.retry_cap_seconds, settings.retry_base_seconds * 2.0 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _now() -> datetime:
    return datetime.now(UTC)


class Processor:
    def __init__(
        self,
        claims: RefundClaims,
        gateway: Gateway,
        unit_of_work: Callable[[], UnitOfWork],
        settings: ProcessorSettings,
    ) -> None:
        self.claims = claims
        self.gateway = gateway
        self.unit_of_work = unit_of_work
        self.settings = settings
        self._wake_claims = asyncio.Event()
        self._wake_returns = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._heartbeat = time.monotonic()  # the claim loop's last turn
        self._running: asyncio.Task[None] | None = None

    def stalled_for(self) -> float | None:
        """Seconds since the claim loop last came round, or None when it is not running (it
        ended, or never started): what a liveness probe needs to tell stuck from idle."""
        if self._running is None or self._running.done():
            return None
        return time.monotonic() - self._heartbeat

    def wake(self, _payload: str | None = None) -> None:
        """Something changed (a NOTIFY, a retry falling due): look for work now."""
        self._wake_claims.set()
        self._wake_returns.set()

    async def run(self) -> None:
        log.info("processor %s running", self.claims.worker_id)
        self._running = asyncio.current_task()
        self._heartbeat = time.monotonic()
        try:
            await asyncio.gather(self._claim_loop(), self._returns_loop())
        finally:
            for task in list(self._inflight):
                task.cancel()
            for task in list(self._inflight):
                with suppress(BaseException):
                    await task

    async def _sleep_until_woken(self, event: asyncio.Event) -> None:
        with suppress(TimeoutError):
            async with asyncio.timeout(self.settings.poll_seconds):
                await event.wait()

    async def _claim_loop(self) -> None:
        while True:
            self._heartbeat = time.monotonic()
            self._wake_claims.clear()
            free = self.settings.concurrency - len(self._inflight)
            claimed: list[Claim] = []
            if free > 0:
                try:
                    claimed = list(await self.claims.claim(free, self.settings.claim_lease_seconds))
                except Exception:
                    log.exception("claiming refunds failed; retrying")
            for claim in claimed:
                task = asyncio.create_task(self._drive(claim))
                self._inflight.add(task)
                IN_FLIGHT.inc()
                task.add_done_callback(self._done)
            if not claimed or len(claimed) < free:
                await self._sleep_until_woken(self._wake_claims)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        IN_FLIGHT.dec()
        self._wake_claims.set()  # a slot is free

    async def _drive(self, claim: Claim) -> None:
        renew = asyncio.create_task(self._keep_claim(claim))
        try:
            await self._process(claim)
        except Exception:  # the lease runs out and the refund is driven again
            FAULTS.inc()
            log.exception("driving refund %s failed", claim.refund_id)
            return
        finally:
            renew.cancel()
            with suppress(asyncio.CancelledError):
                await renew
        await self.claims.release(claim)

    async def _keep_claim(self, claim: Claim) -> None:
        while True:
            await asyncio.sleep(self.settings.claim_lease_seconds / 3)
            with suppress(Exception):
                await self.claims.extend(claim, self.settings.claim_lease_seconds)

    async def _process(self, claim: Claim) -> None:
        if claim.status is RefundStatus.PENDING:
            started = await start_processing(
                self.unit_of_work(), claim.merchant_id, claim.refund_id, _now()
            )
            if started is None:
                return  # cancelled (or moved on) since it was claimed
        order = await self.claims.work_order(claim.merchant_id, claim.refund_id)
        if order is None:
            return  # no longer PROCESSING: an earlier holder finished it
        try:
            async with asyncio.timeout(self.settings.gateway_timeout_seconds):
                result = await self.gateway.pay(payout_request(order))
        except (TransientGatewayError, TimeoutError) as error:
            await self._transient(claim, str(error) or "The gateway did not answer in time.")
            return
        await self._record(claim.merchant_id, claim.refund_id, outcome_of(result))

    async def _record(self, merchant_id: UUID, refund_id: UUID, outcome: RailOutcome) -> None:
        applied = await record_outcome(self.unit_of_work(), merchant_id, refund_id, outcome, _now())
        if applied is not None:  # None: applied before (a repeat after a crash) or cancelled
            OUTCOMES.labels(outcome.status.value).inc()

    async def _transient(self, claim: Claim, message: str) -> None:
        TRANSIENT_ERRORS.inc()
        if claim.attempts >= self.settings.max_attempts:
            outcome = RailOutcome(
                RefundStatus.FAILED,
                failure_code=RETRIES_EXHAUSTED,
                message=f"The gateway failed {claim.attempts} times: {message}",
            )
            await self._record(claim.merchant_id, claim.refund_id, outcome)
            return
        delay = backoff_seconds(claim.attempts, self.settings)
        log.info(
            "refund %s: transient gateway error (attempt %d), retrying in %.2fs",
            claim.refund_id,
            claim.attempts,
            delay,
        )
        await self.claims.retry_later(claim, delay)
        asyncio.get_running_loop().call_later(delay, self._wake_claims.set)

    async def _returns_loop(self) -> None:
        while True:
            self._wake_returns.clear()
            try:
                found = await self.gateway.claim_returns(
                    self.settings.concurrency, self.settings.claim_lease_seconds
                )
                for bank_return in found:
                    await self._apply_return(
                        bank_return.refund_id, bank_return.merchant_id, bank_return.reason
                    )
            except Exception:
                log.exception("applying bank returns failed; retrying")
                found = []
            if len(found) < self.settings.concurrency:
                await self._sleep_until_woken(self._wake_returns)

    async def _apply_return(self, refund_id: UUID, merchant_id: UUID, reason: str) -> None:
        outcome = RailOutcome(RefundStatus.REVERSED, failure_code=BANK_RETURNED, message=reason)
        await self._record(merchant_id, refund_id, outcome)
        # Still PROCESSING means the payout's own answer is not applied yet (its holder died):
        # leave the return leased; it comes back after the PROCESSED.
        if await self.claims.status(merchant_id, refund_id) is not RefundStatus.PROCESSING:
            await self.gateway.acknowledge_return(refund_id)
