"""Idempotency keys for initiateRefund, one namespace per merchant.

The claim is a single INSERT … ON CONFLICT. A second request with a key whose first request is
still running blocks on that row until the first commits or rolls back (PostgreSQL's unique
index does the waiting, no check-then-insert race), then sees its outcome. A wait past the
connection's lock_timeout becomes IDEMPOTENCY_KEY_IN_USE. Keys older than the retention are
taken over as new, and pruned by `prune_expired`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncConnection

from db import statements
from db.distribution import ACROSS_MERCHANTS
from db.tables import idempotency_keys as keys
from domain.errors import IdempotencyKeyInUse
from domain.ports import IdempotencyClaim

RETENTION = timedelta(hours=24)
LOCK_NOT_AVAILABLE = "55P03"


class SqlIdempotency:
    def __init__(self, conn: AsyncConnection, raw: Any) -> None:
        self.conn = conn
        self.raw = raw  # the asyncpg connection under `conn`, in its transaction

    async def claim(self, merchant_id: UUID, key: str, request_hash: str) -> IdempotencyClaim:
        claim = statements.CLAIM_IDEMPOTENCY_KEY
        try:
            if await self.raw.fetchrow(claim, merchant_id, key, request_hash, RETENTION):
                return IdempotencyClaim(True, request_hash, None)
        except asyncpg.PostgresError as error:
            if getattr(error, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                raise IdempotencyKeyInUse(
                    "A request with this idempotency key is still running; retry shortly."
                ) from None
            raise
        row = await self.raw.fetchrow(statements.IDEMPOTENCY_KEY, merchant_id, key)
        return IdempotencyClaim(False, row["request_hash"], row["refund_id"])


async def prune_expired(conn: AsyncConnection) -> int:
    """Delete keys past the retention, every merchant's at once; returns how many went."""
    stmt = (
        delete(keys).prefix_with(ACROSS_MERCHANTS).where(keys.c.created_at < func.now() - RETENTION)
    )
    result = await conn.execute(stmt)
    return result.rowcount
