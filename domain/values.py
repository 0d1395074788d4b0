"""One value made from another by its fields' names: a GraphQL type from the entity it shows
(api/), a payout request from the work order it carries out (processor/)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Made = TypeVar("Made", bound="DataclassInstance")

# (type made, type made from, names given) -> the other fields they share by name
_SHARED: dict[tuple[type, type, tuple[str, ...]], tuple[str, ...]] = {}


def made_from(made: type[Made], value: DataclassInstance, **given: Any) -> Made:
    """`made` with each field `value` has by the same name as it is there, unless `given`
    (which sets the others)."""
    key = (made, type(value), tuple(given))
    names = _SHARED.get(key)
    if names is None:
        theirs = {f.name for f in dataclasses.fields(value)}
        names = _SHARED[key] = tuple(
            f.name
            for f in dataclasses.fields(made)
            if f.init and f.name in theirs and f.name not in given
        )
    return made(**{name: getattr(value, name) for name in names}, **given)
