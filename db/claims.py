"""The processor's queue, in the refunds table itself: claims with FOR UPDATE SKIP LOCKED and a
lease, so that any number of processes share the work and a dead one's claims come back.

A claim sets `next_attempt_at` to the lease's end as well as `claim_expires_at`: a claimed refund
is then simply "not due" until its lease runs out, and one condition on the partial index
`ix_refunds_due` (status PENDING or PROCESSING, next_attempt_at <= now()) finds both fresh
PENDING refunds and PROCESSING ones whose holder died or is waiting out a retry's backoff.

Claims are taken merchant by merchant, which is how they work when the refunds are spread over
Citus nodes by merchant (docs/scaling.md): one read across merchants finds those with refunds
due (no lock: it only names candidates), then each merchant's claim is a statement routed to
that merchant's node, locking with SKIP LOCKED there. The free slots are shared out among the
merchants, oldest due first, so one merchant's backlog does not hold up another's refunds.

The claim's candidates are a MATERIALIZED CTE joined to the UPDATE, not
`id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`: the planner may run that subquery again, and
SKIP LOCKED then finds other rows, so it can claim more than n.

`Leases` is that queue over any such table (the refund batches use it too: db/batch_claims.py)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Table, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from db import rows
from db.distribution import ACROSS_MERCHANTS
from db.tables import refunds, transactions
from domain.model import DestinationKind, PaymentMethod, RefundSpeed, RefundStatus

Claimed = TypeVar("Claimed")

CLAIMABLE = [RefundStatus.PENDING.value, RefundStatus.PROCESSING.value]


@dataclass(frozen=True, slots=True)
class Claim:
    refund_id: UUID
    merchant_id: UUID
    status: RefundStatus  # when claimed: PENDING (fresh) or PROCESSING (re-driven)
    attempts: int  # gateway calls this processing run, this one included
    holder: str  # what this claim wrote in claimed_by (Leases)


@dataclass(frozen=True, slots=True)
class WorkOrder:
    """What the rails need to know about a PROCESSING refund."""

    refund_id: UUID
    merchant_id: UUID
    amount: int
    currency: str
    payment_method: PaymentMethod
    destination_kind: DestinationKind
    source: str
    destination_details: dict[str, str] | None
    speed_requested: RefundSpeed


async def share_out(
    limit: int,
    merchants: list[UUID],
    claim_of: Callable[[UUID, int], Awaitable[list[Claimed]]],
) -> list[Claimed]:
    """Up to `limit` claims shared out among `merchants`, each claimed on its own (one node on
    Citus): each merchant an equal share of what is left; what one leaves unused goes to those
    that filled theirs, in the next round."""
    claimed: list[Claimed] = []
    hungry = merchants
    while hungry and len(claimed) < limit:
        still_hungry = []
        for n, merchant_id in enumerate(hungry):
            share = (limit - len(claimed)) // (len(hungry) - n)
            if share == 0:
                continue
            got = await claim_of(merchant_id, share)
            claimed += got
            if len(got) == share:
                still_hungry.append(merchant_id)
        hungry = still_hungry
    return claimed


class Leases(Generic[Claimed]):
    """A queue in a table (merchant_id, id, claimed_by, claim_expires_at, next_attempt_at): claim
    due rows, merchant by merchant, and what a worker does with the rows it claimed: renew the
    lease, give the row back for later, or release it, each only while this claim holds it.
    Each claim writes a holder of its own (the worker id and a number) in `claimed_by`: a row
    claimed again by the same worker (a refund given a new destination within moments of its
    ACTION_REQUIRED) belongs to the new claim, which the old claim's release must not undo."""

    table: ClassVar[Table]
    queued: ClassVar[ColumnElement[bool]]  # which rows are in the queue, due now or later
    returning: ClassVar[tuple[ColumnElement[Any], ...]]  # what a claim is made of
    on_claim: ClassVar[dict[str, Any]] = {}  # what a claim sets besides the lease

    def __init__(self, engine: AsyncEngine, worker_id: str) -> None:
        self.engine = engine
        self.worker_id = worker_id
        self._claims_made = itertools.count(1)

    def _row_of(self, claim: Claimed) -> tuple[UUID, UUID, str]:
        """The claimed row's (merchant_id, id), and the holder the claim wrote."""
        raise NotImplementedError

    def _claimed(self, row: Any) -> Claimed:
        """The claim of a row of `returning`."""
        raise NotImplementedError

    async def claim(self, limit: int, lease_seconds: float) -> list[Claimed]:
        """Up to `limit` due rows, at least one of each of the first `limit` merchants with rows
        due (oldest due first)."""
        c = self.table.c
        oldest_due = func.min(c.next_attempt_at)
        merchants = (
            select(c.merchant_id)
            .prefix_with(ACROSS_MERCHANTS)
            .where(self.queued, c.next_attempt_at <= func.now())
            .group_by(c.merchant_id)
            .order_by(oldest_due)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            hungry = list((await conn.execute(merchants)).scalars())
        return await share_out(limit, hungry, partial(self._claim_of, lease_seconds=lease_seconds))

    async def _claim_of(self, merchant_id: UUID, limit: int, lease_seconds: float) -> list[Claimed]:
        c = self.table.c
        due = (
            select(c.id)
            .where(c.merchant_id == merchant_id, self.queued, c.next_attempt_at <= func.now())
            .order_by(c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
            .prefix_with("MATERIALIZED")
        )
        until = func.now() + timedelta(seconds=lease_seconds)
        holder = f"{self.worker_id}/{next(self._claims_made)}"
        stmt = (
            update(self.table)
            .where(c.merchant_id == merchant_id, c.id == due.c.id)
            .values(
                claimed_by=holder,
                claim_expires_at=until,
                next_attempt_at=until,
                **self.on_claim,
            )
            .returning(*self.returning)
        )
        async with self.engine.begin() as conn:
            found = (await conn.execute(stmt)).all()
        return [self._claimed(row) for row in found]

    async def extend(self, claim: Claimed, lease_seconds: float) -> bool:
        """Renew a claim still held; False when it was lost (expired and taken by another)."""
        until = func.now() + timedelta(seconds=lease_seconds)
        return await self._mine(claim, claim_expires_at=until, next_attempt_at=until)

    async def retry_later(self, claim: Claimed, delay_seconds: float) -> bool:
        """Give the claim back, due again after `delay_seconds`."""
        due = func.now() + timedelta(seconds=delay_seconds)
        return await self._mine(claim, claimed_by=None, claim_expires_at=None, next_attempt_at=due)

    async def release(self, claim: Claimed) -> bool:
        return await self._mine(claim, claimed_by=None, claim_expires_at=None)

    async def _mine(self, claim: Claimed, **values: Any) -> bool:
        merchant_id, row_id, holder = self._row_of(claim)
        c = self.table.c
        stmt = (
            update(self.table)
            .where(c.merchant_id == merchant_id, c.id == row_id, c.claimed_by == holder)
            .values(**values)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount > 0


class RefundClaims(Leases[Claim]):
    table = refunds
    queued = refunds.c.status.in_(CLAIMABLE)
    returning = rows.columns(refunds, Claim, refund_id="id", holder="claimed_by")
    on_claim = {
        # A PENDING refund starts a new run of attempts (e.g. after a new destination).
        "attempts": case(
            (refunds.c.status == RefundStatus.PENDING.value, 1), else_=refunds.c.attempts + 1
        ),
    }

    def _row_of(self, claim: Claim) -> tuple[UUID, UUID, str]:
        return claim.merchant_id, claim.refund_id, claim.holder

    def _claimed(self, row: Any) -> Claim:
        return rows.record(Claim, row._mapping)

    async def work_order(self, merchant_id: UUID, refund_id: UUID) -> WorkOrder | None:
        """The refund as the rails need it, or None unless it is PROCESSING."""
        r, t = refunds.c, transactions.c
        order = rows.columns(
            refunds, WorkOrder, refund_id="id", payment_method=t.payment_method, source=t.source
        )
        stmt = (
            select(*order)
            .join_from(
                refunds,
                transactions,
                (t.merchant_id == r.merchant_id) & (t.id == r.transaction_id),
            )
            .where(
                r.merchant_id == merchant_id,
                r.id == refund_id,
                r.status == RefundStatus.PROCESSING.value,
            )
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).one_or_none()
        return None if row is None else rows.record(WorkOrder, row._mapping)

    async def status(self, merchant_id: UUID, refund_id: UUID) -> RefundStatus | None:
        stmt = select(refunds.c.status).where(
            refunds.c.merchant_id == merchant_id, refunds.c.id == refund_id
        )
        async with self.engine.connect() as conn:
            found = (await conn.execute(stmt)).scalar_one_or_none()
        return RefundStatus(found) if found else None
