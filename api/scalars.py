"""Custom scalars: MinorUnits (exact money), DateTime (always with an offset), JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NewType

import strawberry
from graphql import GraphQLError, IntValueNode, ValueNode

from domain.money import MAX_MINOR_UNITS

MINOR_UNITS_DESCRIPTION = (
    "An amount in the currency's minor unit (paise for INR) as a JSON integer from 0 to "
    "2^53-1. Never a float, never a string."
)


def parse_minor_units(value: Any) -> int:
    # bool is an int in Python; a float such as 100.0 is refused too: money is never a float.
    if isinstance(value, bool) or not isinstance(value, int):
        raise GraphQLError(
            f"MinorUnits must be a JSON integer of minor units (e.g. 10050 for ₹100.50), "
            f"not {value!r}."
        )
    if not 0 <= value <= MAX_MINOR_UNITS:
        raise GraphQLError(f"MinorUnits must be between 0 and {MAX_MINOR_UNITS}; got {value}.")
    return value


def parse_minor_units_literal(node: ValueNode, _variables: Any = None) -> int:
    if not isinstance(node, IntValueNode):
        raise GraphQLError("MinorUnits must be an integer literal of minor units, e.g. 10050.")
    return parse_minor_units(int(node.value))


MinorUnits = NewType("MinorUnits", int)

# Bound to `MinorUnits` and `datetime` through the schema's `scalar_map`.
MinorUnitsScalar = strawberry.scalar(
    name="MinorUnits",
    description=MINOR_UNITS_DESCRIPTION,
    serialize=int,
    parse_value=parse_minor_units,
    parse_literal=parse_minor_units_literal,
)


def serialize_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


class NotAnInstant(ValueError):
    """The text is not an ISO 8601 date and time with an offset, between years 1 and 9999 in
    UTC; the message says which."""


def parse_instant(text: str) -> datetime:
    """An aware datetime that converts to UTC, as every query compares in UTC (asyncpg)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise NotAnInstant("is not ISO 8601, e.g. 2026-11-26T10:00:00+05:30") from None
    if parsed.tzinfo is None:
        raise NotAnInstant("needs an offset (Z or +05:30)")
    try:
        parsed.astimezone(UTC)  # 0001-01-01T00:00+05:30 is before year 1 in UTC
    except OverflowError:
        raise NotAnInstant("is outside years 1 to 9999 in UTC") from None
    return parsed


def parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise GraphQLError(f"DateTime must be an ISO 8601 string with an offset, not {value!r}.")
    try:
        return parse_instant(value)
    except NotAnInstant as error:
        raise GraphQLError(f"DateTime {value[:64]!r} {error}.") from None


DateTimeScalar = strawberry.scalar(
    name="DateTime",
    description="An ISO 8601 date and time with an offset, e.g. 2026-11-26T10:00:00+05:30.",
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)
