"""One execution per pushed change, shared by every subscriber that asked the same thing.

graphql-core executes a subscription's selection set once per subscriber per event: with ten
thousand subscribers of one merchant that is ten thousand identical executions, and fan-out
would take seconds (bench/SUBSCRIPTIONS.md). Every subscriber of a change belongs
to the same merchant and sees the same refund, so the result depends only on the document
and the variables. The broker wraps each change once (`shared_payload`); this executor
remembers, per wrapped change, the result of each (operation, variables, caller), and gives
it to the next subscriber who asks the same. Results with errors are never shared: each
subscriber then runs its own execution, as without this."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any

import orjson
from graphql import ExecutionResult
from graphql.execution import Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api import list_budget
from api.refunds.types import RefundType
from domain.model import Refund

# Changes whose results are remembered; an older one still being delivered (to a lagging
# subscriber) is executed for that subscriber alone, which is correct, only slower.
REMEMBERED_CHANGES = 256

_results: OrderedDict[int, tuple[RefundType, dict[Any, Any]]] = OrderedDict()


def shared_payload(refund: Refund) -> RefundType:
    """The value pushed to every subscriber of one change, registered for sharing."""
    payload = RefundType.from_domain(refund)
    _results[id(payload)] = (payload, {})  # keeps `payload` alive: its id is not reused
    while len(_results) > REMEMBERED_CHANGES:
        _results.popitem(last=False)
    return payload


def memo_for(payload: object) -> dict[Any, Any] | None:
    """The per-change memo of a payload made by `shared_payload`, if it is still held."""
    entry = _results.get(id(payload))
    return entry[1] if entry is not None and entry[0] is payload else None


def asked(executor: Executor[Any]) -> tuple[Any, ...] | None:
    """What a subscriber asks, the key its result is shared under: (operation, variables as
    coerced, caller); None when a value has no exact JSON form (then nothing is shared). The
    coerced values, not their sources: those hold objects made per executor (a default's
    holder), which would make every key differ. As str: the bytes orjson returns keep its whole
    output buffer allocated, and a key can live as long as a subscription (bench/LEVERS.md,
    "figures behind code choices")."""
    try:
        coerced = executor.variable_values.coerced
        variables = orjson.dumps(coerced, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return None
    principal = getattr(executor.context_value, "principal", None)
    return (id(executor.operation), variables, principal)


class SharedEventExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_operation(self, serially: bool | None = None) -> Any:
        services = getattr(self.context_value, "services", None)
        if services is not None:  # every execution, each pushed change too, counts afresh
            list_budget.start_execution(services.settings.edge.max_query_cost)
        entry = _results.get(id(self.root_value))
        if serially is not False or entry is None or entry[0] is not self.root_value:
            return super().execute_operation(serially)
        key = asked(self)
        if key is None:
            return super().execute_operation(serially)
        memo = entry[1]
        known = memo.get(key)
        if known is not None and known[0] is self.operation:
            return self._reuse(known[1], serially)
        result = super().execute_operation(serially)
        if isinstance(result, Awaitable):
            result = asyncio.ensure_future(result)
            memo[key] = (self.operation, result)
            return self._reuse(result, serially)
        if isinstance(result, ExecutionResult) and not result.errors:
            memo[key] = (self.operation, result)
        return result

    def _reuse(self, known: Any, serially: bool | None) -> Any:
        if not isinstance(known, asyncio.Future):
            return known

        async def shared() -> Any:
            # shield: one subscriber going away must not cancel the others' result
            result = await asyncio.shield(known)
            if result.errors:
                return await _maybe(super(SharedEventExecutor, self).execute_operation(serially))
            return result

        return shared()


async def _maybe(value: Any) -> Any:
    return await value if isinstance(value, Awaitable) else value
