"""Idempotency keys for initiateRefund, one namespace per merchant.

The claim is a single INSERT … ON CONFLICT. A second request with a key whose first request is
still running blocks on that row until the first commits or rolls back (PostgreSQL's unique
index does the waiting, no check-then-insert race), then sees its outcome. A wait past the
connection's lock_timeout becomes IDEMPOTENCY_KEY_IN_USE. Keys older than the retention are
taken over as new, and pruned by `prune_expired`."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import idempotency_keys as keys
from domain.errors import IdempotencyKeyInUse
from domain.ports import IdempotencyClaim

RETENTION = timedelta(hours=24)
LOCK_NOT_AVAILABLE = "55P03"


class SqlIdempotency:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def claim(self, merchant_id: UUID, key: str, request_hash: str) -> IdempotencyClaim:
        fresh = insert(keys).values(merchant_id=merchant_id, key=key, request_hash=request_hash)
        stmt = fresh.on_conflict_do_update(
            index_elements=[keys.c.merchant_id, keys.c.key],
            set_={"request_hash": request_hash, "refund_id": None, "created_at": func.now()},
            where=keys.c.created_at < func.now() - RETENTION,
        ).returning(keys.c.key)
        try:
            if (await self.conn.execute(stmt)).one_or_none() is not None:
                return IdempotencyClaim(True, request_hash, None)
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                raise IdempotencyKeyInUse(
                    "A request with this idempotency key is still running; retry shortly."
                ) from None
            raise
        existing = select(keys.c.request_hash, keys.c.refund_id).where(
            keys.c.merchant_id == merchant_id, keys.c.key == key
        )
        row = (await self.conn.execute(existing)).one()
        return IdempotencyClaim(False, row.request_hash, row.refund_id)

    async def attach(self, merchant_id: UUID, key: str, refund_id: UUID) -> None:
        await self.conn.execute(
            update(keys)
            .where(keys.c.merchant_id == merchant_id, keys.c.key == key)
            .values(refund_id=refund_id)
        )


async def prune_expired(conn: AsyncConnection) -> int:
    """Delete keys past the retention; returns how many went."""
    result = await conn.execute(delete(keys).where(keys.c.created_at < func.now() - RETENTION))
    return result.rowcount
