"""Real data for the fuzzers to aim at, made over HTTP like any client would: two merchants
(the one the fuzzer speaks as, and another whose IDs it must never reach), transactions of every
status and method, refunds the processor takes to different ends, a second API key, ledger
entries. Their IDs, cursors and references become the fuzzers' values, so that generated
mutations get past "not found" into the code that moves money."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support import Api, Merchant

CREATE_API_KEY = """mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { apiKey { id } userErrors { code } } }"""

PAGES = """{
  viewer { id ledger(first: 2) { edges { node { id } } pageInfo { endCursor } } }
  transactions(first: 2) { pageInfo { endCursor } }
  refunds(first: 2) { pageInfo { endCursor } }
}"""

# Values a client plausibly sends: currencies, destinations (with the sandbox rails' markers,
# processor/sandbox.py), an IFSC, markers the rails act on.
PLAUSIBLE_STRINGS = [
    "INR",
    "USD",
    "",
    "customer@okaxis",
    "frozen@oksbi",
    "flaky@ybl",
    "reject@paytm",
    "HDFC0001234",
    "4111111111111111",
    "Asha Verma",
]


@dataclass
class Seeded:
    merchant: Merchant  # the one the fuzzers speak as
    ids: list[str] = field(default_factory=list)  # of both merchants, every type
    strings: list[str] = field(default_factory=lambda: list(PLAUSIBLE_STRINGS))
    transaction_ids: list[str] = field(default_factory=list)  # the fuzzed merchant's, refundable


async def seed(api: Api) -> Seeded:
    merchant = await api.create_merchant("Fuzz Merchant")
    other = await api.create_merchant("Other Merchant")
    seeded = Seeded(merchant, ids=[merchant.id, other.id])
    await api.recharge(merchant, 1_000_000_000_00)
    for source, method in [
        ("customer@okaxis", "UPI"),
        ("frozen@okaxis", "UPI"),
        ("4111 1111 1111 1111", "CARD"),
        ("flaky bank 12345", "NET_BANKING"),
    ]:
        paid = await _transaction(api, seeded, merchant, source=source, paymentMethod=method)
        seeded.transaction_ids.append(paid["id"])
        await _refund(api, seeded, merchant, paid["id"], amount=1_00)
    for status in ["FAILED", "PENDING"]:
        await _transaction(api, seeded, merchant, status=status)
    long_ago = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    await _transaction(api, seeded, merchant, createdAt=long_ago)
    # the other merchant has no balance: its refund waits ON_HOLD
    theirs = await _transaction(api, seeded, other)
    await _refund(api, seeded, other, theirs["id"], queueIfInsufficientBalance=True)
    key = await api.gql(
        CREATE_API_KEY, {"input": {"name": "reader", "scope": "READ_ONLY"}}, token=merchant.key
    )
    seeded.ids.append(key["createApiKey"]["apiKey"]["id"])
    pages = await api.gql(PAGES, token=merchant.key)
    seeded.ids += [edge["node"]["id"] for edge in pages["viewer"]["ledger"]["edges"]]
    seeded.strings += [
        pages["viewer"]["ledger"]["pageInfo"]["endCursor"],
        pages["transactions"]["pageInfo"]["endCursor"],
        pages["refunds"]["pageInfo"]["endCursor"],
    ]
    return seeded


async def _transaction(
    api: Api, seeded: Seeded, merchant: Merchant, **fields: Any
) -> dict[str, Any]:
    paid = await api.record_transaction(merchant, amount=1_000_000_00, **fields)
    seeded.ids.append(paid["id"])
    seeded.strings += [paid["reference"], paid["orderId"]]
    return paid


async def _refund(
    api: Api, seeded: Seeded, merchant: Merchant, transaction_id: str, **fields: Any
) -> None:
    idempotency_key = f"fuzz-{len(seeded.ids)}"
    payload = await api.initiate_refund(
        merchant, transactionId=transaction_id, idempotencyKey=idempotency_key, **fields
    )
    assert payload["userErrors"] == [], payload
    seeded.ids.append(payload["refund"]["id"])
    seeded.strings.append(idempotency_key)
