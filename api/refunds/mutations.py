"""Mutations on refunds: initiate, cancel, and a new destination for ACTION_REQUIRED."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api import ids
from api.errors import UserError
from api.refunds.types import RefundType
from api.scalars import MinorUnits
from domain import destinations
from domain.errors import DomainError, InvalidDestination, RefundNotFound, TransactionNotFound
from domain.model import RefundReason, RefundSpeed
from domain.use_cases.initiate_refund import InitiateRefund, initiate_refund
from domain.use_cases.refund_actions import cancel_refund, update_refund_destination


@strawberry.type
class RefundPayload:
    refund: RefundType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def failed(error: DomainError) -> RefundPayload:
    return RefundPayload(refund=None, user_errors=[UserError.from_domain(error)])


@strawberry.input
class InitiateRefundInput:
    transaction_id: strawberry.ID
    amount: MinorUnits | None = strawberry.field(
        default=None, description="Omitted: everything still refundable."
    )
    reason: RefundReason
    speed: RefundSpeed = RefundSpeed.NORMAL
    notes: str | None = None
    metadata: JSON | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="1..255 characters, per merchant; kept at least 24 hours."
    )
    queue_if_insufficient_balance: bool = False


@strawberry.input
class CancelRefundInput:
    refund_id: strawberry.ID


@strawberry.input
class BankAccountInput:
    account_number: str
    ifsc: str
    holder_name: str


@strawberry.input
class UpdateRefundDestinationInput:
    refund_id: strawberry.ID
    upi_vpa: str | None = None
    bank_account: BankAccountInput | None = None


def _destination(input: UpdateRefundDestinationInput) -> destinations.Destination:
    if (input.upi_vpa is None) == (input.bank_account is None):
        raise InvalidDestination("Give exactly one of upiVpa or bankAccount.", field=("input",))
    if input.bank_account is not None:
        b = input.bank_account
        return destinations.bank_account(b.account_number, b.ifsc, b.holder_name)
    assert input.upi_vpa is not None
    return destinations.upi_vpa(input.upi_vpa)


@strawberry.type
class RefundMutations:
    @strawberry.mutation(description="Refund all or part of a successful transaction.")
    async def initiate_refund(self, info: Info, input: InitiateRefundInput) -> RefundPayload:
        ctx = info.context
        try:
            transaction_id = ids.decode_or_raise(
                ids.TRANSACTION,
                input.transaction_id,
                TransactionNotFound("No transaction of yours has that id."),
            )
            cmd = InitiateRefund(
                merchant_id=ctx.merchant_id,
                transaction_id=transaction_id,
                amount=input.amount,
                reason=input.reason,
                speed=input.speed,
                notes=input.notes,
                metadata=cast(dict[str, Any] | None, input.metadata),
                idempotency_key=input.idempotency_key,
                queue_if_insufficient_balance=input.queue_if_insufficient_balance,
                initiated_by_key_id=ctx.key_id,
            )
            refund = await initiate_refund(
                ctx.services.unit_of_work(),
                cmd,
                now=datetime.now(UTC),
                window_days=ctx.services.settings.refund_window_days,
            )
        except DomainError as error:
            return failed(error)
        return RefundPayload(refund=RefundType.from_domain(refund))

    @strawberry.mutation(description="Cancel a refund that is PENDING, ON_HOLD or ACTION_REQUIRED.")
    async def cancel_refund(self, info: Info, input: CancelRefundInput) -> RefundPayload:
        ctx = info.context
        try:
            refund_id = ids.decode_or_raise(
                ids.REFUND, input.refund_id, RefundNotFound("No refund of yours has that id.")
            )
            refund = await cancel_refund(
                ctx.services.unit_of_work(), ctx.merchant_id, refund_id, datetime.now(UTC)
            )
        except DomainError as error:
            return failed(error)
        return RefundPayload(refund=RefundType.from_domain(refund))

    @strawberry.mutation(
        description="Give an ACTION_REQUIRED refund another account (UPI VPA or bank account)."
    )
    async def update_refund_destination(
        self, info: Info, input: UpdateRefundDestinationInput
    ) -> RefundPayload:
        ctx = info.context
        try:
            refund_id = ids.decode_or_raise(
                ids.REFUND, input.refund_id, RefundNotFound("No refund of yours has that id.")
            )
            refund = await update_refund_destination(
                ctx.services.unit_of_work(),
                ctx.merchant_id,
                refund_id,
                _destination(input),
                datetime.now(UTC),
            )
        except DomainError as error:
            return failed(error)
        return RefundPayload(refund=RefundType.from_domain(refund))
