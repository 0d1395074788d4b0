from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from domain.model import DestinationKind, PaymentMethod, RefundSpeed
from domain.settlement import (
    add_business_days,
    estimated_settlement,
    instant_is_possible,
    speed_to_use,
)

MONDAY = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
FRIDAY = MONDAY + timedelta(days=4)
SATURDAY = MONDAY + timedelta(days=5)
SUNDAY = MONDAY + timedelta(days=6)
NEXT_MONDAY = MONDAY + timedelta(days=7)

ORIGINAL = DestinationKind.ORIGINAL_SOURCE
SUPPLIED = [DestinationKind.BANK_ACCOUNT, DestinationKind.UPI]
NOT_UPI = sorted(set(PaymentMethod) - {PaymentMethod.UPI})


def test_the_dates_used_fall_on_the_weekdays_their_names_say() -> None:
    assert [d.weekday() for d in (MONDAY, FRIDAY, SATURDAY, SUNDAY)] == [0, 4, 5, 6]


def test_a_friday_plus_one_business_day_is_the_next_monday() -> None:
    assert add_business_days(FRIDAY, 1) == NEXT_MONDAY


def test_a_monday_plus_one_business_day_is_the_tuesday() -> None:
    assert add_business_days(MONDAY, 1) == MONDAY + timedelta(days=1)


@pytest.mark.parametrize("weekend_day", [SATURDAY, SUNDAY])
def test_a_weekend_day_plus_one_business_day_is_the_monday(weekend_day: datetime) -> None:
    assert add_business_days(weekend_day, 1) == NEXT_MONDAY


def test_five_business_days_are_one_calendar_week() -> None:
    assert add_business_days(MONDAY, 5) == NEXT_MONDAY


def test_ten_business_days_from_a_friday_are_two_calendar_weeks() -> None:
    assert add_business_days(FRIDAY, 10) == FRIDAY + timedelta(days=14)


def test_zero_business_days_leave_the_date_alone() -> None:
    assert add_business_days(SATURDAY, 0) == SATURDAY


@pytest.mark.parametrize(("start_day", "days"), list(product(range(7), range(1, 11))))
def test_business_days_never_end_on_a_weekend_and_keep_the_time_of_day(
    start_day: int, days: int
) -> None:
    # given
    start = MONDAY + timedelta(days=start_day)
    # when
    end = add_business_days(start, days)
    # then
    assert end.weekday() < 5
    assert end.timetz() == start.timetz()
    weekdays_passed = sum(
        (start + timedelta(days=n)).weekday() < 5 for n in range(1, (end - start).days + 1)
    )
    assert weekdays_passed == days


@pytest.mark.parametrize(
    ("method", "business_days"),
    [
        (PaymentMethod.UPI, 1),
        (PaymentMethod.WALLET, 1),
        (PaymentMethod.NET_BANKING, 7),
        (PaymentMethod.CARD, 10),
    ],
)
def test_a_normal_refund_to_the_original_source_quotes_the_far_end_of_the_methods_range(
    method: PaymentMethod, business_days: int
) -> None:
    expected = add_business_days(MONDAY, business_days)
    assert estimated_settlement(MONDAY, method, ORIGINAL, RefundSpeed.NORMAL) == expected


def test_a_normal_card_refund_on_a_monday_settles_two_mondays_later() -> None:
    assert estimated_settlement(
        MONDAY, PaymentMethod.CARD, ORIGINAL, RefundSpeed.NORMAL
    ) == MONDAY + timedelta(days=14)


def test_a_normal_net_banking_refund_on_a_monday_settles_the_wednesday_after_next() -> None:
    assert estimated_settlement(
        MONDAY, PaymentMethod.NET_BANKING, ORIGINAL, RefundSpeed.NORMAL
    ) == MONDAY + timedelta(days=9)


def test_a_normal_upi_refund_on_a_friday_settles_on_monday() -> None:
    assert (
        estimated_settlement(FRIDAY, PaymentMethod.UPI, ORIGINAL, RefundSpeed.NORMAL) == NEXT_MONDAY
    )


@pytest.mark.parametrize(("method", "destination"), list(product(PaymentMethod, SUPPLIED)))
def test_a_normal_refund_to_a_destination_the_merchant_supplied_settles_next_business_day(
    method: PaymentMethod, destination: DestinationKind
) -> None:
    assert estimated_settlement(FRIDAY, method, destination, RefundSpeed.NORMAL) == NEXT_MONDAY


def test_an_instant_upi_refund_settles_in_half_an_hour_even_at_the_weekend() -> None:
    assert estimated_settlement(
        SATURDAY, PaymentMethod.UPI, ORIGINAL, RefundSpeed.INSTANT
    ) == SATURDAY + timedelta(minutes=30)


@pytest.mark.parametrize(("method", "destination"), list(product(PaymentMethod, SUPPLIED)))
def test_an_instant_refund_to_a_supplied_account_or_vpa_settles_in_half_an_hour(
    method: PaymentMethod, destination: DestinationKind
) -> None:
    assert estimated_settlement(
        MONDAY, method, destination, RefundSpeed.INSTANT
    ) == MONDAY + timedelta(minutes=30)


@pytest.mark.parametrize("method", NOT_UPI)
def test_an_instant_refund_to_a_card_wallet_or_net_banking_falls_back_to_normal(
    method: PaymentMethod,
) -> None:
    # given
    requested = RefundSpeed.INSTANT
    # when
    speed = speed_to_use(requested, method, ORIGINAL)
    settles = estimated_settlement(MONDAY, method, ORIGINAL, requested)
    # then
    assert speed is RefundSpeed.NORMAL
    assert not instant_is_possible(method, ORIGINAL)
    assert settles == estimated_settlement(MONDAY, method, ORIGINAL, RefundSpeed.NORMAL)


def test_an_instant_refund_to_the_original_upi_source_goes_instant() -> None:
    assert instant_is_possible(PaymentMethod.UPI, ORIGINAL)
    assert speed_to_use(RefundSpeed.INSTANT, PaymentMethod.UPI, ORIGINAL) is RefundSpeed.INSTANT


@pytest.mark.parametrize(("method", "destination"), list(product(PaymentMethod, SUPPLIED)))
def test_instant_is_possible_to_any_account_or_vpa_the_merchant_supplied(
    method: PaymentMethod, destination: DestinationKind
) -> None:
    assert instant_is_possible(method, destination)
    assert speed_to_use(RefundSpeed.INSTANT, method, destination) is RefundSpeed.INSTANT


@pytest.mark.parametrize(("method", "destination"), list(product(PaymentMethod, DestinationKind)))
def test_a_normal_refund_is_never_sped_up(
    method: PaymentMethod, destination: DestinationKind
) -> None:
    assert speed_to_use(RefundSpeed.NORMAL, method, destination) is RefundSpeed.NORMAL
