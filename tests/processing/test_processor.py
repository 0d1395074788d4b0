"""The processor against a real PostgreSQL of the test's own: retries, exhaustion, dead
holders, several processors at once, and the sandbox bank's idempotency."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.claims import RefundClaims
from db.sandbox_bank import SandboxBank
from db.tables import ledger_entries, merchants, refund_events, refunds, sandbox_settlements
from db.uow import SqlUnitOfWork
from domain.gateway import (
    BankReturn,
    PayoutRequest,
    PayoutResult,
    Settled,
    TransientGatewayError,
)
from domain.model import RefundSpeed
from domain.use_cases.processing import start_processing
from processor.config import ProcessorSettings
from processor.sandbox import SandboxGateway
from processor.worker import Processor, payout_request
from tests.processing import seed
from tests.processing.live import wait_until

FAST = ProcessorSettings(
    claim_lease_seconds=1.0,
    poll_seconds=0.1,
    retry_base_seconds=0.02,
    retry_cap_seconds=0.1,
    max_attempts=3,
)


class AlwaysDown:
    """A gateway that never answers: every call is a transient error."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    async def pay(self, request: PayoutRequest) -> PayoutResult:
        self.calls[request.idempotency_key] += 1
        raise TransientGatewayError("down")

    async def claim_returns(self, limit: int, lease_seconds: float) -> Sequence[BankReturn]:
        return []

    async def acknowledge_return(self, refund_id: UUID) -> None:
        return None


@asynccontextmanager
async def running(
    engine: AsyncEngine,
    gateway: object,
    settings: ProcessorSettings = FAST,
    worker: str = "test-worker",
) -> AsyncIterator[Processor]:
    processor = Processor(
        RefundClaims(engine, worker),
        gateway,  # type: ignore[arg-type]
        lambda: SqlUnitOfWork(engine),
        settings,
    )
    task = asyncio.create_task(processor.run())
    try:
        yield processor
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def statuses(engine: AsyncEngine, ids: list[UUID]) -> dict[UUID, str]:
    async with engine.connect() as conn:
        found = (
            await conn.execute(select(refunds.c.id, refunds.c.status).where(refunds.c.id.in_(ids)))
        ).all()
    return {r.id: r.status for r in found}


async def all_in(engine: AsyncEngine, ids: list[UUID], *wanted: str) -> None:
    async def done() -> bool:
        return set((await statuses(engine, ids)).values()) <= set(wanted)

    await wait_until(done, f"refunds {wanted}")


async def event_counts(engine: AsyncEngine, refund_id: UUID) -> Counter[str]:
    async with engine.connect() as conn:
        found = (
            (
                await conn.execute(
                    select(refund_events.c.status).where(refund_events.c.refund_id == refund_id)
                )
            )
            .scalars()
            .all()
        )
    return Counter(found)


async def test_a_gateway_that_stays_down_fails_the_refund_with_retries_exhausted(
    own_engine: AsyncEngine,
) -> None:
    # given
    seeded = await seed.refunds(own_engine, 1, amount=25_00)
    gateway = AlwaysDown()
    # when
    async with running(own_engine, gateway):
        await all_in(own_engine, seeded.refund_ids, "FAILED")
    # then it was tried max_attempts times, failed for good, and the money went back
    refund_id = seeded.refund_ids[0]
    assert gateway.calls[str(refund_id)] == FAST.max_attempts
    async with own_engine.connect() as conn:
        row = (await conn.execute(select(refunds).where(refunds.c.id == refund_id))).one()
        balance = (
            await conn.execute(
                select(merchants.c.balance).where(merchants.c.id == seeded.merchant_id)
            )
        ).scalar_one()
    assert row.failure_code == "RETRIES_EXHAUSTED"
    assert balance == 25_00
    assert await event_counts(own_engine, refund_id) == Counter(
        {"PENDING": 1, "PROCESSING": 1, "FAILED": 1}
    )


