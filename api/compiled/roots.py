"""The Query type's fields for the compiled plans: (arguments, state) -> the root value, or
None for null. Arguments arrive as the strawberry resolvers receive them
(strawberry_bridge.python_arguments), and each does what its resolver in api/*/queries.py does,
through the same reads. An argument strawberry would refuse raises Fallback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from graphql import GraphQLError

from api import ids
from api.batches import types as batch_types
from api.batches.queries import batches_page
from api.compiled.fields import Fallback, Page, State
from api.pagination import page_size, parse_newest_first_cursor
from api.reports import queries as reports
from api.reports.queries import check_window
from api.webhooks import queries as webhooks
from db.queries import RefundFilter, TransactionFilter


def page_bounds(args: dict[str, Any]) -> tuple[int, Any]:
    try:
        return page_size(args.get("first")), parse_newest_first_cursor(args.get("after"))
    except GraphQLError:
        raise Fallback("bad first or after") from None


async def transactions(args: dict[str, Any], state: State) -> Page:
    size, after = page_bounds(args)
    found = args.get("filter")
    query = found.to_query() if found is not None else TransactionFilter()
    reads, merchant_id = state.reads, state.merchant_id
    items = list(await reads.transactions(merchant_id, query, limit=size + 1, after=after))
    for t in items:  # as the resolver primes its loader
        state.transactions[t.id] = t
    return Page(items, size, lambda: reads.transaction_count(merchant_id, query))


async def refunds(args: dict[str, Any], state: State) -> Page:
    size, after = page_bounds(args)
    found = args.get("filter")
    query = found.to_query() if found is not None else RefundFilter()
    reads, merchant_id = state.reads, state.merchant_id
    items = list(await reads.refunds(merchant_id, query, limit=size + 1, after=after))
    return Page(items, size, lambda: reads.refund_count(merchant_id, query))


async def _transaction_by_key(key: Any, state: State) -> Any:
    if key not in state.transactions:
        state.transactions[key] = (await state.reads.transactions_by_id(state.merchant_id, [key]))[
            0
        ]
    return state.transactions[key]


async def _refund_by_key(key: Any, state: State) -> Any:
    return (await state.reads.refunds_by_id(state.merchant_id, [key]))[0]


async def transaction(args: dict[str, Any], state: State) -> Any:
    key = ids.decode_uuid(ids.TRANSACTION, args["id"])
    return None if key is None else await _transaction_by_key(key, state)


async def refund(args: dict[str, Any], state: State) -> Any:
    key = ids.decode_uuid(ids.REFUND, args["id"])
    return None if key is None else await _refund_by_key(key, state)


async def viewer(_args: dict[str, Any], state: State) -> Any:
    merchant = await state.reads.merchant(state.merchant_id)
    assert merchant is not None  # the key was just resolved to this merchant
    return merchant


async def node(args: dict[str, Any], state: State) -> Any:
    """As api/merchants/queries.py's node, for the types compiled here."""
    prefix = ids.prefix_of(args["id"])
    key = ids.decode_uuid(prefix, args["id"]) if prefix else None
    if key is None:
        return None
    if prefix == ids.TRANSACTION:
        return await _transaction_by_key(key, state)
    if prefix == ids.REFUND:
        return await _refund_by_key(key, state)
    if prefix == ids.API_KEY:
        return (await state.api_keys.by_ids(state.merchant_id, [key]))[0]
    if prefix == ids.MERCHANT:
        return await viewer(args, state) if key == state.merchant_id else None
    if prefix == ids.WEBHOOK_ENDPOINT:
        return await webhooks.webhook_endpoint(state.webhooks, state.merchant_id, key)
    if prefix == ids.WEBHOOK_DELIVERY:
        return await webhooks.webhook_delivery(state.webhooks, state.merchant_id, key)
    if prefix == ids.REFUND_BATCH:
        return await _refund_batch_by_key(key, state)
    # any type added later: strawberry decides
    raise Fallback(f"node of type {prefix} is not compiled")


# -- webhooks, refund batches and the refund summary: the functions their resolvers call, which
# return the strawberry types' objects (api/compiled/fields.py WEBHOOKS_BATCHES_SUMMARY)


async def webhook_endpoints(_args: dict[str, Any], state: State) -> Any:
    return await webhooks.webhook_endpoints(state.webhooks, state.merchant_id)


async def _refund_batch_by_key(key: Any, state: State) -> Any:
    return await batch_types.refund_batch(state.batches, state.merchant_id, key)


async def refund_batch(args: dict[str, Any], state: State) -> Any:
    key = ids.decode_uuid(ids.REFUND_BATCH, args["id"])
    return None if key is None else await _refund_batch_by_key(key, state)


async def refund_batches(args: dict[str, Any], state: State) -> Any:
    try:
        return await batches_page(
            state.batches, state.merchant_id, args.get("first"), args.get("after")
        )
    except GraphQLError:
        raise Fallback("bad first or after") from None


async def refund_summary(args: dict[str, Any], state: State) -> Any:
    start, end = args["from_"], args["to"]
    try:
        check_window(start, end)
    except GraphQLError:
        raise Fallback("from is not before to") from None
    return await reports.refund_summary(state.reports, state.merchant_id, start, end)


ROOTS: dict[str, Callable[[dict[str, Any], State], Awaitable[Any]]] = {
    "viewer": viewer,
    "node": node,
    "transaction": transaction,
    "transactions": transactions,
    "refund": refund,
    "refunds": refunds,
    "webhookEndpoints": webhook_endpoints,
    "refundBatch": refund_batch,
    "refundBatches": refund_batches,
    "refundSummary": refund_summary,
}
