"""The persisted-operation fast path.

Trusted query documents (api/fastpath/operations/*.graphql) are validated against the strawberry
schema at startup, with the same limits and rules (api/bounded_validation.py), and compiled into
plans (plan.py) that run the DataLoaders' SQL and build the response directly, without per-field
resolvers. A request
whose `query` is exactly one of these documents, from a merchant, with variables that coerce and
arguments that strawberry would accept (no text the database cannot store: api/input_guard.py),
is answered by its plan. Everything else, every error
case included, goes to plain strawberry execution, so the answers cannot differ
(tests/api/test_fast_path_equivalence.py checks it byte for byte).

Off with REFUNDS_FAST_PATH=0. The plans read through api/fastpath/sql.py (plain asyncpg on a
pooled connection), or through ReadQueries with REFUNDS_FAST_PATH_SQL=sqlalchemy."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLSchema, OperationDefinitionNode, parse

from api.auth import MerchantPrincipal, Principal
from api.bounded_validation import PARSE_LIMITS, document_errors
from api.fastpath.fields import State
from api.fastpath.plan import Fallback, Plan, Selection, Unsupported, compile_operation
from api.fastpath.sql import raw_reads
from api.input_guard import junk_path
from api.metrics import LATENCY, OPERATION_NAMES, OPERATIONS
from api.query_cost import worst_case_cost
from db.queries import ReadQueries

log = logging.getLogger("refunds.fastpath")

OPERATIONS_DIR = Path(__file__).parent / "operations"
ALLOWED_KEYS = frozenset({"query", "variables", "operationName"})


def documents(directory: Path = OPERATIONS_DIR) -> dict[str, str]:
    """The trusted documents by file stem, exactly as clients send them."""
    return {p.stem: p.read_text() for p in sorted(directory.glob("*.graphql"))}


def compile_document(schema: GraphQLSchema, text: str, max_cost: int) -> Plan:
    document = parse(text, **PARSE_LIMITS)
    errors = document_errors(schema, document)
    if errors:
        raise Unsupported(f"invalid against the schema: {errors[0].message}")
    # Checked once for every page size, so that no request needs it (strawberry checks the rest).
    if (cost := worst_case_cost(schema, document)) > max_cost:
        raise Unsupported(f"its cost can reach {cost}, over REFUNDS_MAX_QUERY_COST={max_cost}")
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or len(document.definitions) != 1:
        raise Unsupported("one operation and nothing else")
    return compile_operation(schema, operations[0])


async def _prefetch(selection: Selection, parents: list[Any], state: State) -> None:
    for field in selection.fields:
        if field.spec.load is not None:
            await field.spec.load(parents, state)
        if field.child is None:
            continue
        children: list[Any] = []
        for parent in parents:
            value = field.spec.get(parent, state)
            if value is None:
                continue
            if field.is_list:
                children.extend(value)
            else:
                children.append(value)
        if children:
            await _prefetch(field.child, children, state)


async def run(plan: Plan, variables: dict[str, Any], state: State) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for root, args in zip(plan.roots, plan.arguments(variables), strict=True):
        value = await root.resolve(args, state)
        if value is None:
            data[root.key] = None
            continue
        await _prefetch(root.selection, [value], state)
        data[root.key] = root.selection.render(value, state)
    return data


class FastPath:
    def __init__(self, plans: dict[str, Plan], *, raw_sql: bool = True) -> None:
        self.plans = plans  # by the document's exact text
        # REFUNDS_FAST_PATH_SQL=sqlalchemy: the plans read through ReadQueries instead (a lever
        # to measure: fastpath/sql.py saves BEGIN/ROLLBACK and SQLAlchemy's per-query work).
        self.raw_sql = raw_sql

    @classmethod
    def from_schema(
        cls, schema: GraphQLSchema, max_cost: int, texts: dict[str, str] | None = None
    ) -> FastPath:
        texts = documents() if texts is None else texts
        raw_sql = os.environ.get("REFUNDS_FAST_PATH_SQL", "raw") != "sqlalchemy"
        return cls(
            {text: compile_document(schema, text, max_cost) for text in texts.values()},
            raw_sql=raw_sql,
        )

    async def _run(
        self,
        plan: Plan,
        variables: dict[str, Any],
        principal: MerchantPrincipal,
        reads: ReadQueries,
    ) -> dict[str, Any]:
        if not self.raw_sql:
            return await run(plan, variables, State(reads, principal.merchant_id))
        async with raw_reads(reads.engine) as raw:
            return await run(plan, variables, State(raw, principal.merchant_id))  # type: ignore[arg-type]

    def plan_for(self, payload: Any) -> Plan | None:
        if type(payload) is not dict or not payload.keys() <= ALLOWED_KEYS:
            return None
        query = payload.get("query")
        plan = self.plans.get(query) if type(query) is str else None
        if plan is None:
            return None
        name = payload.get("operationName")
        variables = payload.get("variables")
        if (name is not None and name != plan.name) or (
            variables is not None
            and (type(variables) is not dict or junk_path(variables) is not None)
        ):
            return None
        return plan

    async def respond(
        self, body: bytes, principal: Principal | None, reads: ReadQueries
    ) -> bytes | None:
        """The response body, or None: let strawberry answer."""
        if not isinstance(principal, MerchantPrincipal):
            return None
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        plan = self.plan_for(payload)
        if plan is None:
            return None
        started = time.perf_counter()
        try:
            data = await self._run(plan, payload.get("variables") or {}, principal, reads)
        except Fallback:
            return None
        except Exception:  # strawberry will report it (masked) exactly as it always does
            log.exception("fast path failed; falling back to strawberry")
            return None
        name = OPERATION_NAMES.label(plan.name)
        OPERATIONS.labels(name, "query", "ok").inc()
        LATENCY.labels(name, "query").observe(time.perf_counter() - started)
        return orjson.dumps({"data": data})


def build(schema: GraphQLSchema, max_cost: int) -> FastPath | None:
    if os.environ.get("REFUNDS_FAST_PATH", "1") == "0":
        return None
    return FastPath.from_schema(schema, max_cost)
