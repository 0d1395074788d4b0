"""The building blocks of the compiled reads' single statements (api/compiled/sql.py): each read
operation becomes ONE statement in which PostgreSQL builds the whole answer as JSON, with only
the selected columns, nested relations as correlated subqueries, `totalCount` as a scalar
subquery and `merchant_id = $1` in every predicate ($1 is always the caller's merchant).

What a field reads is declared once, in api/compiled/fields.py, as one of the classes below;
the GraphQL type's leaf format (DateTime, enums) is applied by the compiler. PostgreSQL's JSON
text is parsed and written again by orjson (PostgreSQL writes `"k" : v`), so the bytes are the
ones the strawberry path writes; every value here is formatted as api/scalars.py, api/ids.py and
api/pagination.py format it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from domain.model import RELEASED_STATUSES

MERCHANT = "$1"
RELEASED = "(" + ", ".join(f"'{s.value}'" for s in sorted(RELEASED_STATUSES)) + ")"
# json_build_object takes at most 100 arguments
MAX_KEYS = 50


class NotInSql(Exception):
    """This selection cannot be written as one statement: the plan runs its reads in Python."""


@dataclass(frozen=True)
class PageContext:
    size: int  # written into the statement (see `page`)
    count: str  # the SQL of the count under the filter


@dataclass
class Statement:
    """One statement being written: its parameters ($1 the merchant) and its table aliases."""

    params: int = 1
    aliases: int = 0
    # the columns read from each page's rows (the inner select lists only these)
    columns: dict[str, set[str]] = field(default_factory=dict)
    pages: dict[str, PageContext] = field(default_factory=dict)  # by the page rows' alias

    def param(self) -> str:
        self.params += 1
        return f"${self.params}"

    def alias(self) -> str:
        self.aliases += 1
        return f"a{self.aliases}"

    def col(self, alias: str, name: str) -> str:
        found = self.columns.get(alias)
        if found is not None:
            found.add(name)
        return f"{alias}.{name}"


# -- values, formatted as the strawberry path formats them -----------------------------------


def obj(pairs: Sequence[tuple[str, str]]) -> str:
    """A JSON object of (response key, SQL expression) pairs, in order."""
    if len(pairs) > MAX_KEYS:
        raise NotInSql("too many keys for json_build_object")
    return "json_build_object(" + ", ".join(f"'{k}', {v}" for k, v in pairs) + ")"


def text(value: str) -> str:
    """A constant string (type names: letters, digits and _ only)."""
    assert value.replace("_", "").isalnum()
    return f"'{value}'"


def public_id(prefix: str, key: str) -> str:
    """api/ids.py encode: `<prefix>_<uuid hex>`."""
    return f"({text(prefix)} || '_' || replace({key}::text, '-', ''))"


def iso(at: str) -> str:
    """api/scalars.py serialize_datetime: UTC, six fractional digits, none when they are zero
    (".000000" can only be the fraction)."""
    return (
        f"(replace(to_char({at} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), "
        "'.000000', '') || '+00:00')"
    )


def newest_first_cursor(created_at: str, key: str) -> str:
    """api/pagination.py newest_first_cursor: URL-safe base64 of "<createdAt>|<uuid hex>"."""
    raw = f"{iso(created_at)} || '|' || replace({key}::text, '-', '')"
    return f"rtrim(translate(encode(convert_to({raw}, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')"


def held(st: Statement, alias: str) -> str:
    """domain/eligibility.py held_amount: the transaction's refunds that still hold money."""
    return (
        "(SELECT coalesce(sum(h.amount), 0) FROM refunds h WHERE h.merchant_id = $1 "
        f"AND h.transaction_id = {st.col(alias, 'id')} AND h.status NOT IN {RELEASED})"
    )


def refundable(st: Statement, alias: str) -> str:
    """domain/eligibility.py refundable_amount."""
    status, amount = st.col(alias, "status"), st.col(alias, "amount")
    return (
        f"CASE WHEN {status} = 'SUCCESS' THEN greatest({amount} - {held(st, alias)}, 0) ELSE 0 END"
    )


# -- how a field reads its value: one of these per field (api/compiled/fields.py) ------------

