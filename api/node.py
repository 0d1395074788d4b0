"""The Relay `Node` interface: anything with a global ID that `node(id:)` can fetch; and how a
GraphQL type is made from the domain value it shows."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Shown = TypeVar("Shown", bound="DataclassInstance")

# (GraphQL type, domain type, names given) -> the other fields they share by name
_SHARED: dict[tuple[type, type, tuple[str, ...]], tuple[str, ...]] = {}


@strawberry.interface(description="An object with a global ID, fetchable with node(id:).")
class Node:
    id: strawberry.ID


def shown(graphql_type: type[Shown], value: DataclassInstance, **given: Any) -> Shown:
    """`graphql_type` showing `value`: each field `value` has by the same name as it is there,
    unless `given` (which sets the others, such as an encoded `id`)."""
    key = (graphql_type, type(value), tuple(given))
    names = _SHARED.get(key)
    if names is None:
        theirs = {f.name for f in dataclasses.fields(value)}
        names = _SHARED[key] = tuple(
            f.name
            for f in dataclasses.fields(graphql_type)
            if f.init and f.name in theirs and f.name not in given
        )
    return graphql_type(**{name: getattr(value, name) for name in names}, **given)
