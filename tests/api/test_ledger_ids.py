"""A ledger entry's id, and the ledger's cursors, are numbered within the merchant: they tell
a merchant nothing about how many entries other merchants have."""

from __future__ import annotations

import base64

from tests.support import Api, Merchant

LEDGER = """query($after: String) { viewer { ledger(first: 2, after: $after) {
  pageInfo { hasNextPage endCursor } edges { cursor node { id kind amount } } } } }"""


async def _ledger_ids(api: Api, merchant: Merchant) -> list[str]:
    """Every entry id, newest first, read a page of 2 at a time."""
    found: list[str] = []
    after = None
    while True:
        page = (await api.gql(LEDGER, {"after": after}, token=merchant.key))["viewer"]["ledger"]
        found += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def _decoded(cursor: str) -> str:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()


async def test_each_merchants_ledger_is_numbered_from_one(api: Api) -> None:
    # given a merchant whose ledger moved 3 times, interleaved with another merchant's 5
    busy, quiet = await api.create_merchant(), await api.create_merchant()
    for n in range(5):
        await api.recharge(busy, 100_00)
        if n < 2:
            await api.recharge(quiet, 10_00)
    transaction = await api.record_transaction(quiet, amount=50_00)
    await api.initiate_refund(quiet, transactionId=transaction["id"], amount=5_00)
    # then each merchant's entries are 1, 2, 3… newest first, whatever the other one did
    assert await _ledger_ids(api, quiet) == ["led_3", "led_2", "led_1"]
    assert await _ledger_ids(api, busy) == [f"led_{n}" for n in range(5, 0, -1)]
    # and the cursors carry the same per-merchant numbers
    page = (await api.gql(LEDGER, token=quiet.key))["viewer"]["ledger"]
    assert [_decoded(edge["cursor"]) for edge in page["edges"]] == ["3", "2"]
