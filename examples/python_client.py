"""A merchant's back end in Python with `gql`: read a page of transactions, refund one with an
idempotency key, and follow the refund live over the WebSocket subscription until it settles.

    pip install 'gql[httpx,websockets]'
    python examples/python_client.py --url http://127.0.0.1:8000 --key rk_…

It prints one JSON line per step (the tests read them: tests/examples/test_examples.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from typing import Any

from gql import Client, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

PAGE = gql("""
query Page($first: Int!, $after: String) {
  transactions(first: $first, after: $after, filter: {status: SUCCESS}) {
    edges { node { id orderId amount currency refundableAmount } }
    pageInfo { hasNextPage endCursor }
  }
}""")
INITIATE = gql("""
mutation Refund($input: InitiateRefundInput!) {
  initiateRefund(input: $input) {
    refund { id status amount }
    userErrors { code field message }
  }
}""")
FOLLOW = gql("""
subscription Follow($refundId: ID!) {
  refundUpdated(refundId: $refundId) { id status failureCode bankReference }
}""")
STATUS = gql("query Status($id: ID!) { refund(id: $id) { id status } }")
# Statuses a refund does not leave by itself (REVERSED may still follow PROCESSED, later).
SETTLED = {"PROCESSED", "FAILED", "CANCELLED", "REVERSED", "ACTION_REQUIRED"}


def say(step: str, **data: Any) -> None:
    print(json.dumps({"step": step, **data}), flush=True)  # noqa: T201  (an example's output)


async def first_refundable(http: Any) -> dict[str, Any] | None:
    """Walk the pages, newest first, to the first transaction with something left to refund."""
    after = None
    while True:
        page = await http.execute(PAGE, variable_values={"first": 20, "after": after})
        connection = page["transactions"]
        for edge in connection["edges"]:
            if edge["node"]["refundableAmount"] > 0:
                node: dict[str, Any] = edge["node"]
                return node
        if not connection["pageInfo"]["hasNextPage"]:
            return None
        after = connection["pageInfo"]["endCursor"]


async def main(url: str, key: str, amount: int) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    http_transport = HTTPXAsyncTransport(url=f"{url}/graphql", headers=auth)
    ws_transport = WebsocketsTransport(
        url=url.replace("http", "ws", 1) + "/graphql", init_payload=auth
    )
    async with Client(transport=http_transport) as http:
        transaction = await first_refundable(http)
        if transaction is None:
            say("nothing to refund")
            return
        say("transaction", id=transaction["id"], refundable=transaction["refundableAmount"])
        # The idempotency key makes a retry after a timeout safe: the same key returns the
        # same refund, never a second one.
        idempotency_key = f"example-{uuid.uuid4()}"
        refund_input = {
            "transactionId": transaction["id"],
            "amount": min(amount, transaction["refundableAmount"]),
            "reason": "CUSTOMER_REQUEST",
            "idempotencyKey": idempotency_key,
        }
        made = await http.execute(INITIATE, variable_values={"input": refund_input})
        payload = made["initiateRefund"]
        if payload["userErrors"]:
            say("refused", errors=payload["userErrors"])
            return
        again = await http.execute(INITIATE, variable_values={"input": refund_input})
        refund = payload["refund"]
        say(
            "refund",
            id=refund["id"],
            status=refund["status"],
            retried_same=again["initiateRefund"]["refund"]["id"] == refund["id"],
        )
    if refund["status"] not in SETTLED:
        await follow(ws_transport, http_transport, refund["id"])


async def follow(ws_transport: Any, http_transport: Any, refund_id: str) -> None:
    """Print each change until the refund settles. The protocol never says when the server has
    registered a subscription, and changes made before then are not pushed: the status is read
    now, and again whenever a second passes without a change, so none slips through."""
    changes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def listen(live: Any) -> None:
        async for change in live.subscribe(FOLLOW, variable_values={"refundId": refund_id}):
            await changes.put(change["refundUpdated"])

    async with Client(transport=ws_transport) as live, Client(transport=http_transport) as http:
        listening = asyncio.create_task(listen(live))
        while True:
            try:
                update = await asyncio.wait_for(changes.get(), timeout=1)
            except TimeoutError:
                now = await http.execute(STATUS, variable_values={"id": refund_id})
                if now["refund"]["status"] not in SETTLED:
                    continue
                update = now["refund"]
            say("update", id=update["id"], status=update["status"])
            if update["status"] in SETTLED:
                break
        listening.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="a merchant API key (rk_…)")
    parser.add_argument("--amount", type=int, default=100, help="minor units (paise)")
    args = parser.parse_args()
    asyncio.run(main(args.url, args.key, args.amount))
