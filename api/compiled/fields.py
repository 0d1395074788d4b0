"""What each compiled field of the schema returns, over the domain's values: the same
functions the strawberry resolvers use (ids, pagination cursors, eligibility), read through the
same batched queries (db/queries.py, db/pooled_reads.py) the per-request DataLoaders call.

A field is a `Spec`: `get(parent, state)` gives its value for one parent; `load(parents, state)`
fetches, in one query for all parents of a level, what `get` needs. A field missing from
`SPECS` makes an operation that selects it go to plain strawberry execution (the README lists
them)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from uuid import UUID

from graphql import GraphQLError

from api import ids
from api.batches.types import RefundBatchItemType, RefundBatchType, items_page
from api.compiled.strawberry_bridge import plain_fields, type_name
from api.errors import UserError
from api.keys.types import ApiKeyType
from api.merchants.types import LedgerEntryType, MerchantType
from api.pagination import (
    Connection,
    Edge,
    id_cursor,
    newest_first_cursor,
    page_size,
    parse_id_cursor,
)
from api.refunds.types import RefundEventType, RefundType
from api.reports.types import (
    DayTotals,
    PaymentMethodTotals,
    RefundReasonTotals,
    RefundStatusTotals,
    RefundSummaryType,
    RefundTotals,
)
from api.transactions.types import TransactionType
from api.webhooks.types import WebhookDeliveryType, WebhookEndpointType, deliveries_page
from db import compiled_sql as sql
from db.pooled_reads import PooledReads
from db.queries import ReadQueries
from db.reports import Reports
from db.repositories.api_keys import ApiKeyStore
from db.repositories.batches import RefundBatchReads
from db.repositories.webhooks import WebhookReads
from domain.eligibility import held_amount, refundable_amount
from domain.model import ApiKey, LedgerEntry, Merchant, Refund, RefundEvent, Transaction


class Fallback(Exception):
    """This request must go through plain strawberry execution (it would report an error)."""


@dataclass
class State:
    """One request's reads: the caller's merchant, the request's variables and what has been
    loaded so far."""

    reads: ReadQueries | PooledReads
    merchant_id: UUID
    api_keys: ApiKeyStore  # on the same connection as `reads` when that holds one
    # the repositories api/webhooks, api/batches and api/reports read with, the same way
    webhooks: WebhookReads
    batches: RefundBatchReads
    reports: Reports
    variables: Any = None  # graphql-core's VariableValues, for arguments below the root
    transactions: dict[UUID, Transaction | None] = field(default_factory=dict)
    refunds: dict[UUID, Refund | None] = field(default_factory=dict)
    refunds_of: dict[UUID, list[Refund]] = field(default_factory=dict)
    events_of: dict[UUID, list[RefundEvent]] = field(default_factory=dict)
    keys: dict[UUID, ApiKey | None] = field(default_factory=dict)
    keys_of: dict[UUID, list[ApiKey]] = field(default_factory=dict)  # by merchant
    pages: dict[Any, Any] = field(default_factory=dict)  # Page or Connection, by (field, parent)
    # totalCount of the resolvers' own connections (strawberry's Connection, unhashable), by their
    # id(), kept beside the connection itself: a connection no longer referenced elsewhere would
    # free its id for one made later in the request, which would then read its total
    totals: dict[int, tuple[Any, int]] = field(default_factory=dict)
    # Lists' items the answer may hold (api/list_budget.py): past it, strawberry answers the
    # request and reports QUERY_TOO_COMPLEX. None: no limit.
    list_items_left: int | None = None


def _newest_first(node: Any) -> str:
    return newest_first_cursor(node.created_at, node.id)


def _by_id(node: Any) -> str:
    return id_cursor(node.id)


@dataclass
class Page:
    """A connection's rows: up to size+1 of them, the extra one saying a next page exists."""

    items: list[Any]
    size: int
    count: Callable[[], Awaitable[int]]
    cursor_of: Callable[[Any], str] = _newest_first
    total: int | None = None

    @property
    def nodes(self) -> list[Any]:
        return self.items[: self.size]

    # PageInfo's fields, by the names strawberry's PageInfo has them (api/pagination.py): a
    # connection the resolvers' own functions built (webhooks, batches) shows that one instead
    @property
    def has_next_page(self) -> bool:
        return len(self.items) > self.size

    @property
    def end_cursor(self) -> str | None:
        return self.cursor_of(self.nodes[-1]) if self.nodes else None