Child = Callable[[str], str]  # a row alias -> the child selection's JSON object over it


@dataclass(frozen=True)
class Column:
    """A leaf: this column of the row."""

    name: str

    def sql(self, st: Statement, alias: str, _child: Child | None) -> str:
        return st.col(alias, self.name)


@dataclass(frozen=True)
class Expr:
    """A leaf computed from the row (its id, an amount the domain derives)."""

    build: Callable[[Statement, str], str]

    def sql(self, st: Statement, alias: str, _child: Child | None) -> str:
        return self.build(st, alias)


@dataclass(frozen=True)
class Const:
    """`__typename`."""

    value: str

    def sql(self, st: Statement, alias: str, _child: Child | None) -> str:
        return text(self.value)


@dataclass(frozen=True)
class Same:
    """An object read from the same row (a refund's destination, an edge's node)."""

    def sql(self, st: Statement, alias: str, child: Child | None) -> str:
        assert child is not None
        return child(alias)


@dataclass(frozen=True)
class ToOne:
    """The row of `table` whose `column` is this row's `key`, of the same merchant."""

    table: str
    key: str
    column: str = "id"

    def sql(self, st: Statement, alias: str, child: Child | None) -> str:
        assert child is not None
        a = st.alias()
        return (
            f"(SELECT {child(a)} FROM {self.table} {a} WHERE {a}.merchant_id = $1 "
            f"AND {a}.{self.column} = {st.col(alias, self.key)})"
        )


@dataclass(frozen=True)
class ToMany:
    """The rows of `table` whose `column` is this row's `key`, of the same merchant, in order."""

    table: str
    column: str
    order: str  # of the rows, by their columns
    key: str = "id"

    def sql(self, st: Statement, alias: str, child: Child | None) -> str:
        assert child is not None
        a = st.alias()
        order = ", ".join(f"{a}.{term.strip()}" for term in self.order.split(","))
        return (
            f"coalesce((SELECT json_agg({child(a)} ORDER BY {order}) FROM {self.table} {a} "
            f"WHERE {a}.merchant_id = $1 AND {a}.{self.column} = {st.col(alias, self.key)}), "
            "'[]')"
        )


# -- connections: a page's rows are `p`, numbered newest first in `p.n` ----------------------


@dataclass(frozen=True)
class Edges:
    def sql(self, st: Statement, alias: str, child: Child | None) -> str:
        assert child is not None
        size = st.pages[alias].size
        return (
            f"coalesce(json_agg({child(alias)} ORDER BY {alias}.n) "
            f"FILTER (WHERE {alias}.n <= {size}), '[]')"
        )


@dataclass(frozen=True)
class TotalCount:
    def sql(self, st: Statement, alias: str, _child: Child | None) -> str:
        return st.pages[alias].count


@dataclass(frozen=True)
class HasNextPage:
    def sql(self, st: Statement, alias: str, _child: Child | None) -> str:
        return f"(count(*) > {st.pages[alias].size})"


@dataclass(frozen=True)
class EndCursor:
    def sql(self, st: Statement, alias: str, _child: Child | None) -> str:
        cursor = st.col(alias, CURSOR)
        size = st.pages[alias].size
        return (
            f"(array_agg({cursor} ORDER BY {alias}.n DESC) FILTER (WHERE {alias}.n <= {size}))[1]"
        )


@dataclass(frozen=True)
class Cursor:
    def sql(self, st: Statement, alias: str, _child: Child | None) -> str:
        return st.col(alias, CURSOR)


# A page row's cursor, written once per row when the page's edges or pageInfo read it.
CURSOR = "cursor"


FieldSql = (
    Column | Expr | Const | Same | ToOne | ToMany | Edges | TotalCount | HasNextPage | EndCursor
) | Cursor


# -- roots -------------------------------------------------------------------------------------

Predicate = tuple[str, str]  # (column, operator): `column operator $n`, one parameter each


