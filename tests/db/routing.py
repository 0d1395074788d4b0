"""Would Citus route this statement to one merchant's node? A checker over PostgreSQL's own
parse tree (pglast), and a recorder of every statement the service's engines send.

A statement is routed when every distributed table it reads or writes (db/distribution.py) has
its distribution column pinned: an equality with a value (`merchant_id = $1`), or a join
equality with the distribution column of a table that is pinned (`e.merchant_id =
r.merchant_id`). An INSERT names the column among its own. Statements marked ACROSS_MERCHANTS
are the deliberate exceptions."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind, BoolExprType
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from db.distribution import ACROSS_MERCHANTS, DISTRIBUTION_COLUMN

VALUES = (ast.ParamRef, ast.A_Const)


def unrouted(sql: str) -> list[str]:
    """The distributed tables this statement touches without naming one merchant."""
    if ACROSS_MERCHANTS in sql:
        return []
    found: list[str] = []
    for raw in parse_sql(sql):
        for node in _nodes(raw.stmt):
            if isinstance(node, ast.InsertStmt):
                found += _unrouted_insert(node)
            elif isinstance(node, ast.SelectStmt | ast.UpdateStmt | ast.DeleteStmt):
                found += _unrouted_query(node)
    return found


def _nodes(node: Any) -> Iterator[Any]:
    """The node and every node below it (subqueries and CTEs included)."""
    if isinstance(node, tuple | list):
        for item in node:
            yield from _nodes(item)
    elif isinstance(node, ast.Node):
        yield node
        for name in node:
            yield from _nodes(getattr(node, name))


def _unrouted_insert(insert: ast.InsertStmt) -> list[str]:
    # PostgreSQL's grammar gives every INSERT the table it writes to.
    assert insert.relation is not None
    assert insert.relation.relname is not None
    table = insert.relation.relname
    column = DISTRIBUTION_COLUMN.get(table)
    named = {target.name for target in insert.cols or ()}
    return [table] if column is not None and column not in named else []


@dataclass
class _Scope:
    """One SELECT / UPDATE / DELETE: its distributed tables by alias, and what it pins."""

    tables: dict[str, str] = field(default_factory=dict)  # alias -> table
    pinned: set[str] = field(default_factory=set)  # aliases
    joined: list[tuple[str, str]] = field(default_factory=list)  # alias pairs

    def add(self, relation: Any) -> None:
        table = relation.relname if isinstance(relation, ast.RangeVar) else None
        if table is not None and table in DISTRIBUTION_COLUMN:
            alias = relation.alias.aliasname if relation.alias else None
            self.tables[alias or table] = table

    def column(self, ref: Any) -> str | None:
        """The alias whose distribution column `ref` names, if it does."""
        if not isinstance(ref, ast.ColumnRef):
            return None
        names = [f.sval for f in ref.fields or () if isinstance(f, ast.String) and f.sval]
        if len(names) == 2:
            alias, column = names
        elif len(names) == 1 and len(self.tables) == 1:
            [alias], column = self.tables, names[0]
        else:
            return None
        table = self.tables.get(alias)
        return alias if table is not None and DISTRIBUTION_COLUMN[table] == column else None

    def condition(self, expr: Any) -> None:
        if isinstance(expr, ast.BoolExpr) and expr.boolop == BoolExprType.AND_EXPR:
            for arg in expr.args or ():
                self.condition(arg)
            return
        if not (
            isinstance(expr, ast.A_Expr)
            and expr.kind == A_Expr_Kind.AEXPR_OP
            and [n.sval for n in expr.name or ()] == ["="]
        ):
            return
        left, right = self.column(expr.lexpr), self.column(expr.rexpr)
        if left and right:
            self.joined.append((left, right))
        elif left and _is_value(expr.rexpr):
            self.pinned.add(left)
        elif right and _is_value(expr.lexpr):
            self.pinned.add(right)

    def unrouted(self) -> list[str]:
        pinned = set(self.pinned)
        grew = True
        while grew:
            grew = False
            for a, b in self.joined:
                if (a in pinned) != (b in pinned):
                    pinned |= {a, b}
                    grew = True
        return sorted(table for alias, table in self.tables.items() if alias not in pinned)


def _is_value(expr: Any) -> bool:
    while isinstance(expr, ast.TypeCast):
        expr = expr.arg
    return isinstance(expr, VALUES)


def _unrouted_query(query: Any) -> list[str]:
    scope = _Scope()
    sources = list(getattr(query, "fromClause", None) or ())
    sources += list(getattr(query, "usingClause", None) or ())
    if getattr(query, "relation", None) is not None:
        sources.append(query.relation)
    conditions = [query.whereClause]
    while sources:
        source = sources.pop()
        if isinstance(source, ast.JoinExpr):
            sources += [source.larg, source.rarg]
            conditions.append(source.quals)
        else:
            scope.add(source)
    for condition in conditions:
        scope.condition(condition)
    return scope.unrouted()


class StatementLog:
    """Every statement the given engines send while open: SQLAlchemy's own (before they are
    executed) and those sent straight to asyncpg (its query logger on each connection checked
    out). asyncpg calls its loggers soon after, not at once: `await settled()` before reading."""

    def __init__(self, *engines: AsyncEngine) -> None:
        self.engines = [e.sync_engine for e in engines]
        self.statements: list[str] = []
        self._logged: weakref.WeakSet[Any] = weakref.WeakSet()

    def __enter__(self) -> StatementLog:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._sqlalchemy)
            event.listen(engine, "checkout", self._checkout)
        return self

    def __exit__(self, *_exc: object) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._sqlalchemy)
            event.remove(engine, "checkout", self._checkout)
        for conn in list(self._logged):
            conn.remove_query_logger(self._asyncpg)

    async def settled(self) -> None:
        await asyncio.sleep(0)

    def _sqlalchemy(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    def _checkout(self, dbapi_connection: Any, *_args: Any) -> None:
        driver = dbapi_connection.driver_connection
        if driver not in self._logged:
            driver.add_query_logger(self._asyncpg)
            self._logged.add(driver)

    def _asyncpg(self, record: Any) -> None:
        self.statements.append(record.query)

    def unrouted(self) -> dict[str, list[str]]:
        """statement -> the distributed tables it does not route by merchant."""
        found = {sql: unrouted(sql) for sql in set(self.statements)}
        return {sql: tables for sql, tables in found.items() if tables}
