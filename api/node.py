"""The Relay `Node` interface: anything with a global ID that `node(id:)` can fetch; and how a
GraphQL type is made from the domain value it shows."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Shown = TypeVar("Shown", bound="DataclassInstance")

_SETTABLE: dict[type, tuple[str, ...]] = {}


@strawberry.interface(description="An object with a global ID, fetchable with node(id:).")
class Node:
    id: strawberry.ID


def shown(graphql_type: type[Shown], value: object, **given: Any) -> Shown:
    """`graphql_type` showing `value`: each field `value` has by the same name as it is there,
    unless `given` (which sets the others, such as an encoded `id`)."""
    if graphql_type not in _SETTABLE:
        _SETTABLE[graphql_type] = tuple(f.name for f in dataclasses.fields(graphql_type) if f.init)
    same = {
        name: getattr(value, name)
        for name in _SETTABLE[graphql_type]
        if name not in given and hasattr(value, name)
    }
    return graphql_type(**same, **given)
