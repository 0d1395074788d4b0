"""The processor's and the broker's rules, without a database."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.broker import Broker, SubscriberTooSlow
from db.claims import WorkOrder
from db.refund_changes import Change, as_of
from db.uow import SqlUnitOfWork
from domain.gateway import ActionRequired, PayoutRequest, Rejected, Settled
from domain.model import (
    DestinationKind,
    PaymentMethod,
    Refund,
    RefundEvent,
    RefundReason,
    RefundSpeed,
    RefundStatus,
)
from domain.use_cases.processing import RailOutcome, record_outcome
from processor.config import ProcessorSettings
from processor.sandbox import decide
from processor.worker import backoff_seconds, idempotency_key
from tests.processing.live import wait_until

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def a_refund(**changes: object) -> Refund:
    refund = Refund(
        id=uuid4(),
        merchant_id=uuid4(),
        transaction_id=uuid4(),
        amount=100,
        currency="INR",
        status=RefundStatus.PROCESSED,
        reason=RefundReason.OTHER,
        notes=None,
        metadata=None,
        speed_requested=RefundSpeed.NORMAL,
        speed_processed=RefundSpeed.NORMAL,
        destination_kind=DestinationKind.ORIGINAL_SOURCE,
        destination_display="a@b",
        failure_code=None,
        failure_message=None,
        bank_reference="123456789012",
        estimated_settlement_at=None,
        created_at=NOW,
        updated_at=NOW + timedelta(seconds=2),
        processed_at=NOW + timedelta(seconds=2),
    )
    return replace(refund, **changes)  # type: ignore[arg-type]


def test_a_pushed_change_carries_its_own_status_not_the_rows_later_one() -> None:
    refund = a_refund()
    event = RefundEvent(
        1, refund.id, RefundStatus.PROCESSING, NOW + timedelta(seconds=1), None, None
    )
    pushed = as_of(refund, event)
    assert pushed.status is RefundStatus.PROCESSING
    assert pushed.updated_at == event.at
    assert pushed.bank_reference is None
    assert pushed.processed_at is None


def test_the_latest_change_is_pushed_as_the_row_is() -> None:
    refund = a_refund()
    event = RefundEvent(3, refund.id, RefundStatus.PROCESSED, refund.updated_at, None, None)
    assert as_of(refund, event) is refund


def request(
    destination: str,
    method: PaymentMethod = PaymentMethod.UPI,
    speed: RefundSpeed = RefundSpeed.NORMAL,
) -> PayoutRequest:
    return PayoutRequest(
        "k",
        uuid4(),
        uuid4(),
        100,
        "INR",
        method,
        DestinationKind.ORIGINAL_SOURCE,
        destination,
        speed,
    )


@pytest.mark.parametrize(
    ("destination", "expected", "transient", "bounces"),
    [
        ("FROZEN@okaxis", ActionRequired, 0, False),
        ("inactive.user@ybl", ActionRequired, 0, False),
        ("reject@okaxis", Rejected, 0, False),
        ("flaky@okaxis", Settled, 2, False),
        ("bounce@okaxis", Settled, 0, True),
        ("someone@okaxis", Settled, 0, False),
    ],
)
def test_the_sandbox_answers_by_the_marker_in_the_destination(
    destination: str, expected: type, transient: int, bounces: bool
) -> None:
    answer, errors, bounce = decide(request(destination))
    assert isinstance(answer, expected)
    assert (errors, bounce) == (transient, bounces)


def test_instant_falls_back_to_normal_where_the_method_cannot_take_it() -> None:
    card, _, _ = decide(request("4111", PaymentMethod.CARD, RefundSpeed.INSTANT))
    upi, _, _ = decide(request("x@okaxis", PaymentMethod.UPI, RefundSpeed.INSTANT))
    assert isinstance(card, Settled)
    assert isinstance(upi, Settled)
    assert card.speed is RefundSpeed.NORMAL
    assert len(card.bank_reference) == 23
    assert upi.speed is RefundSpeed.INSTANT


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    settings = ProcessorSettings(retry_base_seconds=1.0, retry_cap_seconds=8.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)]:
        delays = {backoff_seconds(attempt, settings) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1


def test_a_new_destination_is_a_new_idempotency_key() -> None:
    order = WorkOrder(
        uuid4(),
        uuid4(),
        100,
        "INR",
        PaymentMethod.UPI,
        DestinationKind.ORIGINAL_SOURCE,
        "frozen@okaxis",
        None,
        RefundSpeed.NORMAL,
    )
    moved = replace(
        order, destination_kind=DestinationKind.UPI, destination_details={"vpa": "new@okaxis"}
    )
    again = replace(moved, destination_details={"vpa": "new@okaxis"})
    assert idempotency_key(order) == str(order.refund_id)
    assert idempotency_key(moved).startswith(str(order.refund_id))
    assert idempotency_key(moved) != idempotency_key(order)
    assert idempotency_key(moved) == idempotency_key(again)


class FakeChanges:
    """The broker's read side, from memory."""

    def __init__(self) -> None:
        self.refunds: dict[int, Refund] = {}

    async def load(self, changes: list[Change]) -> dict[int, Refund]:
        return {c.event_id: self.refunds[c.event_id] for c in changes if c.event_id in self.refunds}


def notice(refund: Refund, event_id: int) -> str:
    return (
        f'{{"m": "{refund.merchant_id}", "r": "{refund.id}", '
        f'"t": "{refund.transaction_id}", "e": {event_id}}}'
    )


async def test_a_subscriber_too_slow_for_its_queue_is_dropped_not_coalesced() -> None:
    changes = FakeChanges()
    broker = Broker(changes, queue_size=3)  # type: ignore[arg-type]
    refund = a_refund()
    runner = asyncio.create_task(broker.run())
    try:
        async with broker.subscribe(refund.merchant_id) as slow:
            for event_id in range(1, 6):
                changes.refunds[event_id] = refund
                broker.notify(notice(refund, event_id))
            await asyncio.sleep(0)  # let the broker run

            async def drained() -> bool:
                return broker.subscriber_count(refund.merchant_id) == 0

            await wait_until(drained, "the slow subscriber dropped")
            received = [await slow.next() for _ in range(3)]
            with pytest.raises(SubscriberTooSlow):
                await slow.next()
    finally:
        runner.cancel()
    assert len(received) == 3


async def test_a_change_seen_twice_or_late_is_pushed_once() -> None:
    changes = FakeChanges()
    broker = Broker(changes)  # type: ignore[arg-type]
    refund = a_refund()
    later = replace(refund, status=RefundStatus.PROCESSED)
    changes.refunds.update({1: refund, 2: refund, 3: later})
    runner = asyncio.create_task(broker.run())
    try:
        async with broker.subscribe(refund.merchant_id, refund_id=refund.id) as sub:
            for event_id in (1, 2, 2, 1):
                broker.notify(notice(refund, event_id))
            broker.notify("not json")
            broker.notify(notice(refund, 3))  # changes are pushed in order: a duplicate would
            pushed = [await sub.next() for _ in range(3)]  # come before this one
            assert not sub.items
    finally:
        runner.cancel()
    assert pushed == [refund, refund, later]


async def test_an_outcome_for_a_refund_that_does_not_exist_changes_nothing(
    engine: AsyncEngine,
) -> None:
    outcome = RailOutcome(RefundStatus.PROCESSED, bank_reference="UTR1")
    now = datetime.now(UTC)
    assert await record_outcome(SqlUnitOfWork(engine), uuid4(), uuid4(), outcome, now) is None
