"""A cancellation racing the batch applier: while cancelRefundBatch holds the batch and its
items (its transaction not yet committed) past the applier's lock timeout, the applier leaves
the batch to the cancellation with one INFO line, no ERROR and no traceback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncEngine

import db.engine
from api import ids
from api.config import Settings
from db.batch_claims import BatchClaim, BatchClaims
from db.engine import create_engine
from db.tables import refund_batches
from db.uow import SqlUnitOfWork
from domain.batches import BatchItemInput, RefundBatchStatus, SubmitRefundBatch
from domain.model import RefundReason
from processor.batches import ITEMS_PER_COMMIT, BatchApplier
from tests.api.account_state import merchant_with_balance
from tests.api.batches import batch
from tests.processing.live import WAIT_SECONDS
from tests.support import Api


@pytest.fixture
async def impatient_engine(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[AsyncEngine]:
    """The applier's engine with a short lock timeout, so that the test need not wait out the
    real one (db/engine.py)."""
    monkeypatch.setattr(db.engine, "LOCK_TIMEOUT_MS", 100)
    engine = create_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


async def _batch_left_to_this_test(
    engine: AsyncEngine, merchant_id: UUID, transaction: str, count: int
) -> UUID:
    """A RUNNING batch that is not due: the suite's in-process applier leaves it alone, so this
    test's applier is the one that meets the cancellation."""
    transaction_id = ids.decode_uuid(ids.TRANSACTION, transaction)
    item = BatchItemInput(transaction, transaction_id, None, 1_00, RefundReason.OTHER)
    cmd = SubmitRefundBatch(merchant_id, (item,) * count, f"race-{uuid4()}")
    batch_id = uuid4()
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.batches.add(batch_id, cmd, cmd.fingerprint())
        await uow.batches.conn.execute(
            update(refund_batches)
            .where(refund_batches.c.merchant_id == merchant_id, refund_batches.c.id == batch_id)
            .values(next_attempt_at=func.now() + timedelta(hours=1))
        )
        await uow.commit()
    return batch_id


async def test_the_applier_leaves_a_batch_to_the_cancellation_holding_it_quietly(
    api: Api,
    engine: AsyncEngine,
    impatient_engine: AsyncEngine,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a running batch of several commits' worth of items
    merchant = await merchant_with_balance(api, 1_000_00)
    paid = await api.record_transaction(merchant, amount=100_00)
    merchant_id = UUID(hex=merchant.id.partition("_")[2])
    batch_id = await _batch_left_to_this_test(engine, merchant_id, paid["id"], 3 * ITEMS_PER_COMMIT)
    applier = BatchApplier(
        BatchClaims(impatient_engine, "cancel-race-test"),
        lambda: SqlUnitOfWork(impatient_engine),
        settings.processor,
        settings.refund_window_days,
    )
    caplog.set_level(logging.INFO, logger="refunds")
    # when a cancellation holds the batch and its items (as cancelRefundBatch does, uncommitted)
    async with SqlUnitOfWork(engine) as cancelling:
        assert await cancelling.batches.lock(merchant_id, batch_id) is RefundBatchStatus.RUNNING
        await cancelling.batches.finish(
            merchant_id, batch_id, RefundBatchStatus.CANCELLED, datetime.now(UTC)
        )
        # and the applier takes the batch meanwhile (the cancellation commits only after the
        # applier returns, so the applier's lock timeout runs out)
        async with asyncio.timeout(WAIT_SECONDS):  # a guard against hanging, not a bound
            await applier.apply(BatchClaim(batch_id, merchant_id, "cancel-race-test/1"))
        await cancelling.commit()
    # then it said so in one quiet line, with no ERROR and no traceback
    said = [r for r in caplog.records if r.name.startswith("refunds")]
    assert [r for r in said if r.levelno >= logging.ERROR] == []
    about = [r for r in said if str(batch_id) in r.getMessage()]
    assert [(r.levelname, r.exc_info) for r in about] == [("INFO", None)]
    assert "being cancelled" in about[0].getMessage()
    # and the cancellation won: every item cancelled, nothing refunded
    found = await batch(api, merchant, ids.encode(ids.REFUND_BATCH, batch_id))
    assert found is not None
    assert (found["status"], found["created"], found["cancelled"]) == (
        "CANCELLED",
        0,
        3 * ITEMS_PER_COMMIT,
    )
    assert await api.balance(merchant) == 1_000_00
