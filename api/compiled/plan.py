"""Compiling a read operation into a plan, against the strawberry schema's own GraphQL types.

Fields are collected by graphql-core's own `collect_fields`/`collect_subfields`, the functions
execution calls: fragments, inline fragments, type conditions, @include/@skip and merged
selections mean exactly what they mean to strawberry. Each collected field is looked up in the
schema (its type says list or not, and which serializer its leaves use) and then in
`fields.SPECS`. @include/@skip depend on variables, so a plan holds one compiled variant per
value of the variables its directives name.

What the plan does not model (a field without a Spec, an argument below the root, introspection,
@defer) raises `Unsupported`; a request that would make strawberry report an error raises
`fields.Fallback` at run time. Both mean: let plain strawberry execution answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    is_list_type,
    is_non_null_type,
    visit,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.schema.base import BaseSchema

from api.batches.types import RefundBatchType
from api.compiled.fields import SPECS, WITH_ARGUMENTS, Fallback, Spec, State
from api.compiled.render import Render, compile_render
from api.compiled.roots import ROOTS
from api.compiled.strawberry_bridge import graphql_schema, python_arguments, type_name
from api.webhooks.types import WebhookDeliveryType, WebhookEndpointType
from db.compiled_sql import Const
from domain.model import ApiKey, Merchant, Refund, Transaction

# The runtime GraphQL type of each value an abstract field (node) can return.
TYPE_OF_VALUE: dict[type, str] = {
    Transaction: "Transaction",
    Refund: "Refund",
    Merchant: "Merchant",
    ApiKey: "ApiKey",
    # the strawberry types' own objects (api/compiled/fields.py WEBHOOKS_BATCHES_SUMMARY)
    **{t: type_name(t) for t in (WebhookEndpointType, WebhookDeliveryType, RefundBatchType)},
}
# Distinct @include/@skip outcomes kept per plan; past it each new one is compiled per request.
MAX_VARIANTS = 16


class Unsupported(Exception):
    """The operation uses something the plan does not model."""


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


@dataclass(frozen=True)
class Root:
    key: str
    name: str
    resolve: Callable[[dict[str, Any], State], Awaitable[Any]] | None  # None: __typename
    field_def: GraphQLField | None
    node: FieldNode
    selections: dict[str, Selection]  # by the runtime type's name
    abstract: bool  # the field's type is an interface (node): pick by the value's type
    is_list: bool = False  # a list of one object type (webhookEndpoints)

    def selection_for(self, value: Any) -> Selection | None:
        if self.abstract:
            return self.selections.get(TYPE_OF_VALUE[type(value)])
        return next(iter(self.selections.values()))


def _items_non_null(list_type: Any) -> bool:
    return is_non_null_type(get_nullable_type(list_type).of_type)


def _constant(value: str) -> Spec:
    return Spec(lambda _o, _s: value, sql=Const(value))


class _Compiler:
    def __init__(self, plan: Plan, variables: VariableValues) -> None:
        self.plan, self.variables = plan, variables

    def collected(self, parent: GraphQLObjectType, details: list[FieldDetails]) -> Any:
        found = collect_subfields(
            self.plan.schema,
            self.plan.fragments,
            self.variables,
            self.plan.operation,
            parent,
            details,
        )
        if found.new_defer_usages or found.forbidden_directive_instances:
            raise Unsupported("@defer")
        return found.grouped_field_set

    def spec(self, parent: GraphQLObjectType, name: str, node: FieldNode) -> Spec:
        bound = WITH_ARGUMENTS.get(parent.name, {}).get(name)
        if bound is not None:
            return bound(self.arguments_of(parent, name, node))
        spec = SPECS.get(parent.name, {}).get(name)
        if spec is None or node.arguments:
            raise Unsupported(f"{parent.name}.{name}")
        return spec

    def arguments_of(
        self, parent: GraphQLObjectType, name: str, node: FieldNode
    ) -> Callable[[State], dict[str, Any]]:
        field_def, schema = parent.fields[name], self.plan.strawberry_schema

        def arguments(state: State) -> dict[str, Any]:
            try:
                coerced = get_argument_values(field_def, node, state.variables)
            except GraphQLError:
                raise Fallback("arguments do not coerce") from None
            return python_arguments(schema, parent.name, name, coerced)

        return arguments

    def selection(self, parent: GraphQLObjectType, details: list[FieldDetails]) -> Selection:
        out: list[Field] = []
        for key, group in self.collected(parent, details).items():
            name = group[0].node.name.value
            if name == "__typename":
                out.append(Field(key, _constant(parent.name), None, False, GraphQLString, False))
                continue
            spec = self.spec(parent, name, group[0].node)
            field_type = parent.fields[name].type
            named = get_named_type(field_type)
            child = None
            if isinstance(named, GraphQLObjectType):
                child = self.selection(named, group)
            elif not hasattr(named, "serialize"):
                raise Unsupported(f"{parent.name}.{name}: abstract")
            is_list = is_list_type(get_nullable_type(field_type))
            if child is None and is_list and not _items_non_null(field_type):
                raise Unsupported(f"{parent.name}.{name}: a list of nullable leaves")
            nullable = not is_non_null_type(field_type)
            out.append(Field(key, spec, child, is_list, named, nullable))
        return Selection(tuple(out), compile_render(tuple(out)))

    def selections(self, named: Any, group: list[FieldDetails]) -> dict[str, Selection]:
        if isinstance(named, GraphQLObjectType):
            return {named.name: self.selection(named, group)}
        assert isinstance(named, GraphQLInterfaceType)
        return {
            t.name: self.selection(t, group)
            for t in self.plan.schema.get_possible_types(named)
            if t.name in TYPE_OF_VALUE.values()
        }

    def roots(self) -> tuple[Root, ...]:
        schema, query_type = self.plan.schema, self.plan.schema.query_type
        assert query_type is not None
        found = collect_fields(
            schema, self.plan.fragments, self.variables, query_type, self.plan.operation
        )
        if found.new_defer_usages or found.forbidden_directive_instances:
            raise Unsupported("@defer")
        roots = []
        for key, group in found.grouped_field_set.items():
            node = group[0].node
            name = node.name.value
            if name == "__typename":
                roots.append(Root(key, name, None, None, node, {}, abstract=False))
                continue
            if name not in ROOTS:
                raise Unsupported(f"Query.{name}")
            field_def = query_type.fields[name]
            named = get_named_type(field_def.type)
            selections = self.selections(named, group)
            abstract = isinstance(named, GraphQLInterfaceType)
            is_list = is_list_type(get_nullable_type(field_def.type))
            roots.append(
                Root(key, name, ROOTS[name], field_def, node, selections, abstract, is_list)
            )
        return tuple(roots)


class _DirectiveVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_directive(self, node: DirectiveNode, *_args: Any) -> None:
        for argument in node.arguments or ():
            if isinstance(argument.value, VariableNode):
                self.names.add(argument.value.name.value)


@dataclass
class Plan:
    """One read operation of one document, ready to run."""

    name: str | None
    schema: GraphQLSchema
    strawberry_schema: BaseSchema
    document: DocumentNode
    operation: OperationDefinitionNode
    check_cost: bool  # its worst case is over the limit: check each request's variables
    fragments: dict[str, FragmentDetails] = field(init=False)
    directive_variables: tuple[str, ...] = field(init=False)
    # a variant that does not compile is kept as the reason (a str), not as the exception and
    # the frames its traceback holds
    variants: dict[tuple[Any, ...], tuple[Root, ...] | str] = field(default_factory=dict)
    # each variant's single statements by its roots' argument shapes (api/compiled/sql.py)
    statements: dict[Any, str] = field(default_factory=dict)
    # a request's variables (their JSON) -> its statement, values and list counters
    bound: dict[bytes, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fragments = {
            d.name.value: FragmentDetails(d)
            for d in self.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        found = _DirectiveVariables()
        visit(self.document, found)
        self.directive_variables = tuple(sorted(found.names))

    def coerce(self, variables: dict[str, Any]) -> VariableValues:
        coerced = get_variable_values(
            self.schema, self.operation.variable_definitions or (), variables
        )
        if isinstance(coerced, list):
            raise Fallback("variables do not coerce")
        return coerced

    def variant_key(self, variables: VariableValues) -> tuple[Any, ...]:
        return tuple(variables.coerced.get(n) for n in self.directive_variables)

    def roots(self, variables: VariableValues) -> tuple[Root, ...]:
        """The compiled variant for these variables' @include/@skip outcomes."""
        key = self.variant_key(variables)
        found = self.variants.get(key)
        if found is None:
            try:
                found = _Compiler(self, variables).roots()
            except Unsupported as unsupported:
                found = str(unsupported)
            if len(self.variants) < MAX_VARIANTS:
                self.variants[key] = found
        if isinstance(found, str):
            raise Fallback(found)
        return found

    def arguments(self, root: Root, variables: VariableValues) -> dict[str, Any]:
        assert root.field_def is not None
        try:
            coerced = get_argument_values(root.field_def, root.node, variables)
        except GraphQLError:
            raise Fallback("arguments do not coerce") from None
        return python_arguments(self.strawberry_schema, "Query", root.name, coerced)


def compile_operation(
    schema: BaseSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    check_cost: bool,
) -> Plan:
    if operation.operation is not OperationType.QUERY:
        raise Unsupported("only queries are compiled")
    name = operation.name.value if operation.name else None
    return Plan(name, graphql_schema(schema), schema, document, operation, check_cost)
