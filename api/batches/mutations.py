"""Mutations on refund batches: initiate (applied in the background) and cancel."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.types import Info

from api import ids
from api.batches.types import RefundBatchType
from api.errors import UserError
from api.scalars import MinorUnits
from domain.batches import BatchItemInput, SubmitRefundBatch
from domain.errors import DomainError, RefundBatchNotFound
from domain.model import RefundReason, RefundSpeed
from domain.use_cases.refund_batches import (
    cancel_refund_batch,
    shape_errors,
    submit_refund_batch,
)


@strawberry.type
class RefundBatchPayload:
    batch: RefundBatchType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RefundBatchItemInput:
    transaction_id: strawberry.ID | None = strawberry.field(
        default=None, description="Exactly one of transactionId or orderId."
    )
    order_id: str | None = strawberry.field(
        default=None, description="The order's successful payment is refunded."
    )
    amount: MinorUnits | None = strawberry.field(
        default=None, description="Omitted: everything still refundable."
    )
    reason: RefundReason
    speed: RefundSpeed = RefundSpeed.NORMAL
    notes: str | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="Omitted: derived from the batch's key and the item's index."
    )

    def to_domain(self) -> BatchItemInput:
        transaction_id = None
        if self.transaction_id is not None:
            transaction_id = ids.decode_uuid(ids.TRANSACTION, self.transaction_id)
        return BatchItemInput(
            transaction=self.transaction_id,
            transaction_id=transaction_id,
            order_id=self.order_id,
            amount=self.amount,
            reason=self.reason,
            speed=self.speed,
            notes=self.notes,
            idempotency_key=self.idempotency_key,
        )


@strawberry.input
class InitiateRefundBatchInput:
    items: list[RefundBatchItemInput] = strawberry.field(description="1 to 10,000 items.")
    idempotency_key: str = strawberry.field(
        description="Resubmitting the same batch with it returns the same batch."
    )
    queue_if_insufficient_balance: bool = False


@strawberry.input
class CancelRefundBatchInput:
    id: strawberry.ID


def _failed(errors: list[DomainError]) -> RefundBatchPayload:
    return RefundBatchPayload(user_errors=[UserError.from_domain(e) for e in errors])


@strawberry.type
class RefundBatchMutations:
    @strawberry.mutation(
        description="Refund many payments at once: each item is applied in the background "
        "exactly like one initiateRefund; a refused item does not stop the others."
    )
    async def initiate_refund_batch(
        self, info: Info, input: InitiateRefundBatchInput
    ) -> RefundBatchPayload:
        ctx = info.context
        cmd = SubmitRefundBatch(
            merchant_id=ctx.merchant_id,
            items=tuple(item.to_domain() for item in input.items),
            idempotency_key=input.idempotency_key,
            queue_if_insufficient_balance=input.queue_if_insufficient_balance,
            initiated_by_key_id=ctx.key_id,
        )
        errors = shape_errors(cmd)
        if errors:
            return _failed(errors)
        try:
            batch = await submit_refund_batch(ctx.services.unit_of_work(), cmd)
        except DomainError as error:
            return _failed([error])
        return RefundBatchPayload(batch=RefundBatchType.from_domain(batch))

    @strawberry.mutation(description="Cancel the items of a batch not yet applied.")
    async def cancel_refund_batch(
        self, info: Info, input: CancelRefundBatchInput
    ) -> RefundBatchPayload:
        ctx = info.context
        try:
            batch_id = ids.decode_or_raise(
                ids.REFUND_BATCH,
                input.id,
                RefundBatchNotFound("No refund batch of yours has that id."),
            )
            batch = await cancel_refund_batch(
                ctx.services.unit_of_work(), ctx.merchant_id, batch_id, datetime.now(UTC)
            )
        except DomainError as error:
            return _failed([error])
        return RefundBatchPayload(batch=RefundBatchType.from_domain(batch))
