import pytest

from domain.errors import AmountInvalid
from domain.money import (
    MAX_MINOR_UNITS,
    check_minor_units,
    is_currency_code,
    major_units,
    minor_units,
)


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


def test_a_currency_code_with_a_trailing_newline_is_not_one() -> None:
    assert not is_currency_code("INR\n")


def test_the_largest_integer_a_json_number_carries_exactly_is_a_valid_amount() -> None:
    assert check_minor_units(2**53 - 1) == MAX_MINOR_UNITS


def test_rupees_are_read_exactly_as_paise() -> None:
    assert minor_units("123.45", "INR") == 12345
    assert minor_units("0.1", "INR") == 10
    assert minor_units("0.29", "INR") == 29  # 0.29 * 100 is 28.999999999999996 in floats
    assert minor_units("100", "INR") == 10000
    assert minor_units("90071992547409.91", "INR") == 9007199254740991
    assert minor_units("500", "JPY") == 500
    assert major_units(12345, "INR") == "123.45"
    assert major_units(5, "INR") == "0.05"


def test_a_currency_with_three_decimals_is_written_with_three() -> None:
    assert major_units(1_500, "KWD") == "1.500"
    assert minor_units("1.5", "KWD") == 1_500


@pytest.mark.parametrize("text", ["", "1e3", "-5", "12.", ".5", "1,000", "1.5 ", "NaN"])
def test_what_is_not_a_decimal_number_is_not_an_amount(text: str) -> None:
    with pytest.raises(ValueError, match="like 123.45"):
        minor_units(text, "INR")


@pytest.mark.parametrize(("text", "currency"), [("1.234", "INR"), ("1.5", "JPY")])
def test_more_decimals_than_the_currency_has_are_refused(text: str, currency: str) -> None:
    with pytest.raises(ValueError, match="more than"):
        minor_units(text, currency)
