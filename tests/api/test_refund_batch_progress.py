"""refundBatchUpdated over a real WebSocket: progress while the batch runs, then its final
state, then the subscription completes; nothing for another merchant's batch."""

from __future__ import annotations

from typing import Any

from tests.api.account_state import merchant_with_balance
from tests.api.batches import submit
from tests.processing.live import live
from tests.support import Api

PROGRESS = """subscription($id: ID!) {
  refundBatchUpdated(batchId: $id) { id status total created refused cancelled } }"""


async def _pushed_until_complete(client: Any, op_id: str) -> list[dict[str, Any]]:
    pushed: list[dict[str, Any]] = []
    while True:
        message = await client.receive()
        assert message["id"] == op_id
        if message["type"] == "complete":
            return pushed
        assert message["type"] == "next", message
        assert not message["payload"].get("errors"), message
        pushed.append(message["payload"]["data"]["refundBatchUpdated"])


async def test_progress_is_pushed_until_the_final_state(api: Api, server: str) -> None:
    # given a batch of 300 items, a third of which are refused
    merchant = await merchant_with_balance(api, 10_000_000)
    paid = await api.record_transaction(merchant, amount=200_00)
    items = [{"transactionId": paid["id"], "amount": 1_00, "reason": "OTHER"}] * 200
    items += [{"orderId": "nothing-like-it", "reason": "OTHER"}] * 100
    batch_id = (await submit(api, merchant, items))["batch"]["id"]
    # when its owner follows it
    async with live(server, merchant.key) as client:
        pushed = await _pushed_until_complete(client, await client.subscribe(PROGRESS, id=batch_id))
    # then the counts only grow, and the last push is the final state
    assert pushed
    done = [p["created"] + p["refused"] for p in pushed]
    assert done == sorted(done)
    assert pushed[-1] == {
        "id": batch_id,
        "status": "COMPLETED",
        "total": 300,
        "created": 200,
        "refused": 100,
        "cancelled": 0,
    }


async def test_another_merchants_batch_pushes_nothing(api: Api, server: str) -> None:
    owner = await merchant_with_balance(api, 100_00)
    other = await api.create_merchant()
    paid = await api.record_transaction(owner, amount=10_00)
    items = [{"transactionId": paid["id"], "amount": 1_00, "reason": "OTHER"}]
    batch_id = (await submit(api, owner, items))["batch"]["id"]
    async with live(server, other.key) as client:
        for asked in (batch_id, "rbt_nonsense"):
            assert (
                await _pushed_until_complete(client, await client.subscribe(PROGRESS, id=asked))
                == []
            )
