"""Compiling a trusted query document into a plan, against the strawberry schema's own
GraphQL types: every field is looked up in the schema (its type says list or not, and which
serializer its leaves use, the very one execution calls), then in `fields.SPECS`.

A document that uses anything the plan does not model (fragments, directives, unions, a field
without a Spec, a filter argument) raises `Unsupported` at compile time; a request whose
variables or arguments would make strawberry report an error raises `Fallback` at run time.
Both mean: let plain strawberry execution answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    get_nullable_type,
    is_list_type,
    is_non_null_type,
)
from graphql.execution.values import get_argument_values, get_variable_values

from api import ids
from api.fastpath.fields import SPECS, Page, Spec, State, no_filter
from api.fastpath.render import Render, compile_render
from api.pagination import page_size, parse_newest_first_cursor


class Unsupported(Exception):
    """The document uses something the plan does not model."""


class Fallback(Exception):
    """This request must go through plain strawberry execution (it would report an error)."""


@dataclass(frozen=True)
class Field:
    key: str  # the response key: alias or name
    spec: Spec
    child: Selection | None
    is_list: bool
    named: Any  # the field's named GraphQL type (its leaves' serializer)
    nullable: bool


@dataclass(frozen=True)
class Selection:
    fields: tuple[Field, ...]
    render: Render  # (object, state) -> its JSON object


def _typename(name: str) -> Spec:
    return Spec(lambda _o, _s: name)


def compile_selection(parent: GraphQLObjectType, node: Any) -> Selection:
    specs = SPECS.get(parent.name)
    out: list[Field] = []
    for sel in node.selections:
        if not isinstance(sel, FieldNode) or sel.directives:
            raise Unsupported(f"{type(sel).__name__} in {parent.name}")
        name, key = sel.name.value, (sel.alias or sel.name).value
        if any(f.key == key for f in out):
            raise Unsupported(f"{key} selected twice in {parent.name}")
        if name == "__typename":
            out.append(Field(key, _typename(parent.name), None, False, GraphQLString, False))
            continue
        if specs is None or name not in specs or sel.arguments:
            raise Unsupported(f"{parent.name}.{name}")
        field_type = parent.fields[name].type
        named = get_named_type(field_type)
        child = None
        if isinstance(named, GraphQLObjectType):
            child = compile_selection(named, sel.selection_set)
        elif sel.selection_set is not None or not hasattr(named, "serialize"):
            raise Unsupported(f"{parent.name}.{name}")
        is_list = is_list_type(get_nullable_type(field_type))
        if is_list and child is None:
            raise Unsupported(f"list of leaves at {parent.name}.{name}")
        out.append(Field(key, specs[name], child, is_list, named, not is_non_null_type(field_type)))
    return Selection(tuple(out), compile_render(tuple(out)))


# -- root fields: (arguments, state) -> the root value, or None for null -------------------------


async def _transactions(args: dict[str, Any], state: State) -> Page:
    if args.get("filter") is not None:
        raise Fallback("filters are not planned")
    try:
        size = page_size(args.get("first"))
        after = parse_newest_first_cursor(args.get("after"))
    except GraphQLError:
        raise Fallback("bad first or after") from None
    reads, merchant_id = state.reads, state.merchant_id
    items = list(await reads.transactions(merchant_id, no_filter(), limit=size + 1, after=after))
    for t in items:  # as the resolver primes its loader
        state.transactions[t.id] = t
    return Page(items, size, lambda: reads.transaction_count(merchant_id, no_filter()))


async def _transaction(args: dict[str, Any], state: State) -> Any:
    key = ids.decode_uuid(ids.TRANSACTION, args["id"])
    if key is None:
        return None
    if key not in state.transactions:
        found = await state.reads.transactions_by_id(state.merchant_id, [key])
        state.transactions[key] = found[0]
    return state.transactions[key]


async def _refund(args: dict[str, Any], state: State) -> Any:
    key = ids.decode_uuid(ids.REFUND, args["id"])
    if key is None:
        return None
    return (await state.reads.refunds_by_id(state.merchant_id, [key]))[0]


ROOTS: dict[str, Callable[[dict[str, Any], State], Awaitable[Any]]] = {
    "transactions": _transactions,
    "transaction": _transaction,
    "refund": _refund,
}


@dataclass(frozen=True)
class Root:
    key: str
    resolve: Callable[[dict[str, Any], State], Awaitable[Any]]
    field_def: GraphQLField
    node: FieldNode
    selection: Selection


@dataclass(frozen=True)
class Plan:
    """One trusted operation, ready to run."""

    name: str | None
    schema: GraphQLSchema
    operation: OperationDefinitionNode
    roots: tuple[Root, ...]

    def arguments(self, variables: dict[str, Any]) -> list[dict[str, Any]]:
        coerced = get_variable_values(
            self.schema, self.operation.variable_definitions or (), variables
        )
        if isinstance(coerced, list):
            raise Fallback("variables do not coerce")
        try:
            return [get_argument_values(r.field_def, r.node, coerced) for r in self.roots]
        except GraphQLError:
            raise Fallback("arguments do not coerce") from None


def compile_operation(schema: GraphQLSchema, operation: OperationDefinitionNode) -> Plan:
    if operation.operation is not OperationType.QUERY or operation.directives:
        raise Unsupported("only queries are planned")
    query_type = schema.query_type
    assert query_type is not None
    roots = []
    for sel in operation.selection_set.selections:
        if not isinstance(sel, FieldNode) or sel.directives or sel.name.value not in ROOTS:
            raise Unsupported(f"root {getattr(getattr(sel, 'name', None), 'value', sel)}")
        field_def = query_type.fields[sel.name.value]
        named = get_named_type(field_def.type)
        assert isinstance(named, GraphQLObjectType)
        roots.append(
            Root(
                (sel.alias or sel.name).value,
                ROOTS[sel.name.value],
                field_def,
                sel,
                compile_selection(named, sel.selection_set),
            )
        )
    if len({r.key for r in roots}) != len(roots):
        raise Unsupported("a root key twice")
    name = operation.name.value if operation.name else None
    return Plan(name, schema, operation, tuple(roots))
