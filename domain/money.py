"""Money is an integer count of a currency's minor unit (paise for INR) plus the currency.

Floats never enter: they cannot hold 0.1 exactly, and a refunds ledger must explain every paisa.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.errors import AmountInvalid, CurrencyMismatch

# The largest integer a JSON number (an IEEE double) carries exactly: clients in JavaScript
# must read back what they sent.
MAX_MINOR_UNITS = 2**53 - 1

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")  # fullmatch: `$` would let "INR\n" through


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


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency. Arithmetic across currencies is refused."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        check_minor_units(self.amount, positive=False)
        if not is_currency_code(self.currency):
            raise CurrencyMismatch(f"{self.currency!r} is not an ISO 4217 currency code.")

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"Cannot combine {self.currency} with {other.currency}: convert first."
            )

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} minor units"


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
