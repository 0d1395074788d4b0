"""The sandbox bank's memory in PostgreSQL (table `sandbox_settlements`), shared by every
process: the first answer to an idempotency key is kept and returned to every later call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables import sandbox_settlements as t
from domain.gateway import (
    ActionRequired,
    BankReturn,
    PayoutRequest,
    PayoutResult,
    Rejected,
    Settled,
)
from domain.model import RefundSpeed


def _stored(result: PayoutResult) -> dict[str, Any]:
    if isinstance(result, Settled):
        return {
            "outcome": "SETTLED",
            "bank_reference": result.bank_reference,
            "speed": result.speed.value,
        }
    kind = "ACTION_REQUIRED" if isinstance(result, ActionRequired) else "REJECTED"
    return {"outcome": kind, "code": result.code, "message": result.message}


def _result(row: Any) -> PayoutResult:
    if row.outcome == "SETTLED":
        return Settled(row.bank_reference, RefundSpeed(row.speed))
    if row.outcome == "ACTION_REQUIRED":
        return ActionRequired(row.code, row.message)
    return Rejected(row.code, row.message)


class SandboxBank:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def answer(
        self,
        request: PayoutRequest,
        candidate: PayoutResult,
        *,
        transient_errors: int,
        returns_after: timedelta | None,
    ) -> PayoutResult | None:
        """The answer to this payout: the stored one if the key was answered before, else
        `candidate`, stored now. None while the key still has transient errors to give."""
        key = request.idempotency_key
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(t)
                .values(
                    idempotency_key=key,
                    refund_id=request.refund_id,
                    merchant_id=request.merchant_id,
                    transient_errors_left=transient_errors,
                )
                .on_conflict_do_nothing(index_elements=[t.c.idempotency_key])
            )
            row = (
                await conn.execute(select(t).where(t.c.idempotency_key == key).with_for_update())
            ).one()
            values: dict[str, Any] = {"calls": t.c.calls + 1}
            if row.outcome is None and row.transient_errors_left > 0:
                values["transient_errors_left"] = t.c.transient_errors_left - 1
                await conn.execute(update(t).where(t.c.idempotency_key == key).values(values))
                return None
            if row.outcome is None:
                values |= _stored(candidate) | {"answered_at": func.now()}
                if returns_after is not None:
                    values["returns_at"] = func.now() + returns_after
            await conn.execute(update(t).where(t.c.idempotency_key == key).values(values))
            return _result(row) if row.outcome is not None else candidate

    async def claim_returns(self, limit: int, lease_seconds: float) -> Sequence[BankReturn]:
        due = (
            select(t.c.idempotency_key)
            .where(
                t.c.returns_at.is_not(None),
                t.c.return_acknowledged_at.is_(None),
                t.c.returns_at <= func.now(),
                (t.c.return_leased_until.is_(None)) | (t.c.return_leased_until < func.now()),
            )
            .order_by(t.c.returns_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(t)
            .where(t.c.idempotency_key.in_(due.scalar_subquery()))
            .values(return_leased_until=func.now() + timedelta(seconds=lease_seconds))
            .returning(t.c.refund_id, t.c.merchant_id)
        )
        async with self.engine.begin() as conn:
            found = (await conn.execute(stmt)).all()
        return [
            BankReturn(r.refund_id, r.merchant_id, "The beneficiary bank returned the credit.")
            for r in found
        ]

    async def acknowledge_return(self, refund_id: UUID) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t)
                .where(t.c.refund_id == refund_id, t.c.returns_at.is_not(None))
                .values(return_acknowledged_at=func.now())
            )
