"""The fast path for `refundUpdated` over graphql-transport-ws.

strawberry runs each subscriber's stream through its full per-result pipeline (extension
hooks, result handling, message building): tens of microseconds per subscriber per change,
which is most of a fan-out to thousands. For the one subscription this service has, the
handler instead: parses and validates a document once per distinct text (with the schema's
own rules), builds an executor once per subscription, and per change sends a frame whose
payload was executed and serialised once for every subscriber asking the same thing.

Anything unusual (a parse or validation error, bad variables, text the database cannot store
(api/input_guard.py), another root field, a caller without a merchant key) is left to
strawberry's own path, so errors look exactly as before."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
)
from graphql.execution import Executor
from graphql.execution.values import get_argument_values

from api import ids
from api.bounded_validation import PARSE_LIMITS, document_errors
from api.errors import MaskFaults, log_errors
from api.input_guard import junk_path
from api.query_cost import worst_case_cost
from api.refunds.shared_events import SharedEventExecutor, asked, memo_for
from api.refunds.subscriptions import decode_filter

FIELD = "refundUpdated"


@dataclass(frozen=True, slots=True)
class LivePlan:
    document: DocumentNode
    operation: OperationDefinitionNode
    field: FieldNode


@lru_cache(maxsize=256)
def plan_for(query: str, operation_name: str | None, max_cost: int) -> LivePlan | None:
    """A validated single-field `refundUpdated` subscription within the limits, or None
    (strawberry's path, which checks the cost with the request's variables)."""
    from api.schema import schema

    try:
        document = parse(query, **PARSE_LIMITS)
    except GraphQLError:
        return None
    if document_errors(schema._schema, document):
        return None
    if worst_case_cost(schema._schema, document, operation_name) > max_cost:
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.SUBSCRIPTION:
        return None
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    field = selections[0]
    if field.name.value != FIELD or field.directives:
        return None
    return LivePlan(document, operation, field)


@dataclass(slots=True)
class LiveOperation:
    """One running subscription on the fast path. It keeps what it needs to build an executor,
    not the executor itself (about 2.5 KB each): a change is executed once for every subscriber
    asking the same thing, so only the first of them builds one (see `render`)."""

    plan: LivePlan
    context: Any
    variables: dict[str, Any] | None
    operation_name: str | None
    memo_key: tuple[Any, ...]
    refund_id: UUID | None
    transaction_id: UUID | None

    def executor(self) -> Executor[Any]:
        built = _build(self.plan, self.context, self.variables, self.operation_name)
        assert not isinstance(built, list), "the variables coerced when it was prepared"
        return built


def _build(
    plan: LivePlan, context: Any, variables: dict[str, Any] | None, operation_name: str | None
) -> Executor[Any] | list[GraphQLError]:
    from api.schema import schema

    return SharedEventExecutor.build(
        schema._schema,
        plan.document,
        context_value=context,
        raw_variable_values=variables,
        operation_name=operation_name,
    )


def prepare(
    plan: LivePlan, context: Any, variables: dict[str, Any] | None, operation_name: str | None
) -> LiveOperation | None:
    from api.schema import schema

    if junk_path(variables) is not None:
        return None  # strawberry's path refuses them
    built = _build(plan, context, variables, operation_name)
    if isinstance(built, list):
        return None  # bad variables: strawberry's path reports them
    field_def = schema._schema.subscription_type.fields[FIELD]  # type: ignore[union-attr]
    key = asked(built)
    if key is None:
        return None  # unshareable values: strawberry's path runs it alone
    args = get_argument_values(field_def, plan.field, built.variable_values)
    return LiveOperation(
        plan=plan,
        context=context,
        variables=variables,
        operation_name=operation_name,
        memo_key=("frame", *key),
        refund_id=decode_filter(ids.REFUND, args.get("refundId")),
        transaction_id=decode_filter(ids.TRANSACTION, args.get("transactionId")),
    )


_masker = MaskFaults()


async def render(live: LiveOperation, pushed: Any) -> bytes:
    """The `payload` of a `next` message for this change, serialised; shared when possible."""
    memo = memo_for(pushed)
    if memo is not None and (frame := memo.get(live.memo_key)) is not None:
        return frame  # type: ignore[no-any-return]
    result: Any = live.executor().build_per_event_executor(pushed).execute_operation(False)
    if hasattr(result, "__await__"):
        result = await result
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        log_errors(result.errors, live.operation_name)
        payload["errors"] = [e.formatted for e in _masker._process_errors(result.errors)]
    frame = orjson.dumps(payload)
    if memo is not None and not result.errors:
        memo[live.memo_key] = frame
    return frame