Getter = Callable[[Any, State], Any]
Loader = Callable[[list[Any], State], Awaitable[None]]


@dataclass(frozen=True)
class Spec:
    get: Getter
    load: Loader | None = None
    attr: str | None = None  # the value is this attribute of the parent (read inline)
    # what it reads in a plan's single statement (db/compiled_sql.py); None: a selection with it
    # runs its reads in Python (get and load)
    sql: sql.FieldSql | None = None


async def _load_missing(
    keys: list[UUID],
    loaded: dict[UUID, Any],
    read: Callable[[UUID, list[UUID]], Awaitable[list[Any]]],
    merchant_id: UUID,
) -> None:
    """One batched read of the keys not loaded yet (each once), its results kept by key."""
    missing = list(dict.fromkeys(k for k in keys if k not in loaded))
    if missing:
        loaded.update(zip(missing, await read(merchant_id, missing), strict=True))


async def load_refunds_of(transactions: list[Transaction], state: State) -> None:
    await _load_missing(
        [t.id for t in transactions],
        state.refunds_of,
        state.reads.refunds_by_transaction,
        state.merchant_id,
    )


async def load_transactions_of(refunds: list[Refund], state: State) -> None:
    await _load_missing(
        [r.transaction_id for r in refunds],
        state.transactions,
        state.reads.transactions_by_id,
        state.merchant_id,
    )


async def load_events_of(refunds: list[Refund], state: State) -> None:
    await _load_missing(
        [r.id for r in refunds], state.events_of, state.reads.events_by_refund, state.merchant_id
    )


async def load_total(pages: list[Page], state: State) -> None:
    for page in pages:
        if page.total is None:
            page.total = await page.count()


async def load_initiators(refunds: list[Refund], state: State) -> None:
    await _load_missing(
        [r.initiated_by_key_id for r in refunds if r.initiated_by_key_id is not None],
        state.keys,
        state.api_keys.by_ids,
        state.merchant_id,
    )


async def load_api_keys_of(merchants: list[Merchant], state: State) -> None:
    for m in merchants:
        if m.id not in state.keys_of:
            state.keys_of[m.id] = list(await state.api_keys.of_merchant(m.id))


def _initiator(r: Refund, state: State) -> ApiKey | None:
    return None if r.initiated_by_key_id is None else state.keys[r.initiated_by_key_id]


def _held(t: Transaction, state: State) -> int:
    return held_amount(state.refunds_of[t.id])


def _attr(name: str, column: str | None = None) -> Spec:
    """The parent's attribute `name`, stored in the column of that name unless `column` says."""
    return Spec(lambda obj, _state: getattr(obj, name), attr=name, sql=sql.Column(column or name))


def _plain(
    strawberry_type: type, domain: type, columns: dict[str, str] | None = None
) -> dict[str, Spec]:
    """The type's fields without a resolver whose Python name is an attribute of its domain
    values: read as that attribute, stored in the column of that name unless `columns` says.
    Fields declared after these in a table (ids, relations) take their place."""
    attrs = {f.name for f in dataclasses.fields(domain)}
    columns = columns or {}
    return {
        name: _attr(attr, columns.get(attr))
        for name, attr in plain_fields(strawberry_type).items()
        if attr in attrs
    }


def _id(prefix: str) -> Spec:
    return Spec(
        lambda node, _s: ids.encode(prefix, node.id),
        sql=sql.Expr(lambda st, a: sql.public_id(prefix, st.col(a, "id"))),
    )


def _transaction(r: Refund, state: State) -> Transaction:
    found = state.transactions[r.transaction_id]
    assert found is not None  # a refund's transaction belongs to the same merchant
    return found


TRANSACTION = {
    **_plain(TransactionType, Transaction),
    "id": _id(ids.TRANSACTION),
    "refundedAmount": Spec(_held, load_refunds_of, sql=sql.Expr(sql.held)),
    "refundableAmount": Spec(
        lambda t, s: refundable_amount(t, _held(t, s)),
        load_refunds_of,
        sql=sql.Expr(sql.refundable),
    ),
    "refunds": Spec(
        lambda t, s: s.refunds_of[t.id],
        load_refunds_of,
        sql=sql.ToMany("refunds", "transaction_id", "created_at DESC, id DESC"),
    ),
}

