"""A small GraphQL client for the tests, speaking to the real server over HTTP."""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass
from typing import Any

import httpx

CREATE_MERCHANT = """
mutation($input: CreateMerchantInput!) {
  createMerchant(input: $input) { merchant { id name currency balance } apiKey
                                  userErrors { code field message } }
}"""

RECORD_TRANSACTION = """
mutation($input: RecordTransactionInput!) {
  recordTransaction(input: $input) {
    transaction { id reference orderId amount currency status paymentMethod source createdAt }
    userErrors { code field message }
  }
}"""

RECHARGE = """
mutation($input: RechargeBalanceInput!) {
  rechargeBalance(input: $input) { merchant { id balance } userErrors { code field message } }
}"""

REFUND_FIELDS = """
  id amount currency status reason notes metadata speedRequested speedProcessed
  destination { kind display } failureCode failureMessage bankReference
  estimatedSettlementAt createdAt updatedAt processedAt
  events { status at message failureCode }
  transaction { id refundedAmount refundableAmount }
"""

INITIATE_REFUND = f"""
mutation($input: InitiateRefundInput!) {{
  initiateRefund(input: $input) {{
    refund {{ {REFUND_FIELDS} }} userErrors {{ code field message }}
  }}
}}"""

CANCEL_REFUND = f"""
mutation($input: CancelRefundInput!) {{
  cancelRefund(input: $input) {{ refund {{ {REFUND_FIELDS} }} userErrors {{ code field message }} }}
}}"""


class GraphQLFailed(AssertionError):
    pass


@dataclass
class Merchant:
    id: str
    key: str


@dataclass
class Api:
    http: httpx.AsyncClient
    admin_token: str

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """Run an operation that must succeed; returns `data`."""
        response = await self.post(query, variables, token=token)
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise GraphQLFailed(f"{response.status_code}: {body}")
        data: dict[str, Any] = body["data"]
        return data

    async def admin(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.gql(query, variables, token=self.admin_token)

    async def create_merchant(self, name: str = "Test Merchant", currency: str = "INR") -> Merchant:
        data = await self.admin(CREATE_MERCHANT, {"input": {"name": name, "currency": currency}})
        payload = data["createMerchant"]
        assert payload["userErrors"] == []
        return Merchant(payload["merchant"]["id"], payload["apiKey"])

    async def record_transaction(self, merchant: Merchant, **fields: Any) -> dict[str, Any]:
        payload = (
            await self.admin(RECORD_TRANSACTION, {"input": transaction_input(merchant, **fields)})
        )["recordTransaction"]
        assert payload["userErrors"] == [], payload
        transaction: dict[str, Any] = payload["transaction"]
        return transaction

    async def recharge(self, merchant: Merchant, amount: int, reference: str | None = None) -> int:
        data = await self.admin(
            RECHARGE,
            {
                "input": {
                    "merchantId": merchant.id,
                    "amount": amount,
                    "reference": reference or f"rch_{secrets.token_hex(6)}",
                }
            },
        )
        payload = data["rechargeBalance"]
        assert payload["userErrors"] == [], payload
        balance: int = payload["merchant"]["balance"]
        return balance

    async def initiate_refund(self, merchant: Merchant, **fields: Any) -> dict[str, Any]:
        """Returns the initiateRefund payload (refund and userErrors)."""
        data = await self.gql(
            INITIATE_REFUND, {"input": {"reason": "CUSTOMER_REQUEST", **fields}}, token=merchant.key
        )
        payload: dict[str, Any] = data["initiateRefund"]
        return payload

    async def cancel_refund(self, merchant: Merchant, refund_id: str) -> dict[str, Any]:
        data = await self.gql(CANCEL_REFUND, {"input": {"refundId": refund_id}}, token=merchant.key)
        payload: dict[str, Any] = data["cancelRefund"]
        return payload

    async def balance(self, merchant: Merchant) -> int:
        data = await self.gql("{ viewer { balance } }", token=merchant.key)
        balance: int = data["viewer"]["balance"]
        return balance


def transaction_input(merchant: Merchant, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "merchantId": merchant.id,
        "reference": f"pay_{secrets.token_hex(6)}",
        "orderId": f"order_{secrets.token_hex(4)}",
        "amount": 100_00,
        "currency": "INR",
        "status": "SUCCESS",
        "paymentMethod": "UPI",
        "source": "customer@okaxis",
    }
    values.update(fields)
    return values


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
