"""Claims taken merchant by merchant (db/claims.py): a merchant's backlog does not hold up
another merchant's refunds, a claim never takes more than it was asked for, and a claim's
release is its own."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.claims import RefundClaims
from db.tables import refunds
from db.uow import SqlUnitOfWork
from domain.destinations import upi_vpa
from domain.model import RefundStatus
from domain.use_cases.processing import RailOutcome, record_outcome, start_processing
from domain.use_cases.refund_actions import update_refund_destination
from tests.processing import seed


async def test_one_merchants_backlog_does_not_starve_another_merchant(
    own_engine: AsyncEngine,
) -> None:
    # given merchant A with ten refunds due, all due before merchant B's one refund
    backlog = await seed.refunds(own_engine, 10, amount=1_00)
    late = await seed.refunds(own_engine, 1, amount=1_00)
    # when a processor with four free slots claims
    claimed = await RefundClaims(own_engine, "w").claim(4, lease_seconds=30)
    # then B's refund is among them, and A's take the rest of the slots
    assert Counter(c.merchant_id for c in claimed) == Counter(
        {backlog.merchant_id: 3, late.merchant_id: 1}
    )
    assert late.refund_ids[0] in {c.refund_id for c in claimed}


async def test_a_claim_takes_no_more_than_asked_and_the_oldest_due_merchants_first(
    own_engine: AsyncEngine,
) -> None:
    # given three merchants with refunds due, oldest first
    first, second, third = [await seed.refunds(own_engine, 3, amount=1_00) for _ in range(3)]
    claims = RefundClaims(own_engine, "w")
    # when two slots are free, then one refund of each of the two oldest-due merchants is taken
    claimed = list(await claims.claim(2, lease_seconds=30))
    assert sorted(c.merchant_id for c in claimed) == sorted([first.merchant_id, second.merchant_id])
    # and the rest is claimed once each, by as many claims as it takes
    for _ in range(4):
        claimed += await claims.claim(2, lease_seconds=30)
    everything = first.refund_ids + second.refund_ids + third.refund_ids
    assert sorted(c.refund_id for c in claimed) == sorted(everything)


async def test_an_earlier_claims_release_leaves_the_same_workers_new_claim_of_the_row(
    own_engine: AsyncEngine,
) -> None:
    # given a refund claimed, sent to ACTION_REQUIRED, given a new UPI ID, and claimed again by
    # the same worker before the first claim was released
    seeded = await seed.refunds(own_engine, 1, source="frozen@okaxis")
    merchant_id, refund_id = seeded.merchant_id, seeded.refund_ids[0]
    claims = RefundClaims(own_engine, "w")
    [first] = await claims.claim(1, lease_seconds=30)
    now = datetime.now(UTC)
    await start_processing(SqlUnitOfWork(own_engine), merchant_id, refund_id, now)
    frozen = RailOutcome(RefundStatus.ACTION_REQUIRED, "CUSTOMER_ACCOUNT_FROZEN", "Frozen.")
    await record_outcome(SqlUnitOfWork(own_engine), merchant_id, refund_id, frozen, now)
    new_account = upi_vpa("customer@okicici")
    await update_refund_destination(
        SqlUnitOfWork(own_engine), merchant_id, refund_id, new_account, now
    )
    [second] = await claims.claim(1, lease_seconds=30)
    assert second.refund_id == refund_id
    # when the first claim's holder releases it
    released = await claims.release(first)
    # then nothing changed: the row is the second claim's, which can still renew its lease
    assert released is False
    async with own_engine.connect() as conn:
        holder = await conn.scalar(select(refunds.c.claimed_by).where(refunds.c.id == refund_id))
    assert holder == second.holder != first.holder
    assert await claims.extend(second, lease_seconds=30) is True
