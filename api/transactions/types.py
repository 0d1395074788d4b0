"""GraphQL types of payment transactions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self
from uuid import UUID

import strawberry
from strawberry.types import Info

from api import ids, list_budget
from api.node import Node
from api.scalars import MinorUnits
from domain.eligibility import held_amount, refundable_amount
from domain.model import PaymentMethod, Refund, RefundState, Transaction, TransactionStatus
from domain.values import made_from

if TYPE_CHECKING:
    from api.refunds.types import RefundType

# The domain's enums, registered in place as GraphQL enums (fields use them directly).
strawberry.enum(PaymentMethod, name="PaymentMethod")
strawberry.enum(TransactionStatus, name="TransactionStatus")
strawberry.enum(RefundState, name="RefundState")


@strawberry.type(name="Transaction", description="A payment the platform recorded.")
class TransactionType(Node):
    reference: str
    order_id: str
    amount: MinorUnits
    currency: str
    status: TransactionStatus
    payment_method: PaymentMethod
    source: str = strawberry.field(description="Masked: VPA, card, or bank account.")
    created_at: datetime
    domain: strawberry.Private[Transaction]

    @classmethod
    def from_domain(cls, t: Transaction) -> Self:
        return made_from(cls, t, id=strawberry.ID(ids.encode(ids.TRANSACTION, t.id)), domain=t)

    async def _refunds(self, info: Info) -> list[Refund]:
        refunds: list[Refund] = await info.context.loaders.refunds_of_transaction.load(
            self.domain.id
        )
        return refunds

    @strawberry.field(description="Sum of refunds that are not FAILED, CANCELLED or REVERSED.")
    async def refunded_amount(self, info: Info) -> MinorUnits:
        return MinorUnits(held_amount(await self._refunds(info)))

    @strawberry.field(description="amount - refundedAmount; 0 when not refundable.")
    async def refundable_amount(self, info: Info) -> MinorUnits:
        held = held_amount(await self._refunds(info))
        return MinorUnits(refundable_amount(self.domain, held))

    @strawberry.field(description="This transaction's refunds, newest first.")
    async def refunds(
        self, info: Info
    ) -> list[Annotated[RefundType, strawberry.lazy("api.refunds.types")]]:
        from api.refunds.types import RefundType

        refunds = await self._refunds(info)
        list_budget.spend(len(refunds))
        return [RefundType.from_domain(r) for r in refunds]


async def load_transaction(info: Info, transaction_id: UUID) -> TransactionType | None:
    found: Transaction | None = await info.context.loaders.transaction.load(transaction_id)
    return TransactionType.from_domain(found) if found else None
