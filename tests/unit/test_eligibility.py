from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.eligibility import amount_to_refund, refundable_amount
from domain.errors import (
    AmountExceedsRefundable,
    AmountInvalid,
    CurrencyMismatch,
    RefundWindowExpired,
    TransactionNotRefundable,
)
from domain.model import PaymentMethod, Transaction, TransactionStatus

PAID_AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
WINDOW_DAYS = 180
DEADLINE = PAID_AT + timedelta(days=WINDOW_DAYS)


def a_transaction(
    *, amount: int = 10_000, status: TransactionStatus = TransactionStatus.SUCCESS
) -> Transaction:
    return Transaction(
        id=uuid4(), merchant_id=uuid4(), reference="pay_1", order_id="order_1",
        amount=amount, currency="INR", status=status, payment_method=PaymentMethod.UPI,
        source="ab••@okaxis", created_at=PAID_AT,
    )  # fmt: skip


def refund_of(
    transaction: Transaction,
    *,
    held: int = 0,
    requested: int | None = None,
    balance_currency: str = "INR",
    now: datetime = PAID_AT + timedelta(days=1),
    window_days: int = WINDOW_DAYS,
) -> int:
    return amount_to_refund(
        transaction, held=held, requested=requested, balance_currency=balance_currency,
        now=now, window_days=window_days,
    )  # fmt: skip


def test_an_untouched_successful_transaction_is_refundable_in_full() -> None:
    assert refundable_amount(a_transaction(amount=10_000), held=0) == 10_000


def test_a_partial_refund_leaves_the_rest_refundable() -> None:
    assert refundable_amount(a_transaction(amount=10_000), held=2_500) == 7_500


def test_what_is_refundable_never_goes_below_zero() -> None:
    assert refundable_amount(a_transaction(amount=10_000), held=12_000) == 0


@pytest.mark.parametrize("status", sorted(set(TransactionStatus) - {TransactionStatus.SUCCESS}))
def test_nothing_is_refundable_on_a_transaction_that_did_not_succeed(
    status: TransactionStatus,
) -> None:
    assert refundable_amount(a_transaction(status=status), held=0) == 0


@pytest.mark.parametrize("status", sorted(set(TransactionStatus) - {TransactionStatus.SUCCESS}))
def test_a_refund_of_a_transaction_that_did_not_succeed_is_refused(
    status: TransactionStatus,
) -> None:
    with pytest.raises(TransactionNotRefundable) as refused:
        refund_of(a_transaction(status=status), requested=100)
    assert refused.value.field == ("input", "transactionId")


def test_a_refund_asked_exactly_at_the_end_of_the_window_is_allowed() -> None:
    assert refund_of(a_transaction(), requested=100, now=DEADLINE) == 100


def test_a_refund_asked_one_microsecond_after_the_window_closed_is_refused() -> None:
    with pytest.raises(RefundWindowExpired):
        refund_of(a_transaction(), requested=100, now=DEADLINE + timedelta(microseconds=1))


def test_the_window_is_counted_from_the_transaction_in_the_days_given() -> None:
    # given a one-day window
    window_days = 1
    # when / then
    assert (
        refund_of(
            a_transaction(), now=PAID_AT + timedelta(days=1), window_days=window_days, requested=1
        )
        == 1
    )
    with pytest.raises(RefundWindowExpired):
        refund_of(
            a_transaction(),
            now=PAID_AT + timedelta(days=1, seconds=1),
            window_days=window_days,
            requested=1,
        )


def test_a_refund_from_a_balance_in_another_currency_is_refused() -> None:
    with pytest.raises(CurrencyMismatch) as refused:
        refund_of(a_transaction(), requested=100, balance_currency="USD")
    assert refused.value.field == ("input", "transactionId")


def test_an_omitted_amount_refunds_all_that_is_left() -> None:
    assert refund_of(a_transaction(amount=10_000), held=3_000, requested=None) == 7_000


def test_an_omitted_amount_refunds_everything_when_nothing_was_refunded_yet() -> None:
    assert refund_of(a_transaction(amount=10_000)) == 10_000


def test_a_partial_refund_is_allowed_for_the_amount_asked() -> None:
    assert refund_of(a_transaction(amount=10_000), held=3_000, requested=2_000) == 2_000


def test_a_refund_of_exactly_what_is_left_is_allowed() -> None:
    assert refund_of(a_transaction(amount=10_000), held=3_000, requested=7_000) == 7_000


def test_a_refund_of_more_than_is_left_is_refused() -> None:
    with pytest.raises(AmountExceedsRefundable) as refused:
        refund_of(a_transaction(amount=10_000), held=3_000, requested=7_001)
    assert refused.value.field == ("input", "amount")
    assert "7000" in refused.value.message


@pytest.mark.parametrize("requested", [None, 1])
def test_a_refund_of_a_fully_refunded_transaction_is_refused(requested: int | None) -> None:
    with pytest.raises(AmountExceedsRefundable) as refused:
        refund_of(a_transaction(amount=10_000), held=10_000, requested=requested)
    assert refused.value.field == ("input", "amount")


@pytest.mark.parametrize("requested", [0, -1, 100.0, True, 2**53])
def test_an_amount_that_is_not_a_positive_whole_number_in_range_is_refused(
    requested: object,
) -> None:
    with pytest.raises(AmountInvalid):
        refund_of(a_transaction(), requested=requested)  # type: ignore[arg-type]


def test_held_amount_counts_only_refunds_that_still_hold_money() -> None:
    from types import SimpleNamespace

    from domain.eligibility import held_amount
    from domain.model import RefundStatus

    refunds = [
        SimpleNamespace(
            amount=100, holds_money=status.value not in {"FAILED", "CANCELLED", "REVERSED"}
        )
        for status in RefundStatus
    ]
    # 8 statuses, 5 of which hold money
    assert held_amount(refunds) == 500  # type: ignore[arg-type]
    assert held_amount([]) == 0