REFUND = {
    **_plain(RefundType, Refund),
    "id": _id(ids.REFUND),
    "destination": Spec(lambda r, _s: (r.destination_kind, r.destination_display), sql=sql.Same()),
    "transaction": Spec(
        _transaction, load_transactions_of, sql=sql.ToOne("transactions", "transaction_id")
    ),
    "events": Spec(
        lambda r, s: s.events_of[r.id],
        load_events_of,
        sql=sql.ToMany("refund_events", "refund_id", "id"),
    ),
    "initiatedBy": Spec(
        _initiator, load_initiators, sql=sql.ToOne("api_keys", "initiated_by_key_id")
    ),
}

API_KEY = {
    **_plain(ApiKeyType, ApiKey, {"prefix": "display_prefix"}),
    "id": _id(ids.API_KEY),
}

CONNECTION = {
    "edges": Spec(lambda p, _s: p.nodes, sql=sql.Edges()),
    "pageInfo": Spec(lambda p, _s: p, sql=sql.Same()),
    "totalCount": Spec(lambda p, _s: p.total, load_total, sql=sql.TotalCount()),
}

NEWEST_FIRST_EDGE = {  # a transaction or a refund: the cursor is its (created_at, id)
    "cursor": Spec(lambda n, _s: _newest_first(n), sql=sql.Cursor()),
    "node": Spec(lambda n, _s: n, sql=sql.Same()),
}


async def load_refund_of_entry(entries: list[LedgerEntry], state: State) -> None:
    await _load_missing(
        [e.refund_id for e in entries if e.refund_id is not None],
        state.refunds,
        state.reads.refunds_by_id,
        state.merchant_id,
    )


LEDGER_ENTRY = {
    **_plain(LedgerEntryType, LedgerEntry),
    "id": Spec(lambda e, _s: ids.encode(ids.LEDGER_ENTRY, e.id)),  # a bigint, not a uuid
    "refund": Spec(
        lambda e, s: None if e.refund_id is None else s.refunds[e.refund_id], load_refund_of_entry
    ),
}

# -- webhooks, refund batches and the refund summary -------------------------------------------
# Their values are the strawberry types' own objects, made by the functions their resolvers call
# (api/webhooks, api/batches, api/reports): from_domain sets what a field shows (an undelivered
# delivery's nextAttemptAt, the payload, an item's userErrors), so it is written there only.
# These read in Python (no `sql`): their roots have no single statement (api/compiled/sql.py).


def _own(strawberry_type: type) -> dict[str, Spec]:
    """The type's fields without a resolver: attributes of its objects, as strawberry reads them
    (a `strawberry.Private` one, such as an endpoint's domain value, is never shown)."""
    return {name: _attribute(attr) for name, attr in plain_fields(strawberry_type).items()}


def _attribute(name: str) -> Spec:
    return Spec(lambda obj, _state: getattr(obj, name), attr=name)


def _named(*strawberry_types: type) -> dict[str, dict[str, Spec]]:
    return {type_name(t): _own(t) for t in strawberry_types}


async def load_total_of(connections: list[Connection[Any]], state: State) -> None:
    for c in connections:
        if id(c) not in state.totals:
            state.totals[id(c)] = (c, await c.count())


OWN_CONNECTION = {  # strawberry's Connection, as api/pagination.py builds it
    **_own(Connection),
    "totalCount": Spec(lambda c, s: s.totals[id(c)][1], load_total_of),
}


async def load_refunds_of_items(items: list[RefundBatchItemType], state: State) -> None:
    await _load_missing(
        [i.refund_id for i in items if i.refund_id is not None],
        state.refunds,
        state.reads.refunds_by_id,
        state.merchant_id,
    )


# the node types of the connections the resolvers' own functions build (Connection[T] is named
# T's name and "Connection", its edges T's name and "Edge")
OWN_CONNECTIONS = [
    type_name(t) for t in (WebhookDeliveryType, RefundBatchType, RefundBatchItemType)
]

WEBHOOKS_BATCHES_SUMMARY: dict[str, dict[str, Spec]] = {
    **_named(WebhookEndpointType, WebhookDeliveryType, RefundBatchType, UserError),
    **_named(RefundSummaryType, RefundTotals, RefundStatusTotals, PaymentMethodTotals),
    **_named(RefundReasonTotals, DayTotals),
    "RefundBatchItem": {
        **_own(RefundBatchItemType),
        "refund": Spec(  # a domain Refund, as REFUND reads it
            lambda i, s: None if i.refund_id is None else s.refunds[i.refund_id],
            load_refunds_of_items,
        ),
    },
    **{f"{name}Connection": OWN_CONNECTION for name in OWN_CONNECTIONS},
    **{f"{name}Edge": _own(Edge) for name in OWN_CONNECTIONS},
}