def where(st: Statement, predicates: Sequence[Predicate], subject: str = "") -> str:
    """`merchant_id = $1` and each predicate with its parameter, in order."""
    out = [f"{subject}merchant_id = $1"]
    for column, op in predicates:
        value = st.param()
        if op == "= ANY":
            out.append(f"{subject}{column} = ANY({value}::text[])")
        elif op == "order_id":  # a refund's transaction's order
            out.append(
                f"{subject}transaction_id IN (SELECT o.id FROM transactions o "
                f"WHERE o.merchant_id = $1 AND o.order_id = {value})"
            )
        else:
            out.append(f"{subject}{column} {op} {value}")
    return " AND ".join(out)


def page(
    st: Statement,
    table: str,
    predicates: Sequence[Predicate],
    size: int,
    after: bool,
    connection: Callable[[str], str],
) -> str:
    """A newest-first page of `table` (the page and one more row, saying whether a next page
    exists) as a connection's JSON object. Parameters, in order: the predicates', then
    the `after` position (created_at, id) when given."""
    p = st.alias()
    filtered = where(st, predicates)
    count = f"(SELECT count(*) FROM {table} WHERE {filtered})"
    # The size is a constant of the statement, not a parameter: with `LIMIT $n` PostgreSQL
    # plans every execution anew (a generic plan guesses a tenth of the table); a page size is
    # one of a few values a client uses, each its own prepared statement.
    size = int(size)
    position = ""
    if after:
        position = f" AND (created_at, id) < ({st.param()}, {st.param()})"
    st.pages[p] = PageContext(size, count)
    st.columns[p] = {"created_at", "id"}
    body = connection(p)
    used = st.columns.pop(p)
    columns = ", ".join(sorted(used - {CURSOR}))
    cursor = f", {newest_first_cursor('created_at', 'id')} AS {CURSOR}" if CURSOR in used else ""
    rows = (
        f"SELECT {columns}{cursor}, row_number() OVER (ORDER BY created_at DESC, id DESC) AS n "
        f"FROM (SELECT {columns} FROM {table} WHERE {filtered}{position} "
        f"ORDER BY created_at DESC, id DESC LIMIT {size + 1}) q"
    )
    # GROUP BY (): one row even when the connection reads no aggregate of the rows
    return f"(SELECT {body} FROM ({rows}) {p} GROUP BY ())"


def by_id(st: Statement, table: str, obj_of: Callable[[str], str]) -> str:
    """The row of `table` with the next parameter's id, of the merchant, or null."""
    a = st.alias()
    key = st.param()
    return f"(SELECT {obj_of(a)} FROM {table} {a} WHERE {a}.merchant_id = $1 AND {a}.id = {key})"


def the_merchant(st: Statement, obj_of: Callable[[str], str], asked: bool = False) -> str:
    """The caller's merchant (`viewer`); `asked`: only if the next parameter is its id (a
    `node(id:)` of a merchant: null for another one)."""
    a = st.alias()
    also = f" AND {a}.id = {st.param()}" if asked else ""
    return f"(SELECT {obj_of(a)} FROM merchants {a} WHERE {a}.id = $1{also})"


def answer(roots: Sequence[tuple[str, str]]) -> str:
    """The statement: `data`'s object of (response key, root expression), as JSON text. The
    merchant is always sent, so a statement that reads no table still names $1."""
    data = obj(roots)
    unread = "" if re.search(r"\$1\b", data) else " WHERE $1::uuid IS NOT NULL"
    return f"SELECT {data}::text{unread}"


# The list filters of db/queries.py (TransactionFilter, RefundFilter), attribute -> predicate,
# for the roots' pages; a filter not listed here (`refund_state`) is read in Python instead.
TRANSACTION_FILTER: dict[str, Predicate] = {
    "status": ("status", "="),
    "payment_method": ("payment_method", "="),
    "order_id": ("order_id", "="),
    "created_from": ("created_at", ">="),
    "created_to": ("created_at", "<"),
}
REFUND_FILTER: dict[str, Predicate] = {
    "statuses": ("status", "= ANY"),
    "transaction_id": ("transaction_id", "="),
    "created_from": ("created_at", ">="),
    "created_to": ("created_at", "<"),
    "order_id": ("order_id", "order_id"),
    "reasons": ("reason", "= ANY"),
    "speed": ("speed_requested", "="),
    "bank_reference": ("bank_reference", "="),
}
