"""Differential test: read documents generated from schema.graphql's Query type
(hypothesis-graphql) are answered twice by the same server, by compiled reads (api/compiled) and
by plain strawberry execution, on a shop with refunds in several statuses, a ledger, webhook
endpoints with deliveries in every state, refund batches with items in every status, and two
merchants. Every answer must be the same status and the same bytes, errors included; where the
compiler declines there is nothing to compare, and the share it compiled is checked too, root by
root."""

from __future__ import annotations

import os
import zlib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import graphql
from graphql import ArgumentNode, DocumentNode, IntValueNode, StringValueNode, Visitor, visit
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api import ids
from api.compiled.roots import ROOTS
from tests.api.both_paths import Both, api_key_ids
from tests.api.test_webhook_endpoints import create_endpoint
from tests.support import Api, Merchant

SCHEMA = Path(__file__).resolve().parents[2] / "schema.graphql"
DOCUMENTS = int(os.environ.get("REFUNDS_DIFFERENTIAL_DOCUMENTS", "500"))  # more by hand
INSTANTS = ["2026-01-01T00:00:00Z", "2030-01-01T00:00:00+05:30", "2000-01-01T00:00:00Z"]


def generated(count: int) -> list[DocumentNode]:
    """`count` distinct documents, the same ones on every run (derandomized)."""
    sdl = SCHEMA.read_text()
    strategy = queries(
        sdl,
        custom_scalars={
            "DateTime": st.sampled_from([StringValueNode(value=i) for i in INSTANTS]),
            "MinorUnits": st.just(IntValueNode(value="100")),
            "JSON": st.just(graphql.NullValueNode()),
        },
        print_ast=lambda document: document,  # kept as a tree: ids are filled in below
        allow_x00=False,
    )
    found: dict[str, DocumentNode] = {}

    @settings(
        max_examples=count * 2,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(document: Any) -> None:
        if len(found) < count:
            found.setdefault(graphql.print_ast(document), document)

    collect()
    return list(found.values())


class _RealArguments(Visitor):
    """Ids drawn from the shop (each generated string picks one, the same one every run), and
    page sizes mostly within 0..100, so that documents read data rather than fail."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__()
        self.ids = ids

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> ArgumentNode | None:
        name, value = node.name.value, node.value
        if name in ("id", "transactionId") and isinstance(value, StringValueNode):
            chosen = self.ids[zlib.crc32(value.value.encode()) % len(self.ids)]
            return ArgumentNode(name=node.name, value=StringValueNode(value=chosen))
        if name == "first" and isinstance(value, IntValueNode):
            return ArgumentNode(
                name=node.name, value=IntValueNode(value=str(int(value.value) % 103))
            )
        return None


def _root_fields(document: str) -> list[graphql.FieldNode]:
    operation = graphql.parse(document).definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    return [f for f in operation.selection_set.selections if isinstance(f, graphql.FieldNode)]


def _roots_of(document: str) -> set[str]:
    """The Query fields the document's operation selects."""
    return {field.name.value for field in _root_fields(document)}


def _kinds_of(document: str) -> set[str]:
    """What the document reads, as counted below: its root fields, `node:` and the prefix of
    the id it asks for, and the connections below the roots that take arguments."""
    kinds = set()
    for field in _root_fields(document):
        name = field.name.value
        kinds.add(name)
        if name == "node":
            for argument in field.arguments or ():
                if isinstance(argument.value, StringValueNode):
                    kinds.add(f"node:{ids.prefix_of(argument.value.value)}")
    for nested in ("deliveries", "items"):
        if f" {nested}" in document:
            kinds.add(nested)
    return kinds


def shop_ids(shop: dict[str, Any]) -> list[str]:
    return [
        *(t["id"] for t in shop["txs"]),
        *shop["refunds"],
        shop["other_tx"]["id"],
        shop["other_refund"],
        shop["other_held"],
        shop["merchant"].id,
        shop["other"].id,
        *shop.get("hooks_and_batches", []),
        "rfd_" + "0" * 32,
        "nope",
    ]


# -- webhook endpoints with deliveries, refund batches with items, for both merchants ----------
# Written in the tables directly, in every state, and never due while the test runs: the webhook
# dispatcher and the batch applier leave them as they are, so both paths read the same rows.
NEVER_DUE = datetime(2100, 1, 1, tzinfo=UTC)
# status, attempts, last response status, last error, next attempt, delivered
DELIVERY_STATES = [
    ("SUCCEEDED", 1, 204, None, None, True),
    ("RETRYING", 2, 500, "the receiver answered 500", NEVER_DUE, False),
    ("FAILED", 8, None, "timed out", None, False),
    ("PENDING", 0, None, None, NEVER_DUE, False),
]
DELIVERY = text(
    "INSERT INTO webhook_deliveries (merchant_id, id, endpoint_id, event_id, event_type, "
    "refund_id, refund_event_id, status, attempts, last_response_status, last_error, "
    "next_attempt_at, created_at, delivered_at) "
    "SELECT e.merchant_id, CAST(:id AS uuid), CAST(:endpoint AS uuid), CAST(:event_id AS text), "
    "CAST(:event_type AS text), e.refund_id, e.id, CAST(:status AS text), "
    "CAST(:attempts AS integer), CAST(:code AS integer), CAST(:error AS text), "
    "CAST(:next AS timestamptz), now() - CAST(:age AS integer) * interval '1 second', "
    "CASE WHEN CAST(:delivered AS boolean) THEN now() END "
    "FROM refund_events AS e WHERE e.merchant_id = CAST(:merchant AS uuid) "
    "ORDER BY e.id OFFSET CAST(:nth AS integer) LIMIT 1"
)
BATCH = text(
    "INSERT INTO refund_batches (merchant_id, id, idempotency_key, request_hash, status, total, "
    "queue_if_insufficient_balance, created_at, completed_at, next_attempt_at) "
    "VALUES (:merchant, :id, :key, 'seeded', :status, :total, false, "
    "now() - CAST(:age AS integer) * interval '1 second', "
    "CASE WHEN CAST(:completed AS boolean) THEN now() END, "
    "CAST(:due AS timestamptz))"
)
ITEM = text(
    "INSERT INTO refund_batch_items (merchant_id, batch_id, index, lane, transaction, "
    "transaction_id, order_id, amount, reason, speed, notes, idempotency_key, status, refund_id, "
    "error_code, error_field, error_message) "
    "VALUES (:merchant, :batch, :index, 0, :transaction, :transaction_id, :order_id, :amount, "
    "'CUSTOMER_REQUEST', 'NORMAL', NULL, :key, :status, :refund, :code, :field, :message)"
)


def _uuid(public_id: str) -> UUID:
    found = ids.decode_uuid(ids.prefix_of(public_id) or "", public_id)
    assert found is not None, public_id
    return found


async def _endpoints(api: Api, merchant: Merchant, count: int) -> list[str]:
    found = []
    for n in range(count):
        events = ["REFUND_PROCESSED", "REFUND_CREATED"][: n + 1]
        created = await create_endpoint(
            api, merchant, f"http://127.0.0.1:9/hooks/{n}", events, description=f"hook {n}"
        )
        assert created["userErrors"] == [], created
        found.append(created["endpoint"]["id"])
    disabled = await api.gql(
        "mutation($id: ID!) { updateWebhookEndpoint(input: {id: $id, status: DISABLED}) "
        "{ userErrors { code } } }",
        {"id": found[-1]},
        token=merchant.key,
    )
    assert disabled["updateWebhookEndpoint"]["userErrors"] == []
    return found


async def _deliveries(engine: AsyncEngine, merchant: UUID, endpoint: UUID, many: int) -> list[str]:
    found = []
    async with engine.begin() as conn:
        for n in range(many):
            status, attempts, code, error, next_at, delivered = DELIVERY_STATES[n % 4]
            key = uuid4()
            await conn.execute(
                DELIVERY,
                {
                    "merchant": merchant,
                    "id": key,
                    "endpoint": endpoint,
                    "event_id": f"msg_{key.hex}",
                    "event_type": "REFUND_CREATED" if n % 2 else "REFUND_PROCESSED",
                    "status": status,
                    "attempts": attempts,
                    "code": code,
                    "error": error,
                    "next": next_at,
                    "age": 60 * n,
                    "delivered": delivered,
                    "nth": n % 3,
                },
            )
            found.append(ids.encode(ids.WEBHOOK_DELIVERY, key))
    return found


async def _batch(
    engine: AsyncEngine, merchant: UUID, status: str, items: list[dict[str, Any]], age: int
) -> str:
    key = uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            BATCH,
            {
                "merchant": merchant,
                "id": key,
                "key": f"seeded-{key.hex}",
                "status": status,
                "total": len(items),
                "age": age,
                "completed": status != "RUNNING",
                "due": NEVER_DUE if status == "RUNNING" else None,
            },
        )
        for index, item in enumerate(items):
            values = {"transaction": None, "transaction_id": None, "order_id": None}
            values |= {"amount": None, "refund": None, "code": None, "field": None}
            values |= {"message": None, **item}
            await conn.execute(
                ITEM,
                {
                    "merchant": merchant,
                    "batch": key,
                    "index": index,
                    "key": f"seeded-{key.hex}-{index}",
                    **values,
                },
            )
    return ids.encode(ids.REFUND_BATCH, key)


