"""domain/values.py: one value made from another by its fields' names."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from domain.values import made_from


@dataclass(frozen=True)
class Order:
    id: int
    amount: int
    currency: str
    details: str


@dataclass(frozen=True)
class Request:
    key: str
    amount: int
    currency: str
    seen: int = field(default=0, init=False)


def test_the_fields_of_the_same_name_are_copied_and_the_others_given() -> None:
    made = made_from(Request, Order(7, 100, "INR", "x"), key="k-7")
    assert made == Request("k-7", 100, "INR")


def test_what_is_given_wins_over_the_field_of_the_same_name() -> None:
    made = made_from(Request, Order(7, 100, "INR", "x"), key="k", amount=5)
    assert made.amount == 5
    # and again, from what was worked out the first time
    assert made_from(Request, Order(8, 200, "INR", "y"), key="k", amount=6).amount == 6


def test_a_field_neither_shared_nor_given_is_refused() -> None:
    with pytest.raises(TypeError):
        made_from(Request, Order(7, 100, "INR", "x"))
