"""Background housekeeping in every API process: pruning idempotency keys past their retention.

Safe to run in many processes at once: the DELETE is idempotent."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from db.repositories.idempotency import prune_expired

log = logging.getLogger("refunds.housekeeping")

PRUNE_INTERVAL_SECONDS = 3600.0


async def prune_idempotency_keys(engine: AsyncEngine) -> int:
    async with engine.begin() as conn:
        pruned = await prune_expired(conn)
    if pruned:
        log.info("pruned %d idempotency keys older than their retention", pruned)
    return pruned


async def prune_forever(engine: AsyncEngine, interval: float = PRUNE_INTERVAL_SECONDS) -> None:
    while True:
        try:
            await prune_idempotency_keys(engine)
        except Exception:  # a failed round is retried at the next; never kill the process
            log.exception("pruning idempotency keys failed")
        await asyncio.sleep(interval)
