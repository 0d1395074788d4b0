"""refundBatchUpdated over a real WebSocket: progress while the batch runs, then its final
state, then the subscription completes; nothing for another merchant's batch. Pushed on the
applier's NOTIFY: one per committed chunk of items and one for the final state."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg

from api import ids
from api.batches.followers import BatchFollowers
from db.listener import connect_kwargs
from db.notifications import REFUND_BATCH_PROGRESS_CHANNEL
from processor.batches import ITEMS_PER_COMMIT
from tests.api.account_state import merchant_with_balance
from tests.api.batches import submit
from tests.processing.live import live, wait_until
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


async def test_each_committed_chunk_notifies_once_and_pushes_its_counts(
    api: Api, server: str, database_url: str
) -> None:
    # given a batch of three chunks' worth of items on one payment, and an ear on the channel
    merchant = await merchant_with_balance(api, 1_000_00)
    paid = await api.record_transaction(merchant, amount=100_00)
    chunks = 3
    items = [{"transactionId": paid["id"], "amount": 1_00, "reason": "OTHER"}] * (
        chunks * ITEMS_PER_COMMIT
    )
    heard: list[str] = []
    ear = await asyncpg.connect(**connect_kwargs(database_url))
    try:
        await ear.add_listener(REFUND_BATCH_PROGRESS_CHANNEL, lambda *n: heard.append(n[3]))
        batch_id = (await submit(api, merchant, items))["batch"]["id"]
        # when its owner follows it to the end
        async with live(server, merchant.key) as client:
            op_id = await client.subscribe(PROGRESS, id=batch_id)
            pushed = await _pushed_until_complete(client, op_id)
        key = str(ids.decode_uuid(ids.REFUND_BATCH, batch_id))

        async def final_heard() -> bool:
            return heard.count(key) >= chunks + 1

        await wait_until(final_heard, "the batch's final notification")
    finally:
        await ear.close()
    # then the database announced each chunk's commit and the final state, not each item
    assert heard.count(key) == chunks + 1
    # and every push is a committed state, each newer than the one before, the last final
    assert pushed[-1]["status"] == "COMPLETED"
    assert pushed[-1]["created"] == chunks * ITEMS_PER_COMMIT
    states = [(p["created"], p["status"] == "COMPLETED") for p in pushed]
    assert states == sorted(set(states))
    assert all(p["created"] % ITEMS_PER_COMMIT == 0 for p in pushed)


async def test_followers_wake_for_their_batch_and_all_after_a_reconnection() -> None:
    followers = BatchFollowers()
    one, other = uuid4(), uuid4()
    with followers.follow(one) as one_moved, followers.follow(other) as other_moved:
        followers.notify(str(one))
        followers.notify("not a batch id")  # logged and ignored
        assert one_moved.is_set()
        assert not other_moved.is_set()
        one_moved.clear()
        followers.wake_all()  # the LISTEN connection came back: notifications may be lost
        assert one_moved.is_set()
        assert other_moved.is_set()
    followers.notify(str(one))  # nobody follows it any more
