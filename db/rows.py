"""Rows to domain values, used by repositories and read queries.

A domain dataclass is made from a row by its fields' names, so its fields are the one list of
the columns it is read from: `columns` selects them from a table, `record` builds the value.
A field typed with an enum (optional, or a tuple of them) is stored as the enum's values."""

from __future__ import annotations

import dataclasses
import enum
import types
from collections.abc import Callable
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from sqlalchemy import ColumnElement, Table

from domain.model import LedgerEntry, Merchant, Refund, RefundEvent, Transaction

Value = TypeVar("Value")
Convert = Callable[[Any], Any]


def names(cls: type) -> tuple[str, ...]:
    """The names of the fields a dataclass is made with, in its order."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def columns(
    table: Table, cls: type, **elsewhere: str | ColumnElement[Any]
) -> tuple[ColumnElement[Any], ...]:
    """The columns of `table` that `cls` is made of, in its fields' order. `elsewhere` gives a
    field's column where it is not the table's column of that name: another column of the table
    (by name) or of a joined one; it is then labelled with the field's name."""
    return tuple(
        _labelled(table, elsewhere[name], name) if name in elsewhere else table.c[name]
        for name in names(cls)
    )


def _labelled(table: Table, column: str | ColumnElement[Any], name: str) -> ColumnElement[Any]:
    return (table.c[column] if isinstance(column, str) else column).label(name)


def record(cls: type[Value], r: Any, prefix: str = "") -> Value:
    """`cls` from a mapping by column name (`prefix` and the field's name): an asyncpg record as
    it is, a SQLAlchemy row through `row._mapping`."""
    return cls(*[_value(convert, r[prefix + name]) for name, convert in _fields(cls)])


def values(value: Any) -> dict[str, Any]:
    """A dataclass's fields by name as they are stored: enum members as their values."""
    return {
        name: stored.value if isinstance(stored := getattr(value, name), enum.Enum) else stored
        for name in names(type(value))
    }


def _value(convert: Convert | None, stored: Any) -> Any:
    return stored if convert is None or stored is None else convert(stored)


_FIELDS: dict[type, tuple[tuple[str, Convert | None], ...]] = {}


def _fields(cls: type) -> tuple[tuple[str, Convert | None], ...]:
    """Each field's name and converter, worked out once per class."""
    if cls not in _FIELDS:
        hints = get_type_hints(cls)
        _FIELDS[cls] = tuple((name, _converter(hints[name])) for name in names(cls))
    return _FIELDS[cls]


def _converter(hint: Any) -> Convert | None:
    """How a stored value becomes the field's: enum values to members; None: as stored."""
    if isinstance(hint, types.UnionType):  # `X | None`
        [hint] = [arm for arm in get_args(hint) if arm is not type(None)]
    if get_origin(hint) is tuple:
        member = _converter(get_args(hint)[0])
        return None if member is None else lambda stored: tuple(map(member, stored))
    return hint if isinstance(hint, type) and issubclass(hint, enum.Enum) else None


def merchant(row: Any) -> Merchant:
    return record(Merchant, row._mapping)


def transaction(row: Any) -> Transaction:
    return record(Transaction, row._mapping)


def refund(row: Any) -> Refund:
    return record(Refund, row._mapping)


def refund_event(row: Any) -> RefundEvent:
    return record(RefundEvent, row._mapping)


def ledger_entry(row: Any) -> LedgerEntry:
    return record(LedgerEntry, row._mapping)


def merchant_record(r: Any) -> Merchant:
    return record(Merchant, r)


def transaction_record(r: Any) -> Transaction:
    return record(Transaction, r)


def ledger_entry_record(r: Any) -> LedgerEntry:
    return record(LedgerEntry, r)


def refund_record(r: Any) -> Refund:
    return record(Refund, r)


def refund_event_record(r: Any) -> RefundEvent:
    return record(RefundEvent, r)
