from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.model import (
    RELEASED_STATUSES,
    DestinationKind,
    Refund,
    RefundReason,
    RefundSpeed,
    RefundStatus,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def a_refund(status: RefundStatus) -> Refund:
    return Refund(
        id=uuid4(), merchant_id=uuid4(), transaction_id=uuid4(), amount=10_000, currency="INR",
        status=status, reason=RefundReason.CUSTOMER_REQUEST, notes=None, metadata=None,
        speed_requested=RefundSpeed.NORMAL, speed_processed=None,
        destination_kind=DestinationKind.ORIGINAL_SOURCE, destination_display="ab••@okaxis",
        failure_code=None, failure_message=None, bank_reference=None,
        estimated_settlement_at=None, created_at=NOW, updated_at=NOW, processed_at=None,
    )  # fmt: skip


def test_failed_cancelled_and_reversed_refunds_release_their_amount() -> None:
    assert RELEASED_STATUSES == {RefundStatus.FAILED, RefundStatus.CANCELLED, RefundStatus.REVERSED}


@pytest.mark.parametrize("status", sorted(RELEASED_STATUSES))
def test_a_released_refund_no_longer_counts_against_its_transaction(status: RefundStatus) -> None:
    assert not a_refund(status).holds_money


@pytest.mark.parametrize("status", sorted(set(RefundStatus) - RELEASED_STATUSES))
def test_any_other_refund_counts_against_its_transaction(status: RefundStatus) -> None:
    assert a_refund(status).holds_money
