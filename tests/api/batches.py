"""Test helpers for refund batches over the real API."""

from __future__ import annotations

import secrets
from typing import Any

from tests.processing.live import wait_until
from tests.support import Api, Merchant

BATCH_FIELDS = "id status total created refused cancelled createdAt completedAt"
ITEM_FIELDS = """index status transactionId orderId amount
  refund { id amount status transaction { id } } userErrors { code field message }"""

INITIATE = f"""mutation($input: InitiateRefundBatchInput!) {{
  initiateRefundBatch(input: $input) {{
    batch {{ {BATCH_FIELDS} }} userErrors {{ code field message }} }} }}"""
CANCEL = f"""mutation($id: ID!) {{
  cancelRefundBatch(input: {{id: $id}}) {{
    batch {{ {BATCH_FIELDS} }} userErrors {{ code field message }} }} }}"""
BATCH = f"""query($id: ID!, $after: String) {{ refundBatch(id: $id) {{ {BATCH_FIELDS}
  items(first: 100, after: $after) {{ totalCount edges {{ node {{ {ITEM_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }} }} }} }}"""


async def submit(
    api: Api, merchant: Merchant, items: list[dict[str, Any]], key: str | None = None, **more: Any
) -> dict[str, Any]:
    """The initiateRefundBatch payload."""
    variables = {
        "input": {"items": items, "idempotencyKey": key or f"b-{secrets.token_hex(6)}", **more}
    }
    payload: dict[str, Any] = (await api.gql(INITIATE, variables, token=merchant.key))[
        "initiateRefundBatch"
    ]
    return payload


async def batch(api: Api, merchant: Merchant, batch_id: str) -> dict[str, Any] | None:
    """The batch with every item (all pages), or None."""
    found: dict[str, Any] | None = None
    items: list[dict[str, Any]] = []
    after = None
    while True:
        data = await api.gql(BATCH, {"id": batch_id, "after": after}, token=merchant.key)
        found = data["refundBatch"]
        if found is None:
            return None
        page = found["items"]
        items += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert found is not None
    found["items"] = items
    return found


async def applied(api: Api, merchant: Merchant, batch_id: str) -> dict[str, Any]:
    """The batch once the processor has finished with it (COMPLETED or CANCELLED)."""

    async def finished() -> bool:
        data = await api.gql(
            "query($id: ID!) { refundBatch(id: $id) { status } }",
            {"id": batch_id},
            token=merchant.key,
        )
        return bool(data["refundBatch"]["status"] != "RUNNING")

    await wait_until(finished, f"batch {batch_id} to be applied")
    found = await batch(api, merchant, batch_id)
    assert found is not None
    return found