def _created(refund: str, transaction: str, amount: int | None = None) -> dict[str, Any]:
    return {
        "status": "CREATED",
        "transaction": transaction,
        "transaction_id": _uuid(transaction),
        "amount": amount,
        "refund": _uuid(refund),
    }


REFUSED = {
    "status": "REFUSED",
    "transaction": "txn_nope",
    "code": "TRANSACTION_NOT_FOUND",
    "field": ["items", "1", "transaction"],
    "message": "No such transaction.",
}


async def hooks_and_batches(api: Api, engine: AsyncEngine, shop: dict[str, Any]) -> list[str]:
    """Endpoints (one of each merchant's disabled) with deliveries in every state, and batches
    running, completed and cancelled with items in every status; their public ids."""
    merchant, other = shop["merchant"], shop["other"]
    txs, refunds = shop["txs"], shop["refunds"]
    found: list[str] = []
    for who, count, many in ((merchant, 2, 9), (other, 1, 4)):
        endpoints = await _endpoints(api, who, count)
        found += endpoints
        for endpoint in endpoints:
            found += await _deliveries(engine, _uuid(who.id), _uuid(endpoint), many)
    mine, theirs = _uuid(merchant.id), _uuid(other.id)
    batches = [
        (mine, "COMPLETED", [_created(refunds[0], txs[0]["id"], 10_00), REFUSED]),
        (
            mine,
            "RUNNING",
            [
                {"status": "PENDING", "order_id": "order-7", "amount": 1_00},
                {"status": "PENDING", "transaction": txs[3]["id"], "transaction_id": None},
            ],
        ),
        (
            mine,
            "CANCELLED",
            [
                _created(refunds[3], txs[2]["id"], 5_00),
                {"status": "CANCELLED", "transaction": txs[5]["id"], "amount": 2_00},
                {**REFUSED, "code": "AMOUNT_EXCEEDS_REFUNDABLE", "field": None},
                {"status": "CANCELLED", "order_id": "order-9"},
            ],
        ),
        (theirs, "COMPLETED", [_created(shop["other_refund"], shop["other_tx"]["id"]), REFUSED]),
    ]
    for age, (who_id, status, items) in enumerate(batches):
        found.append(await _batch(engine, who_id, status, items, age * 60))
    return found


