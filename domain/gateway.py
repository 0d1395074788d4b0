"""The port to the bank rails: what the processor asks a payment gateway, and what it hears back.

A gateway call is idempotent per `idempotency_key`: asking again with the same key returns the
first answer and never pays twice. That is what makes a retried call after a crash safe. A
transient error is not an answer (nothing happened at the bank), so it may be asked again.

Money a bank sends back later (a bounce) arrives as a `BankReturn`, the way a real gateway
would send a webhook; the processor polls the port for them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from domain.model import DestinationKind, PaymentMethod, RefundSpeed


@dataclass(frozen=True, slots=True)
class PayoutRequest:
    """One refund as the rails see it. `destination` is what the money goes to: the
    transaction's (masked) source, or the alternate account or VPA in full."""

    idempotency_key: str
    refund_id: UUID
    merchant_id: UUID
    amount: int
    currency: str
    payment_method: PaymentMethod
    destination_kind: DestinationKind
    destination: str
    speed_requested: RefundSpeed


@dataclass(frozen=True, slots=True)
class Settled:
    """The bank paid. `speed` is the speed it actually used (INSTANT may fall back)."""

    bank_reference: str
    speed: RefundSpeed


@dataclass(frozen=True, slots=True)
class ActionRequired:
    """The customer's account cannot take the money now; the merchant must give another."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """The bank refused for good; the money goes back to the merchant."""

    code: str
    message: str


PayoutResult = Settled | ActionRequired | Rejected


class TransientGatewayError(Exception):
    """Raised when the gateway could not answer (timeout, 5xx): nothing happened, ask again."""


@dataclass(frozen=True, slots=True)
class BankReturn:
    """The bank sent a paid refund's money back (the account closed after the credit, say)."""

    refund_id: UUID
    merchant_id: UUID
    reason: str


class Gateway(Protocol):
    async def pay(self, request: PayoutRequest) -> PayoutResult:
        """Send the refund to the rails; raises TransientGatewayError when it may be retried."""
        ...

    async def claim_returns(self, limit: int, lease_seconds: float) -> Sequence[BankReturn]:
        """Returns not yet acknowledged, each leased to this caller for a while."""
        ...

    async def acknowledge_return(self, refund_id: UUID) -> None:
        """The return has been applied; do not report it again."""
        ...
