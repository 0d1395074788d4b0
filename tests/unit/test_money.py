import dataclasses
import operator
from collections.abc import Callable

import pytest

from domain.errors import AmountInvalid, CurrencyMismatch
from domain.money import MAX_MINOR_UNITS, Money, check_minor_units, is_currency_code


def test_adding_money_of_one_currency_adds_the_minor_units() -> None:
    assert Money(10_050, "INR") + Money(950, "INR") == Money(11_000, "INR")


def test_subtracting_money_of_one_currency_subtracts_the_minor_units() -> None:
    assert Money(11_000, "INR") - Money(950, "INR") == Money(10_050, "INR")


def test_subtracting_more_than_there_is_is_refused_rather_than_going_negative() -> None:
    with pytest.raises(AmountInvalid):
        Money(100, "INR") - Money(101, "INR")


def test_money_may_be_zero() -> None:
    assert Money(0, "INR").amount == 0


@pytest.mark.parametrize("amount", [0.1, 100.0, float("nan")])
def test_money_refuses_a_float(amount: float) -> None:
    with pytest.raises(AmountInvalid):
        Money(amount, "INR")  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [True, False])
def test_money_refuses_a_bool_although_python_counts_it_as_an_int(amount: bool) -> None:
    with pytest.raises(AmountInvalid):
        Money(amount, "INR")


@pytest.mark.parametrize("amount", ["100", None])
def test_money_refuses_anything_that_is_not_an_integer(amount: str | None) -> None:
    with pytest.raises(AmountInvalid):
        Money(amount, "INR")  # type: ignore[arg-type]


def test_money_refuses_a_negative_amount() -> None:
    with pytest.raises(AmountInvalid):
        Money(-1, "INR")


def test_money_accepts_the_largest_integer_a_json_number_carries_exactly() -> None:
    assert Money(2**53 - 1, "INR").amount == MAX_MINOR_UNITS


def test_money_refuses_one_more_than_the_largest_exact_json_integer() -> None:
    with pytest.raises(AmountInvalid):
        Money(2**53, "INR")


def test_a_sum_beyond_the_largest_exact_json_integer_is_refused() -> None:
    with pytest.raises(AmountInvalid):
        Money(MAX_MINOR_UNITS, "INR") + Money(1, "INR")


@pytest.mark.parametrize(
    "combine", [operator.add, operator.sub, operator.lt, operator.le, operator.gt, operator.ge]
)
def test_money_refuses_to_combine_or_compare_two_currencies(
    combine: Callable[[Money, Money], object],
) -> None:
    with pytest.raises(CurrencyMismatch):
        combine(Money(100, "INR"), Money(100, "USD"))


def test_money_of_one_currency_compares_by_amount() -> None:
    small, large = Money(100, "INR"), Money(200, "INR")
    assert small < large
    assert small <= large
    assert small <= Money(100, "INR")
    assert large > small
    assert large >= small
    assert not large < small
    assert not large <= small


def test_equal_amounts_in_different_currencies_are_not_equal() -> None:
    assert Money(100, "INR") != Money(100, "USD")


@pytest.mark.parametrize("currency", ["inr", "IN", "INRR", "", "1NR", "IN R"])
def test_money_refuses_a_currency_that_is_not_an_iso_4217_code(currency: str) -> None:
    with pytest.raises(CurrencyMismatch):
        Money(100, currency)


def test_money_cannot_be_changed_once_made() -> None:
    money = Money(100, "INR")
    with pytest.raises(dataclasses.FrozenInstanceError):
        money.amount = 200  # type: ignore[misc]


def test_money_reads_as_minor_units_and_currency() -> None:
    assert str(Money(10_050, "INR")) == "10050 INR minor units"


@pytest.mark.parametrize("code", ["INR", "USD", "EUR"])
def test_three_capital_letters_are_a_currency_code(code: str) -> None:
    assert is_currency_code(code)


@pytest.mark.parametrize("code", ["inr", "Inr", "IN", "INRR", "", " INR", "I1R"])
def test_anything_else_is_not_a_currency_code(code: str) -> None:
    assert not is_currency_code(code)


def test_a_positive_whole_number_is_a_valid_amount() -> None:
    assert check_minor_units(1) == 1


def test_a_refund_amount_of_zero_is_refused() -> None:
    with pytest.raises(AmountInvalid) as refused:
        check_minor_units(0)
    assert refused.value.field == ("input", "amount")


def test_zero_is_a_valid_amount_where_zero_is_allowed() -> None:
    assert check_minor_units(0, positive=False) == 0


def test_a_negative_amount_is_refused_even_where_zero_is_allowed() -> None:
    with pytest.raises(AmountInvalid):
        check_minor_units(-1, positive=False)


@pytest.mark.parametrize("value", [1.0, True, "1", None, 2**53])
def test_check_minor_units_refuses_what_is_not_an_amount(value: object) -> None:
    with pytest.raises(AmountInvalid):
        check_minor_units(value)


@pytest.mark.parametrize("code", ["INR\n", "USD\n"])
def test_a_currency_code_with_a_trailing_newline_is_not_a_currency_code(code: str) -> None:
    assert not is_currency_code(code)


def test_money_refuses_a_currency_code_with_a_trailing_newline() -> None:
    with pytest.raises(CurrencyMismatch):
        Money(100, "INR\n")
