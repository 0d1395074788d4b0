"""The strawberry internals the compiled plans need, in one place, so that a strawberry upgrade
that changes them breaks this file (tests/api/test_strawberry_bridge.py) and nothing else."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema
from strawberry import Schema
from strawberry.schema.base import BaseSchema
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import convert_arguments
from strawberry.types.base import StrawberryObjectDefinition, get_object_definition
from strawberry.types.private import is_private


def graphql_schema(schema: BaseSchema) -> GraphQLSchema:
    """The graphql-core schema strawberry built (it has no public accessor for it)."""
    assert isinstance(schema, Schema)
    return schema._schema


def python_arguments(
    schema: BaseSchema, type_name: str, field_name: str, coerced: dict[str, Any]
) -> dict[str, Any]:
    """graphql-core's coerced arguments of a field as its strawberry resolver receives them:
    Python names, input objects as their strawberry classes (e.g. TransactionFilter)."""
    definition = schema.get_type_by_name(type_name)
    assert isinstance(definition, StrawberryObjectDefinition)
    field = next(
        f
        for f in definition.fields
        if schema.config.name_converter.get_graphql_name(f) == field_name
    )
    return convert_arguments(
        coerced,
        field.arguments,
        scalar_registry=schema.schema_converter.scalar_registry,
        config=schema.config,
    )


def plain_fields(strawberry_type: type) -> dict[str, str]:
    """GraphQL name -> Python name of each field of a strawberry type that has no resolver (its
    value is the attribute of that name), named as the schema's default config names them;
    `strawberry.Private` attributes are among the definition's fields and left out."""
    definition = get_object_definition(strawberry_type, strict=True)
    names = StrawberryConfig().name_converter
    return {
        names.get_graphql_name(f): f.python_name
        for f in definition.fields
        if f.base_resolver is None and not is_private(f.type)
    }


def type_name(strawberry_type: type) -> str:
    """The GraphQL name of a strawberry type."""
    return get_object_definition(strawberry_type, strict=True).name
