"""Money is an integer count of a currency's minor unit (paise for INR) beside its currency code.

Floats never enter: they cannot hold 0.1 exactly, and a refunds ledger must explain every paisa.
Amounts in major units (`123.45` rupees), as CSV files carry them, are read and written here
exactly, with Decimal.
"""

from __future__ import annotations

import re
from decimal import Decimal

from domain.errors import AmountInvalid

# The largest integer a JSON number (an IEEE double) carries exactly: clients in JavaScript
# must read back what they sent.
MAX_MINOR_UNITS = 2**53 - 1

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")  # fullmatch: `$` would let "INR\n" through
_DECIMAL = re.compile(r"(\d+)(?:\.(\d+))?")


def is_currency_code(code: str) -> bool:
    """An ISO 4217 alphabetic code: three capital letters."""
    return bool(_CURRENCY_CODE.fullmatch(code))


def check_minor_units(value: object, *, positive: bool = True) -> int:
    """Return `value` as minor units, or raise AmountInvalid saying why it is not one."""
    # bool is a subclass of int in Python; `True` is not an amount.
    if isinstance(value, bool) or not isinstance(value, int):
        raise AmountInvalid(f"An amount is a whole number of minor units, not {value!r}.")
    if value < 0 or (positive and value == 0):
        raise AmountInvalid(
            f"An amount must be {'greater than' if positive else 'at least'} 0; got {value}."
        )
    if value > MAX_MINOR_UNITS:
        raise AmountInvalid(f"An amount must not exceed {MAX_MINOR_UNITS}; got {value}.")
    return value


# ISO 4217 minor-unit digits of the currencies that do not have two (two is the rule).
_MINOR_UNIT_DIGITS = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "BHD": 3,
    "JOD": 3,
    "KWD": 3,
    "OMR": 3,
    "TND": 3,
}


def minor_unit_digits(currency: str) -> int:
    """How many decimals the currency's major unit has: 2 for INR (100 paise to the rupee)."""
    return _MINOR_UNIT_DIGITS.get(currency, 2)


def minor_units(text: str, currency: str) -> int:
    """`123.45` rupees as 12345 paise; ValueError saying why when it is not an amount."""
    found = _DECIMAL.fullmatch(text)
    digits = minor_unit_digits(currency)
    if found is None:
        raise ValueError(f"amount must be a number of {currency} like 123.45; got {text!r}.")
    if found.group(2) is not None and len(found.group(2)) > digits:
        raise ValueError(f"amount has more than {digits} decimals for {currency}: {text!r}.")
    return int(Decimal(text).scaleb(digits))


def major_units(amount: int, currency: str) -> str:
    """12345 paise as `123.45`."""
    digits = minor_unit_digits(currency)
    return f"{Decimal(amount).scaleb(-digits):.{digits}f}"
