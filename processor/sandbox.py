"""The sandbox rails: a simulated gateway that settles a refund by a marker in its destination.

| marker in the destination | answer                                                      |
| frozen / inactive         | ActionRequired CUSTOMER_ACCOUNT_FROZEN / _INACTIVE          |
| flaky                     | two transient errors, then Settled                          |
| reject                    | Rejected REJECTED_BY_BANK                                   |
| bounce                    | Settled, then a BankReturn shortly after                    |
| anything else             | Settled with a bank reference                               |

The bank records its answer first and confirms after the method's settle time: a process that
dies while waiting has paid without hearing so, and its successor's retry (same idempotency key)
gets the stored answer back. That is the crash the idempotency key exists for."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from db.sandbox_bank import SandboxBank
from domain.gateway import (
    ActionRequired,
    BankReturn,
    PayoutRequest,
    PayoutResult,
    Rejected,
    Settled,
    TransientGatewayError,
)
from domain.model import PaymentMethod, RefundSpeed
from domain.settlement import speed_to_use

# Simulated seconds from request to the bank's confirmation, before REFUNDS_GATEWAY_DELAY_SCALE.
SETTLE_SECONDS = {
    PaymentMethod.UPI: 2.0,
    PaymentMethod.WALLET: 2.0,
    PaymentMethod.NET_BANKING: 5.0,
    PaymentMethod.CARD: 8.0,
}
INSTANT_SETTLE_SECONDS = 1.0
BOUNCE_AFTER_SECONDS = 5.0
FLAKY_TRANSIENT_ERRORS = 2


def bank_reference(method: PaymentMethod, speed: RefundSpeed) -> str:
    """An ARN (23 digits) for card refunds, a 12-digit UTR / RRN for UPI, IMPS and NEFT."""
    if method is PaymentMethod.CARD and speed is RefundSpeed.NORMAL:
        return "7" + "".join(secrets.choice("0123456789") for _ in range(22))
    return "".join(secrets.choice("0123456789") for _ in range(12))


def decide(request: PayoutRequest) -> tuple[PayoutResult, int, bool]:
    """(answer, transient errors to give first, whether the money bounces back later)."""
    marker = request.destination.lower()
    if "frozen" in marker:
        return (
            ActionRequired("CUSTOMER_ACCOUNT_FROZEN", "The customer's account is frozen."),
            0,
            False,
        )
    if "inactive" in marker:
        return (
            ActionRequired("CUSTOMER_ACCOUNT_INACTIVE", "The customer's account is inactive."),
            0,
            False,
        )
    if "reject" in marker:
        return Rejected("REJECTED_BY_BANK", "The customer's bank rejected the refund."), 0, False
    speed = speed_to_use(request.speed_requested, request.payment_method, request.destination_kind)
    settled = Settled(bank_reference(request.payment_method, speed), speed)
    transient = FLAKY_TRANSIENT_ERRORS if "flaky" in marker else 0
    return settled, transient, "bounce" in marker


class SandboxGateway:
    def __init__(self, bank: SandboxBank, delay_scale: float) -> None:
        self.bank = bank
        self.delay_scale = delay_scale

    def settle_seconds(self, request: PayoutRequest, result: PayoutResult) -> float:
        instant = isinstance(result, Settled) and result.speed is RefundSpeed.INSTANT
        base = INSTANT_SETTLE_SECONDS if instant else SETTLE_SECONDS[request.payment_method]
        return base * self.delay_scale

    async def pay(self, request: PayoutRequest) -> PayoutResult:
        candidate, transient, bounces = decide(request)
        returns_after = None
        if bounces:
            seconds = SETTLE_SECONDS[request.payment_method] + BOUNCE_AFTER_SECONDS
            returns_after = timedelta(seconds=seconds * self.delay_scale)
        answer = await self.bank.answer(
            request, candidate, transient_errors=transient, returns_after=returns_after
        )
        if answer is None:
            raise TransientGatewayError("Sandbox gateway: simulated timeout, retry.")
        await asyncio.sleep(self.settle_seconds(request, answer))
        return answer

    async def claim_returns(self, limit: int, lease_seconds: float) -> Sequence[BankReturn]:
        return await self.bank.claim_returns(limit, lease_seconds)

    async def acknowledge_return(self, refund_id: UUID) -> None:
        await self.bank.acknowledge_return(refund_id)