async def test_generated_reads_get_the_same_bytes_on_both_paths(
    both: Both, shop: dict[str, Any], engine: AsyncEngine
) -> None:
    # given documents generated from the schema, with the shop's ids in them, webhooks' and
    # batches' included
    shop = {**shop, "hooks_and_batches": await hooks_and_batches(both.api, engine, shop)}
    keys = [shop["merchant"].key, shop["other"].key]
    known = shop_ids(shop) + [i for key in keys for i in await api_key_ids(both.api, key)]
    documents = [graphql.print_ast(visit(d, _RealArguments(known))) for d in generated(DOCUMENTS)]
    assert len(documents) >= DOCUMENTS
    # when each is read by both paths, as either merchant; then both give the same bytes
    sent: Counter[str] = Counter()
    compiled_by: Counter[str] = Counter()
    left_to_strawberry = []
    for i, document in enumerate(documents):
        _, answer = await both.compare({"query": document}, keys[i % 2])
        kinds = _kinds_of(document)
        sent.update(kinds)
        if both.answered_fast[-1]:
            compiled_by.update(kinds)
        if b'"errors"' not in answer and not both.answered_fast[-1]:
            left_to_strawberry.append(document)
    compiled = sum(both.answered_fast)
    covered = sum(1 for d in documents if _roots_of(d) <= set(ROOTS))
    one_statement = both.planned.one_statement
    print(  # noqa: T201
        f"compiled {compiled} of {len(documents)} ({one_statement} in one statement); "
        f"{covered} read covered roots only; compiled of sent, by what they read: "
        + ", ".join(f"{kind} {compiled_by[kind]}/{sent[kind]}" for kind in sorted(sent))
    )
    # and every document answered without an error was answered compiled: what went to
    # strawberry is what it reports as an error (a cursor not ours, `first` out of range, `from`
    # not before `to`), which the generated arguments make common
    assert left_to_strawberry == []
    assert compiled >= covered * 2 // 3, (compiled, covered)
    assert one_statement > 0
    # and the reads that compile since webhooks, batches and the summary joined the plans were
    # read compiled, not left to strawberry
    for kind in COMPILED_SINCE_WEBHOOKS_AND_BATCHES:
        assert compiled_by[kind] > 0, (kind, compiled_by[kind], sent[kind])