async def test_a_refund_whose_holder_died_after_the_bank_paid_is_settled_once(
    own_engine: AsyncEngine,
) -> None:
    # given a refund claimed and moved to PROCESSING by a process that then died, after the
    # bank had already paid it (its answer never reached us)
    seeded = await seed.refunds(own_engine, 1)
    refund_id = seeded.refund_ids[0]
    dead = RefundClaims(own_engine, "dead-worker")
    [claim] = await dead.claim(1, lease_seconds=0.5)
    await start_processing(
        SqlUnitOfWork(own_engine), seeded.merchant_id, refund_id, datetime.now(UTC)
    )
    order = await dead.work_order(seeded.merchant_id, refund_id)
    assert order is not None
    bank = SandboxBank(own_engine)
    first = await SandboxGateway(bank, 0).pay(payout_request(order))
    assert isinstance(first, Settled)
    # when another processor runs
    async with running(own_engine, SandboxGateway(bank, 0)):
        await all_in(own_engine, [refund_id], "PROCESSED")
    # then the retried call got the first answer back: one payment, one PROCESSED
    async with own_engine.connect() as conn:
        row = (await conn.execute(select(refunds).where(refunds.c.id == refund_id))).one()
        bank_rows = (
            await conn.execute(
                select(sandbox_settlements).where(sandbox_settlements.c.refund_id == refund_id)
            )
        ).all()
    assert row.bank_reference == first.bank_reference
    assert [r.calls for r in bank_rows] == [2]
    assert await event_counts(own_engine, refund_id) == Counter(
        {"PENDING": 1, "PROCESSING": 1, "PROCESSED": 1}
    )
    assert claim.attempts == 1


async def test_two_processors_share_the_work_and_settle_each_refund_once(
    own_engine: AsyncEngine,
) -> None:
    seeded = await seed.refunds(own_engine, 40, amount=1_00)
    bank = SandboxBank(own_engine)
    settings = replace(FAST, concurrency=4)
    async with (
        running(own_engine, SandboxGateway(bank, 0), settings, "w1"),
        running(own_engine, SandboxGateway(bank, 0), settings, "w2"),
    ):
        await all_in(own_engine, seeded.refund_ids, "PROCESSED")
    async with own_engine.connect() as conn:
        calls = (await conn.execute(select(func.sum(sandbox_settlements.c.calls)))).scalar_one()
        processed = (
            await conn.execute(select(func.count()).where(refund_events.c.status == "PROCESSED"))
        ).scalar_one()
        ledger = Counter((await conn.execute(select(ledger_entries.c.kind))).scalars().all())
    assert processed == 40
    assert calls == 40  # no refund was driven twice
    assert ledger == Counter({"RECHARGE": 1, "REFUND_DEBIT": 40})


async def test_the_sandbox_bank_answers_a_key_once_and_repeats_that_answer(
    own_engine: AsyncEngine,
) -> None:
    seeded = await seed.refunds(own_engine, 1, source="flaky@okaxis")
    claims = RefundClaims(own_engine, "w")
    await claims.claim(1, 30)
    await start_processing(
        SqlUnitOfWork(own_engine), seeded.merchant_id, seeded.refund_ids[0], datetime.now(UTC)
    )
    order = await claims.work_order(seeded.merchant_id, seeded.refund_ids[0])
    assert order is not None
    request = payout_request(order)
    gateway = SandboxGateway(SandboxBank(own_engine), 0)
    outcomes: list[PayoutResult | None] = []
    for _ in range(4):
        try:
            outcomes.append(await gateway.pay(request))
        except TransientGatewayError:
            outcomes.append(None)
    assert outcomes[:2] == [None, None]
    assert isinstance(outcomes[2], Settled)
    assert outcomes[3] == outcomes[2]
    assert outcomes[2].speed is RefundSpeed.NORMAL
    async with own_engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM sandbox_settlements"))).scalar_one()
    assert count == 1
