"""The cost of an operation: how many objects its response can hold at most, in the spirit of
GitHub's node limit and Shopify's calculated query cost.

- Each object the response can hold costs 1; scalars and enums cost 0 (they come with their
  object, from the same row).
- A list's length is, for a connection's `edges`, the connection's `first` (or `last`): its
  value or variable, else its default, at most MAX_PAGE_SIZE (api/pagination.py refuses more);
  for a plain list (a transaction's refunds, a refund's events), LIST_LENGTH.
- Every alternative counts (fragments on several types of an interface): an upper bound.

So `transactions(first: 50) { edges { node { id refunds { id } } } }` costs
1 + 50 × (1 edge + 1 node + 10 refunds) = 601. Each fragment definition is costed once, in
dependency order (api/query_limits.py), and a spread adds its memoised cost: linear in the
document, whatever its fragments spread."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_introspection_query,
    get_named_type,
    get_nullable_type,
    graphql_sync,
    is_composite_type,
    is_list_type,
)
from graphql.utilities import get_operation_ast

from api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from api.query_limits import Definition, memoised, saturated, shown

LIST_LENGTH = 10  # a plain list's assumed length: few refunds per payment, few events per refund
PAGE_ARGUMENTS = ("first", "last")
INTROSPECTION = frozenset({"__schema", "__type"})
CODE = "QUERY_TOO_COMPLEX"


@lru_cache(maxsize=4)
def introspection_cost(schema: GraphQLSchema) -> int:
    """What `__schema` or `__type` costs, whatever it selects: the fields of a full
    introspection of this schema (GraphiQL's query; ~3,300 here). The model above would count
    every list of types, fields and arguments 10 long and refuse it; graphql-core's
    MaxIntrospectionDepthRule bounds what deeper nesting can add."""
    return _fields_in(graphql_sync(schema, get_introspection_query()).data)


def _fields_in(value: object) -> int:
    if isinstance(value, dict):
        return sum(1 + _fields_in(v) for v in value.values())
    if isinstance(value, list):
        return sum(_fields_in(v) for v in value)
    return 0


@dataclass(frozen=True, slots=True)
class Cost:
    """The objects a selection set holds for one parent object: `single` from its non-list
    fields, `listed` from one item of each of its list fields (the field owning the selection
    set says how long those lists are)."""

    single: int = 0
    listed: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(saturated(self.single + other.single), saturated(self.listed + other.listed))

    def total(self, list_length: int) -> int:
        return saturated(self.single + list_length * self.listed)


@dataclass(slots=True)
class CostWalk:
    """Costs one definition; `visits` counts the selections walked (the work done)."""

    schema: GraphQLSchema
    variables: dict[str, Any]
    fragments: dict[str, Cost]
    visits: int = 0

    def walk(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType) -> Cost:
        cost = Cost()
        for selection in selection_set.selections if selection_set else ():
            self.visits += 1
            if isinstance(selection, FragmentSpreadNode):
                cost += self.fragments.get(selection.name.value, Cost())
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                cost += self.walk(selection.selection_set, inner or parent)
            else:
                cost += self.field(selection, parent)  # type: ignore[arg-type]
        return cost

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> Cost:
        definition = (
            self.schema.get_field(parent, node.name.value) if is_composite_type(parent) else None
        )
        if definition is None:
            return Cost()  # unknown: validation has said so
        if node.name.value in INTROSPECTION:
            return Cost(single=introspection_cost(self.schema))
        inner = self.walk(node.selection_set, get_named_type(definition.type))
        objects = saturated(1 + inner.total(self.list_length(node, definition)))
        if is_list_type(get_nullable_type(definition.type)):
            return Cost(listed=objects)
        return Cost(single=objects)

    def list_length(self, node: FieldNode, definition: GraphQLField) -> int:
        """How long the lists directly in this field's selections are."""
        paged = [name for name in PAGE_ARGUMENTS if name in definition.args]
        if not paged:
            return LIST_LENGTH
        given = {argument.name.value: argument.value for argument in node.arguments or ()}
        sizes = [
            self.page_size(given.get(name), definition.args[name].default_value) for name in paged
        ]
        return max(0, min(max(sizes), MAX_PAGE_SIZE))

    def page_size(self, value: ValueNode | None, default: object) -> int:
        size: object = default
        if isinstance(value, VariableNode):
            size = self.variables.get(value.name.value, default)
        elif isinstance(value, IntValueNode):
            size = int(value.value)
        elif value is not None:  # null: the resolver's default page
            size = None
        if size is None:
            return DEFAULT_PAGE_SIZE
        # Anything but an integer is refused by coercion before anything runs.
        return size if type(size) is int else MAX_PAGE_SIZE


@dataclass(frozen=True, slots=True)
class OperationCost:
    cost: int
    visits: int  # selections walked to cost it: linear in the document


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: dict[str, Any] | None = None,
) -> OperationCost:
    """The cost of the operation a request runs; variables that are not given take their
    default in the document."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return OperationCost(0, 0)  # graphql-core reports which operation is missing
    values = {**_variable_defaults(operation), **(variables or {})}
    walks: list[CostWalk] = []

    def cost_of(definition: Definition, fragments: dict[str, Cost]) -> Cost:
        walks.append(walk := CostWalk(schema, values, fragments))
        if isinstance(definition, OperationDefinitionNode):
            root: GraphQLNamedType | None = schema.get_root_type(definition.operation)
        else:
            root = schema.get_type(definition.type_condition.name.value)
        return walk.walk(definition.selection_set, root) if root else Cost()

    fragments, operations = memoised(_just(document, operation), cost_of)
    cost = next(cost for op, cost in operations if op is operation)
    return OperationCost(cost.total(LIST_LENGTH), sum(walk.visits for walk in walks))


def _just(document: DocumentNode, operation: OperationDefinitionNode) -> DocumentNode:
    """The document with its fragments and this one operation."""
    kept = tuple(
        d
        for d in document.definitions
        if d is operation or not isinstance(d, OperationDefinitionNode)
    )
    return DocumentNode(definitions=kept)


def _variable_defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    return {
        definition.variable.name.value: int(definition.default_value.value)
        for definition in operation.variable_definitions or ()
        if isinstance(definition.default_value, IntValueNode)
    }


def cost_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    limit: int,
) -> list[GraphQLError]:
    cost = operation_cost(schema, document, operation_name, variables).cost
    if cost <= limit:
        return []
    return [
        GraphQLError(
            f"This query's cost is {shown(cost)}, over the limit of {limit:,}: it could return "
            "that many objects. Ask for smaller pages (first) or fewer nested lists.",
            extensions={"code": CODE, "cost": cost, "limit": limit},
        )
    ]


def worst_case_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None = None
) -> int:
    """The cost of the document's operation whatever its variables: every page at its largest
    (for documents checked once, before their requests: api/compiled, api/refunds/live_plans)."""
    operation = get_operation_ast(document, operation_name)
    largest = {
        definition.variable.name.value: MAX_PAGE_SIZE
        for definition in (operation.variable_definitions if operation else ()) or ()
    }
    return operation_cost(schema, document, operation_name, largest).cost
