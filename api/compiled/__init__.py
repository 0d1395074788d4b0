"""Compiled reads: any valid read operation a merchant sends, whatever its text, is compiled
once into a plan (plan.py), kept in a bounded LRU cache keyed by the document and operation name
(REFUNDS_PLAN_CACHE_SIZE). A plan whose every field has SQL is answered by ONE statement in which
PostgreSQL builds the JSON (sql.py, db/compiled_sql.py); any other runs the DataLoaders' batched
reads, one per level, and builds the response in Python without per-field resolvers.

A document is first held to what strawberry holds it to: the same parse limits, validation
rules and limits (api/bounded_validation.py), query cost (api/query_cost.py) and variable
checks (api/input_guard.py). What the plans do not model, and every request that would make
strawberry report an error, goes to plain strawberry execution (`respond` returns None), so the
answers cannot differ: tests/api/test_fast_path_equivalence.py and
tests/api/test_compiled_differential.py compare them byte for byte.

Off with REFUNDS_FAST_PATH=0 (api/config.py ServingSettings). The plans read through
db/pooled_reads.py (plain asyncpg on a pooled connection), or, all in Python, through
ReadQueries with REFUNDS_FAST_PATH_SQL=sqlalchemy."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

import orjson
from graphql import GraphQLError, get_operation_ast, parse
from graphql.execution.values import VariableValues
from strawberry.schema.base import BaseSchema

from api.auth import MerchantPrincipal, Principal
from api.bounded_validation import PARSE_LIMITS, document_errors
from api.compiled import sql
from api.compiled.fields import Fallback, State
from api.compiled.plan import (
    Plan,
    Root,
    Selection,
    Unsupported,
    compile_operation,
)
from api.compiled.strawberry_bridge import graphql_schema
from api.config import ServingSettings
from api.input_guard import junk_path, unstorable
from api.metrics import LATENCY, OPERATION_NAMES, OPERATIONS
from api.query_cost import cost_errors, worst_case_cost
from db.pooled_reads import pooled_reads
from db.queries import ReadQueries
from db.reports import Reports
from db.repositories.api_keys import ApiKeyStore
from db.repositories.batches import RefundBatchReads
from db.repositories.webhooks import WebhookReads

log = logging.getLogger("refunds.compiled")

ALLOWED_KEYS = frozenset({"query", "variables", "operationName"})


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
                _spend(state, len(value))
            else:
                children.append(value)
        if children:
            await _prefetch(field.child, children, state)


def _spend(state: State, items: int) -> None:
    if state.list_items_left is not None:
        state.list_items_left -= items
        if state.list_items_left < 0:
            raise Fallback("lists past the cost limit")


async def _answer(root: Root, plan: Plan, variables: Any, state: State) -> Any:
    if root.resolve is None:  # __typename
        return "Query"
    value = await root.resolve(plan.arguments(root, variables), state)
    if value is None:
        return None
    if root.is_list:  # of one object type
        _spend(state, len(value))
        of_list = next(iter(root.selections.values()))
        if value:
            await _prefetch(of_list, value, state)
        return [of_list.render(item, state) for item in value]
    selection = root.selection_for(value)
    if selection is None:
        raise Fallback(f"{type(value).__name__} under {root.name}")
    await _prefetch(selection, [value], state)
    return selection.render(value, state)


async def _in_python(
    plan: Plan, variables: VariableValues, roots: tuple[Root, ...], state: State
) -> dict[str, Any]:
    state.variables = variables
    return {root.key: await _answer(root, plan, variables, state) for root in roots}


async def run(plan: Plan, raw_variables: dict[str, Any], state: State) -> dict[str, Any]:
    """The plan's reads in Python (batched per level), for any plan."""
    variables = plan.coerce(raw_variables)
    return await _in_python(plan, variables, plan.roots(variables), state)


DECLINED = "declined"
# Variables whose binding each plan keeps (api/compiled/sql.py bind); when full, it starts over.
MAX_BOUND = 256  # a cached document that strawberry answers