SPECS: dict[str, dict[str, Spec]] = {
    "Transaction": TRANSACTION,
    "Refund": REFUND,
    "RefundDestination": {
        "kind": Spec(lambda d, _s: d[0], sql=sql.Column("destination_kind")),
        "display": Spec(lambda d, _s: d[1], sql=sql.Column("destination_display")),
    },
    "RefundEvent": _plain(RefundEventType, RefundEvent),
    "Merchant": {
        **_plain(MerchantType, Merchant),
        "id": _id(ids.MERCHANT),
        "apiKeys": Spec(
            lambda m, s: s.keys_of[m.id],
            load_api_keys_of,
            sql=sql.ToMany("api_keys", "merchant_id", "created_at, id"),
        ),
    },
    "ApiKey": API_KEY,
    "TransactionConnection": CONNECTION,
    "TransactionEdge": NEWEST_FIRST_EDGE,
    "RefundConnection": CONNECTION,
    "RefundEdge": NEWEST_FIRST_EDGE,
    "LedgerEntry": LEDGER_ENTRY,
    "LedgerEntryConnection": CONNECTION,
    "LedgerEntryEdge": {"cursor": Spec(lambda e, _s: _by_id(e)), "node": Spec(lambda e, _s: e)},
    "PageInfo": {
        "hasNextPage": Spec(
            lambda p, _s: p.has_next_page, attr="has_next_page", sql=sql.HasNextPage()
        ),
        "endCursor": Spec(lambda p, _s: p.end_cursor, attr="end_cursor", sql=sql.EndCursor()),
    },
    **WEBHOOKS_BATCHES_SUMMARY,
}


# -- fields with arguments: built per selected field, given its arguments for the request ------

Arguments = Callable[[State], dict[str, Any]]  # as the strawberry resolver receives them


def ledger(arguments: Arguments) -> Spec:
    """Merchant.ledger(first:, after:), as api/merchants/types.py's resolver pages it."""

    async def load(merchants: list[Merchant], state: State) -> None:
        args = arguments(state)
        try:
            size, after = page_size(args.get("first")), parse_id_cursor(args.get("after"))
        except GraphQLError:
            raise Fallback("bad first or after") from None
        reads = state.reads
        for m in merchants:
            if (load, m.id) not in state.pages:
                items = list(await reads.ledger(m.id, limit=size + 1, after=after))
                count = partial(reads.ledger_count, m.id)
                state.pages[(load, m.id)] = Page(items, size, count, _by_id)

    return Spec(lambda m, s: s.pages[(load, m.id)], load)


def _own_page(
    read: Callable[[State, Any, dict[str, Any]], Awaitable[Connection[Any]]],
) -> Callable[[Arguments], Spec]:
    """A connection field read per parent by the function its resolver calls, given the
    parent's domain value and the field's arguments; what that function refuses (first out of
    range, a cursor not ours), strawberry reports."""

    def spec(arguments: Arguments) -> Spec:
        async def load(parents: list[Any], state: State) -> None:
            args = arguments(state)
            for parent in parents:
                if (load, parent.domain.id) not in state.pages:
                    try:
                        found = await read(state, parent.domain, args)
                    except GraphQLError:
                        raise Fallback("bad first or after") from None
                    state.pages[(load, parent.domain.id)] = found

        return Spec(lambda p, s: s.pages[(load, p.domain.id)], load)

    return spec


def _deliveries(state: State, endpoint: Any, args: dict[str, Any]) -> Awaitable[Connection[Any]]:
    first, after, status = args.get("first"), args.get("after"), args.get("status")
    return deliveries_page(state.webhooks, endpoint, first, after, status)


def _items(state: State, batch: Any, args: dict[str, Any]) -> Awaitable[Connection[Any]]:
    first, after, status = args.get("first"), args.get("after"), args.get("status")
    return items_page(state.batches, batch, first, after, status)


WITH_ARGUMENTS: dict[str, dict[str, Callable[[Arguments], Spec]]] = {
    "Merchant": {"ledger": ledger},
    "WebhookEndpoint": {"deliveries": _own_page(_deliveries)},
    "RefundBatch": {"items": _own_page(_items)},
}
