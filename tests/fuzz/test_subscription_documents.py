"""Generated subscription documents over graphql-transport-ws to the real `refunds serve`
(schemathesis speaks HTTP only). Each document is subscribed next to a sentinel subscription, a
refund is made and processed so that live changes are pushed, then a ping/pong fences the
exchange: every reply to the generated document must be `next` (its errors typed) or a typed
`error`, the socket must stay open, and the server must log no ERROR line."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, queries
from websockets.exceptions import ConnectionClosed

from tests.api.serve_process import ADMIN_TOKEN
from tests.fuzz.conftest import EXAMPLES, Target, cases_sent
from tests.fuzz.scalars import scalar_strategies
from tests.fuzz.verdicts import error_lines, untyped_errors
from tests.processing.live import TERMINAL, LiveClient, live
from tests.support import INITIATE_REFUND, Api

INVALID_MESSAGE = 4400
SCHEMA = graphql.build_schema((Path(__file__).parents[2] / "schema.graphql").read_text())
SENTINEL = """subscription($transactionId: ID) {
  refundUpdated(transactionId: $transactionId) { id status } }"""


def subscription_documents(
    scalars: dict[str, st.SearchStrategy[graphql.ValueNode]], mode: Mode
) -> st.SearchStrategy[str]:
    """hypothesis-graphql generates queries and mutations only: generate queries of a schema whose
    query root is the Subscription type, and print them as subscriptions."""
    assert SCHEMA.subscription_type is not None
    subscription_rooted = graphql.GraphQLSchema(
        query=SCHEMA.subscription_type, types=list(SCHEMA.type_map.values())
    )
    return queries(
        subscription_rooted, custom_scalars=scalars, mode=mode, print_ast=_as_subscription
    )


def _as_subscription(document: graphql.DocumentNode) -> str:
    definitions = [
        dataclasses.replace(node, operation=graphql.OperationType.SUBSCRIPTION)
        if isinstance(node, graphql.OperationDefinitionNode)
        else node
        for node in document.definitions
    ]
    return graphql.print_ast(graphql.DocumentNode(definitions=tuple(definitions)))


@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE], ids=["positive", "negative"])
def test_generated_subscriptions_get_next_or_a_typed_error(mode: Mode, target: Target) -> None:
    documents = subscription_documents(scalar_strategies(target.seeded), mode)

    @settings(
        max_examples=EXAMPLES // 2,  # each waits for a refund to be processed
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(document=documents)
    def one_subscription(document: str) -> None:
        cases_sent[f"subscriptions merchant/{mode.name.lower()}"] += 1
        try:
            replies = _replies(target, document)
        finally:
            logged = target.served.new_log()  # this document's lines, not the next one's
        for reply in replies:
            assert reply["type"] in ("next", "error", "complete"), reply
            errors = reply["payload"] if reply["type"] == "error" else reply.get("payload", {})
            errors = errors.get("errors", []) if isinstance(errors, dict) else errors
            assert untyped_errors(errors) == [], reply
        assert error_lines(logged) == []

    one_subscription()


def _replies(target: Target, document: str) -> list[dict[str, Any]]:
    try:
        return asyncio.run(_exchange(target, document))
    except ConnectionClosed as closed:
        # graphql-transport-ws closes with 4400 on a message it cannot read: the answer to a
        # lone surrogate, which JSON can escape but no text can hold. Any other close fails.
        if _is_text(document) or closed.rcvd is None or closed.rcvd.code != INVALID_MESSAGE:
            raise
        return []


async def _exchange(target: Target, document: str) -> list[dict[str, Any]]:
    """Subscribe `document`, push a few live changes, fence with ping/pong; returns the replies
    to `document`. A closed socket fails the test (websockets raises ConnectionClosed).

    Each document gets a payment of its own to refund: examples stay independent, and a
    transaction does not pile up refunds that a nested selection would multiply."""
    merchant = target.seeded.merchant
    async with httpx.AsyncClient(base_url=target.served.base_url, timeout=30) as http:
        api = Api(http, ADMIN_TOKEN)
        transaction_id = (await api.record_transaction(merchant))["id"]
        async with live(target.served.base_url, merchant.key) as client:
            sentinel = await client.subscribe(SENTINEL, transactionId=transaction_id)
            # json escapes a lone surrogate (a WebSocket text frame cannot carry one raw);
            # orjson, which LiveClient.send uses, refuses it
            fuzzed = "fuzzed"
            subscribe = {"type": "subscribe", "id": fuzzed, "payload": {"query": document}}
            await client.ws.send(json.dumps(subscribe))
            made = await api.gql(
                INITIATE_REFUND,
                {"input": {"transactionId": transaction_id, "amount": 1, "reason": "OTHER"}},
                token=merchant.key,
            )
            return await _replies_until_settled(client, sentinel, fuzzed, made)


async def _replies_until_settled(
    client: LiveClient, sentinel: str, fuzzed: str, made: dict[str, Any]
) -> list[dict[str, Any]]:
    """The replies to the fuzzed document until the sentinel has seen the refund settle, and
    then up to a pong (what the server sent before it)."""
    replies: list[dict[str, Any]] = []
    refund_id = made["initiateRefund"]["refund"]["id"]
    while True:
        message = await client.receive()
        if message.get("id") == fuzzed:
            replies.append(message)
        elif message.get("id") == sentinel and _settled(message, refund_id):
            break
    await client.send({"type": "ping"})
    return replies + await _until_pong(client, fuzzed)


def _is_text(document: str) -> bool:
    try:
        document.encode()
    except UnicodeEncodeError:
        return False
    return True


def _settled(message: dict[str, Any], refund_id: str) -> bool:
    refund = message["payload"]["data"]["refundUpdated"]
    return bool(refund["id"] == refund_id and refund["status"] in TERMINAL)


async def _until_pong(client: LiveClient, op_id: str) -> list[dict[str, Any]]:
    replies = []
    while (message := await client.receive())["type"] != "pong":
        if message.get("id") == op_id:
            replies.append(message)
    return replies