class CompiledReads:
    def __init__(
        self, schema: BaseSchema, max_cost: int, cache_size: int, *, raw_sql: bool = True
    ) -> None:
        self.schema = schema
        self.graphql_schema = graphql_schema(schema)
        self.max_cost = max_cost
        self.cache_size = cache_size
        self.plans: OrderedDict[tuple[str, str | None], Plan | str] = OrderedDict()
        # REFUNDS_FAST_PATH_SQL=sqlalchemy: the plans read through ReadQueries instead (a lever
        # to measure: db/pooled_reads.py saves BEGIN/ROLLBACK and SQLAlchemy's per-query work).
        self.raw_sql = raw_sql
        self.one_statement = 0  # answers read in one statement (api/compiled/sql.py), for tests

    def compile(self, text: str, operation_name: str | None) -> Plan:
        """Raises Unsupported for what strawberry must answer, invalid documents included."""
        try:
            document = parse(text, **PARSE_LIMITS)
        except GraphQLError:
            raise Unsupported("does not parse") from None
        if document_errors(self.graphql_schema, document):
            raise Unsupported("invalid against the schema")
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            raise Unsupported("no such operation")
        worst = worst_case_cost(self.graphql_schema, document, operation_name)
        return compile_operation(self.schema, document, operation, worst > self.max_cost)

    def plan(self, text: str, operation_name: str | None) -> Plan | None:
        key = (text, operation_name)
        found = self.plans.get(key)
        if found is None:
            try:
                found = self.compile(text, operation_name)
            except Unsupported:
                found = DECLINED
            self.plans[key] = found
            if len(self.plans) > self.cache_size:
                self.plans.popitem(last=False)
        else:
            self.plans.move_to_end(key)
        return found if isinstance(found, Plan) else None

    def _request(self, payload: Any) -> tuple[Plan, dict[str, Any]] | None:
        if type(payload) is not dict or not payload.keys() <= ALLOWED_KEYS:
            return None
        query, name = payload.get("query"), payload.get("operationName")
        variables = payload.get("variables")
        if type(query) is not str or not isinstance(name, str | None):
            return None
        if variables is None:
            variables = {}
        elif type(variables) is not dict or any(
            unstorable(k) or junk_path(v) is not None for k, v in variables.items()
        ):
            return None
        plan = self.plan(query, name)
        if plan is None:
            return None
        if plan.check_cost and cost_errors(
            self.graphql_schema, plan.document, name, variables, self.max_cost
        ):
            return None
        return plan, variables

    async def _run(
        self,
        plan: Plan,
        variables: dict[str, Any],
        principal: MerchantPrincipal,
        reads: ReadQueries,
        api_keys: ApiKeyStore,
    ) -> dict[str, Any]:
        merchant_id, budget = principal.merchant_id, self.max_cost
        if not self.raw_sql:
            engine = reads.engine
            webhooks, batches, reports = (
                WebhookReads(engine),
                RefundBatchReads(engine),
                Reports(engine),
            )
            state = State(
                reads, merchant_id, api_keys, webhooks, batches, reports, list_items_left=budget
            )
            return await run(plan, variables, state)
        async with pooled_reads(reads, api_keys) as pooled:
            state = State(
                pooled,
                merchant_id,
                pooled.api_keys,
                pooled.webhooks,
                pooled.batches,
                pooled.reports,
                list_items_left=budget,
            )
            # the same variables bind the same way for every merchant: kept per plan
            key = orjson.dumps(variables)
            bound = plan.bound.get(key)
            if bound is None:
                coerced = plan.coerce(variables)
                roots = plan.roots(coerced)
                bound = sql.bind(plan, roots, coerced)
                if bound is None:
                    return await _in_python(plan, coerced, roots, state)
                if len(plan.bound) >= MAX_BOUND:
                    plan.bound.clear()
                plan.bound[key] = bound
            text, values, counters = bound
            data: dict[str, Any] = orjson.loads(await pooled.answer(text, merchant_id, values))
            _spend(state, sum(count(data[key]) for key, count in counters if data[key] is not None))
            self.one_statement += 1
            return data

    async def respond(
        self, payload: Any, principal: Principal | None, reads: ReadQueries, api_keys: ApiKeyStore
    ) -> bytes | None:
        """The response body to the decoded request `payload` (a POST's JSON body or a GET's
        query parameters), or None: let strawberry answer."""
        if not isinstance(principal, MerchantPrincipal):
            return None
        request = self._request(payload)
        if request is None:
            return None
        plan, variables = request
        started = time.perf_counter()
        try:
            data = await self._run(plan, variables, principal, reads, api_keys)
        except Fallback:
            return None
        except Exception:
            # Strawberry answers instead: a fault in code both paths share is reported by it, once,
            # at ERROR and masked; one of the plans alone still leaves its traceback here.
            log.warning("compiled read failed; strawberry answers it", exc_info=True)
            return None
        name = OPERATION_NAMES.label(plan.name)
        OPERATIONS.labels(name, "query", "ok").inc()
        LATENCY.labels(name, "query").observe(time.perf_counter() - started)
        return orjson.dumps({"data": data})


def build(
    schema: BaseSchema, max_cost: int, cache_size: int, serving: ServingSettings
) -> CompiledReads | None:
    if not serving.compiled_reads:
        return None
    return CompiledReads(schema, max_cost, cache_size, raw_sql=serving.compiled_reads_raw_sql)
