"""A plan's roots as ONE statement in which PostgreSQL builds the whole answer (db/compiled_sql.py
writes it; each field's part is the `sql` of its Spec in fields.py). The statement's text depends
on the plan variant and on each root's arguments' shape (which filters are given, `after` or not,
the type behind `node(id:)`), so it is written once per shape and kept with the plan; a request
sends only its values. A selection with a field that has no SQL, or a shape not written here,
runs the plan's reads in Python instead (api/compiled/__init__.py)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import fields
from enum import Enum
from typing import Any
from uuid import UUID

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLScalarType,
    GraphQLString,
)
from graphql.execution.values import VariableValues

from api import ids
from api.compiled.fields import Fallback
from api.compiled.plan import Plan, Root, Selection
from api.compiled.roots import page_bounds
from db import compiled_sql as sql
from db.queries import RefundFilter, TransactionFilter

# Leaves PostgreSQL writes as the strawberry path does: text, integers, booleans as they are.
AS_STORED = {GraphQLString.name, GraphQLID.name, GraphQLInt.name, GraphQLBoolean.name, "MinorUnits"}

Values = list[Any]
Writer = Callable[[sql.Statement], str]
# A root's arguments -> the shape of its SQL (part of the statement's key), its parameters' values,
# how to write it and the selection it answers with; None: not written as SQL.
Bound = tuple[Hashable, Values, Writer, Selection | None]


def _leaf(value: str, named: Any) -> str:
    if isinstance(named, GraphQLEnumType):
        if any(str(v.value) != name for name, v in named.values.items()):
            raise sql.NotInSql(f"{named.name}: stored values are not its names")
        return value
    if isinstance(named, GraphQLScalarType) and named.name == "DateTime":
        return sql.iso(value)
    if isinstance(named, GraphQLScalarType) and named.name in AS_STORED:
        return value
    raise sql.NotInSql(f"leaf {named}")


def _child_of(st: sql.Statement, child: Selection) -> sql.Child:
    return lambda alias: selection_sql(st, child, alias)


def selection_sql(st: sql.Statement, selection: Selection, alias: str) -> str:
    pairs = []
    for field in selection.fields:
        found = field.spec.sql
        if found is None:
            raise sql.NotInSql(field.key)
        child = field.child
        if child is None:
            pairs.append((field.key, _leaf(found.sql(st, alias, None), field.named)))
        else:
            pairs.append((field.key, found.sql(st, alias, _child_of(st, child))))
    return sql.obj(pairs)


def _db_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_db_value(v) for v in value]
    return value


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, list | tuple) and not value)


def _connection(
    table: str, filters: dict[str, sql.Predicate], query: Any, args: dict[str, Any], root: Root
) -> Bound | None:
    """None when the request uses a filter the statement does not write (it is read in Python):
    a filter added to db/queries.py is never silently dropped here."""
    if any(_given(getattr(query, f.name)) for f in fields(query) if f.name not in filters):
        return None
    size, after = page_bounds(args)
    predicates: list[sql.Predicate] = []
    values: Values = []
    for attr, predicate in filters.items():
        value = getattr(query, attr)
        if not _given(value):
            continue
        predicates.append(predicate)
        values.append(_db_value(value))
    if after is not None:
        values.extend(after)
    selection = _only(root)
    paged = after is not None

    def write(st: sql.Statement) -> str:
        return sql.page(
            st, table, predicates, size, paged, lambda p: selection_sql(st, selection, p)
        )

    return (tuple(predicates), size, paged), values, write, selection


def transactions(args: dict[str, Any], root: Root) -> Bound | None:
    found = args.get("filter")
    query = found.to_query() if found is not None else TransactionFilter()
    return _connection("transactions", sql.TRANSACTION_FILTER, query, args, root)


def refunds(args: dict[str, Any], root: Root) -> Bound | None:
    found = args.get("filter")
    query = found.to_query() if found is not None else RefundFilter()
    return _connection("refunds", sql.REFUND_FILTER, query, args, root)


def _null(st: sql.Statement) -> str:
    return "NULL"


NULL: Bound = ("null", [], _null, None)


def _one(table: str, key: UUID | None, selection: Selection | None) -> Bound | None:
    if key is None:
        return NULL
    if selection is None:
        return None

    def write(st: sql.Statement) -> str:
        return sql.by_id(st, table, lambda a: selection_sql(st, selection, a))

    return table, [key], write, selection


def _only(root: Root) -> Selection:
    return next(iter(root.selections.values()))


def transaction(args: dict[str, Any], root: Root) -> Bound | None:
    return _one("transactions", ids.decode_uuid(ids.TRANSACTION, args["id"]), _only(root))


def refund(args: dict[str, Any], root: Root) -> Bound | None:
    return _one("refunds", ids.decode_uuid(ids.REFUND, args["id"]), _only(root))


def _viewer(selection: Selection, asked: UUID | None = None) -> Bound:
    def write(st: sql.Statement) -> str:
        obj_of = lambda a: selection_sql(st, selection, a)  # noqa: E731
        return sql.the_merchant(st, obj_of, asked is not None)

    if asked is None:
        return "viewer", [], write, selection
    return "merchant", [asked], write, selection


def viewer(_args: dict[str, Any], root: Root) -> Bound | None:
    return _viewer(_only(root))


NODE_TABLES = {ids.TRANSACTION: ("transactions", "Transaction"), ids.REFUND: ("refunds", "Refund")}


def node(args: dict[str, Any], root: Root) -> Bound | None:
    prefix = ids.prefix_of(args["id"])
    key = ids.decode_uuid(prefix, args["id"]) if prefix else None
    if key is None:
        return NULL
    if prefix == ids.MERCHANT:  # the caller's own only: compared in the statement
        selection = root.selections.get("Merchant")
        return None if selection is None else _viewer(selection, key)
    if prefix not in NODE_TABLES:
        return None  # API keys, and what the plans do not compile: in Python
    table, type_name = NODE_TABLES[prefix]
    bound = _one(table, key, root.selections.get(type_name))
    return None if bound is None else ((prefix, bound[0]), *bound[1:])


ROOTS: dict[str, Callable[[dict[str, Any], Root], Bound | None]] = {
    "viewer": viewer,
    "node": node,
    "transaction": transaction,
    "transactions": transactions,
    "refund": refund,
    "refunds": refunds,
}


Counters = tuple[tuple[str, Callable[[Any], int]], ...]  # by the roots' response keys
NOT_IN_SQL = "not in SQL"
# Statements kept per plan (one per shape of its roots' arguments); past it, written per request.
MAX_STATEMENTS = 32


def _write(roots: list[tuple[str, Writer | None]]) -> str:
    st = sql.Statement()
    return sql.answer([(key, "'Query'" if w is None else w(st)) for key, w in roots])


Bind = tuple[str, Values, Counters]


def bind(plan: Plan, roots: tuple[Root, ...], variables: VariableValues) -> Bind | None:
    """The plan's statement for these variables, its values after the merchant's ($1), and how
    to count the answer's list items; the same for every merchant. None: the plan reads in
    Python. Raises Fallback as the Python reads would (strawberry answers)."""
    shapes: list[Hashable] = []
    values: Values = []
    writers: list[tuple[str, Writer | None]] = []
    counters = []
    for root in roots:
        if root.resolve is None:  # __typename
            shapes.append(None)
            writers.append((root.key, None))
            continue
        written = ROOTS.get(root.name)
        if written is None:  # a root without a statement here: the plan reads in Python
            return None
        bound = written(plan.arguments(root, variables), root)
        if bound is None:
            return None
        shape, root_values, writer, selection = bound
        shapes.append(shape)
        values.extend(root_values)
        writers.append((root.key, writer))
        counter = None if selection is None else list_counter(selection)
        if counter is not None:
            counters.append((root.key, counter))
    key = (plan.variant_key(variables), tuple(shapes))
    found = plan.statements.get(key)
    if found is None:
        try:
            found = _write(writers)
        except sql.NotInSql:
            found = NOT_IN_SQL
        if len(plan.statements) < MAX_STATEMENTS:
            plan.statements[key] = found
    if found is NOT_IN_SQL:
        return None
    return found, values, tuple(counters)


def list_counter(selection: Selection) -> Callable[[Any], int] | None:
    """Counts the items of the answer's object lists as the Python reads spend them
    (api/list_budget.py); None when the selection has no list of objects below it."""
    parts = []
    for field in selection.fields:
        if field.child is None:
            continue
        below = list_counter(field.child)
        if field.is_list or below is not None:
            parts.append((field.key, field.is_list, below))
    if not parts:
        return None

    def count(value: Any) -> int:
        total = 0
        for key, is_list, below in parts:
            found = value[key]
            if found is None:
                continue
            if is_list:
                total += len(found)
                if below is not None:
                    total += sum(below(item) for item in found)
            elif below is not None:
                total += below(found)
        return total

    return count


__all__ = ["ROOTS", "Fallback", "bind", "list_counter", "selection_sql"]
