"""Reading a merchant's money over the API, to show what a request changed (or did not).

A snapshot holds what must not move when a request is refused: the balance, every ledger entry
and the set of refunds. Refund statuses are left out on purpose: the background processor may
move a refund on between two reads, which is not a change the refused request made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support import REFUND_FIELDS, Api, Merchant

ACCOUNT = """{
  viewer { balance ledger(first: 100) { totalCount edges { node {
    id kind amount balanceAfter reference refund { id } } } } }
  refunds(first: 100) { totalCount edges { node { id } } }
}"""

REFUND = f"query($id: ID!) {{ refund(id: $id) {{ {REFUND_FIELDS} }} }}"

TRANSACTION = """query($id: ID!) {
  transaction(id: $id) { id amount refundedAmount refundableAmount refunds { id amount status } }
}"""


@dataclass(frozen=True)
class Account:
    balance: int
    ledger: tuple[dict[str, Any], ...]  # oldest first
    refund_ids: frozenset[str]

    def entries(self, kind: str) -> list[dict[str, Any]]:
        return [entry for entry in self.ledger if entry["kind"] == kind]

    def entries_for(self, refund_id: str) -> list[tuple[str, int]]:
        """(kind, amount) of the ledger entries that name this refund, oldest first."""
        return [
            (entry["kind"], entry["amount"])
            for entry in self.ledger
            if entry["refund"] and entry["refund"]["id"] == refund_id
        ]


async def account(api: Api, merchant: Merchant) -> Account:
    data = await api.gql(ACCOUNT, token=merchant.key)
    ledger = data["viewer"]["ledger"]
    assert ledger["totalCount"] == len(ledger["edges"]), "more than a page of ledger entries"
    refunds = data["refunds"]
    assert refunds["totalCount"] == len(refunds["edges"]), "more than a page of refunds"
    return Account(
        balance=data["viewer"]["balance"],
        ledger=tuple(reversed([edge["node"] for edge in ledger["edges"]])),
        refund_ids=frozenset(edge["node"]["id"] for edge in refunds["edges"]),
    )


async def refund(api: Api, merchant: Merchant, refund_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await api.gql(REFUND, {"id": refund_id}, token=merchant.key))["refund"]
    assert found is not None, refund_id
    return found


async def transaction(api: Api, merchant: Merchant, transaction_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (
        await api.gql(TRANSACTION, {"id": transaction_id}, token=merchant.key)
    )["transaction"]
    assert found is not None, transaction_id
    return found


def refused(payload: dict[str, Any]) -> dict[str, Any]:
    """The one userError of a refused mutation (which must have returned no refund)."""
    assert payload["refund"] is None, payload
    assert len(payload["userErrors"]) == 1, payload
    error: dict[str, Any] = payload["userErrors"][0]
    return error


def created(payload: dict[str, Any]) -> dict[str, Any]:
    """The refund of a mutation that must have succeeded."""
    assert payload["userErrors"] == [], payload
    made: dict[str, Any] = payload["refund"]
    return made


async def merchant_with_balance(api: Api, balance: int) -> Merchant:
    merchant = await api.create_merchant()
    if balance:
        await api.recharge(merchant, balance)
    return merchant