COMPILED_SINCE_WEBHOOKS_AND_BATCHES = [
    "webhookEndpoints",
    "deliveries",
    f"node:{ids.WEBHOOK_ENDPOINT}",
    f"node:{ids.WEBHOOK_DELIVERY}",
    "refundBatch",
    "refundBatches",
    "items",
    f"node:{ids.REFUND_BATCH}",
    "refundSummary",
]


DELIVERY_FIELDS = """id eventId eventType attempts lastResponseStatus lastError
  nextAttemptAt createdAt deliveredAt payload __typename"""
ENDPOINT_FIELDS = f"""id url description enabledEvents createdAt
  deliveries(first: $first) {{ totalCount pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{ status {DELIVERY_FIELDS} }} }} }}
  failed: deliveries(first: 3, status: FAILED) {{ totalCount edges {{ node {{ id }} }} }}"""
BATCH_FIELDS = """id total created refused cancelled createdAt completedAt
  items(first: $first) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node {
    index status transactionId orderId amount userErrors { code field message }
    refund { id status amount transaction { id refundedAmount } } } } }
  pending: items(first: 3, status: PENDING) { totalCount edges { node { index } } }"""
TOTALS = "count amount"
EVERY_FIELD = f"""query($first: Int, $node: ID!, $from: DateTime!, $to: DateTime!) {{
  webhookEndpoints {{ status {ENDPOINT_FIELDS} }}
  refundBatches(first: $first) {{ totalCount pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{ status {BATCH_FIELDS} }} }} }}
  node(id: $node) {{ __typename
    ... on WebhookEndpoint {{ endpointStatus: status {ENDPOINT_FIELDS} }}
    ... on WebhookDelivery {{ deliveryStatus: status {DELIVERY_FIELDS} }}
    ... on RefundBatch {{ batchStatus: status {BATCH_FIELDS} }} }}
  refundSummary(from: $from, to: $to) {{ from to timeZone total {{ {TOTALS} }}
    byStatus {{ status {TOTALS} }} byPaymentMethod {{ paymentMethod {TOTALS} }}
    byReason {{ reason {TOTALS} }} byDay {{ date {TOTALS} }} }}
}}"""


async def test_every_field_of_webhooks_batches_and_the_summary_reads_compiled(
    both: Both, shop: dict[str, Any], engine: AsyncEngine
) -> None:
    # given endpoints with deliveries and batches with items, for both merchants
    seeded = await hooks_and_batches(both.api, engine, shop)
    keys = [shop["merchant"].key, shop["other"].key]
    # when a document reading every field of them is sent for each of their ids (another
    # merchant's included), two page sizes, by both merchants
    for node in seeded:
        for first in (2, 5):
            for key in keys:
                variables = {
                    "first": first,
                    "node": node,
                    "from": "2000-01-01T00:00:00Z",
                    "to": "2100-01-01T00:00:00+05:30",
                }
                status, answer = await both.compare(
                    {"query": EVERY_FIELD, "variables": variables}, key
                )
                # then each is answered compiled, with the same bytes as strawberry's
                assert status == 200
                assert b'"errors"' not in answer, answer
                assert both.answered_fast[-1], (node, first)
                # and no secret is ever shown
                assert b"whsec_" not in answer
