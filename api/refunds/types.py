"""GraphQL types of refunds and their status history."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api import ids, list_budget
from api.keys.types import ApiKeyType, load_api_key
from api.node import Node
from api.scalars import MinorUnits
from domain.model import (
    DestinationKind,
    Refund,
    RefundEvent,
    RefundReason,
    RefundSpeed,
    RefundStatus,
)
from domain.values import made_from

if TYPE_CHECKING:
    from api.transactions.types import TransactionType

# The domain's enums, registered in place as GraphQL enums (fields use them directly).
strawberry.enum(RefundStatus, name="RefundStatus")
strawberry.enum(RefundReason, name="RefundReason")
strawberry.enum(RefundSpeed, name="RefundSpeed")
strawberry.enum(DestinationKind, name="DestinationKind")


@strawberry.type
class RefundDestination:
    kind: DestinationKind
    display: str = strawberry.field(description="Masked.")


@strawberry.type(name="RefundEvent")
class RefundEventType:
    status: RefundStatus
    at: datetime
    message: str | None
    failure_code: str | None

    @classmethod
    def from_domain(cls, e: RefundEvent) -> Self:
        return cls(status=e.status, at=e.at, message=e.message, failure_code=e.failure_code)


@strawberry.type(name="Refund", description="Money going back to a customer.")
class RefundType(Node):
    amount: MinorUnits
    currency: str
    status: RefundStatus
    reason: RefundReason
    notes: str | None
    metadata: JSON | None
    speed_requested: RefundSpeed
    speed_processed: RefundSpeed | None
    destination: RefundDestination
    failure_code: str | None
    failure_message: str | None
    bank_reference: str | None = strawberry.field(description="ARN / UTR once PROCESSED.")
    estimated_settlement_at: datetime | None = strawberry.field(
        description="By payment method and speed."
    )
    created_at: datetime
    updated_at: datetime
    processed_at: datetime | None
    domain: strawberry.Private[Refund]

    @classmethod
    def from_domain(cls, r: Refund) -> Self:
        return made_from(
            cls,
            r,
            id=strawberry.ID(ids.encode(ids.REFUND, r.id)),
            destination=RefundDestination(kind=r.destination_kind, display=r.destination_display),
            domain=r,
        )

    @strawberry.field
    async def transaction(
        self, info: Info
    ) -> Annotated[TransactionType, strawberry.lazy("api.transactions.types")]:
        from api.transactions.types import load_transaction

        found = await load_transaction(info, self.domain.transaction_id)
        assert found is not None  # a refund's transaction belongs to the same merchant
        return found

    @strawberry.field(description="The API key that made this refund; null: the platform did.")
    async def initiated_by(self, info: Info) -> ApiKeyType | None:
        key_id = self.domain.initiated_by_key_id
        return None if key_id is None else await load_api_key(info, key_id)

    @strawberry.field(description="Status history, oldest first.")
    async def events(self, info: Info) -> list[RefundEventType]:
        events: list[RefundEvent] = await info.context.loaders.events_of_refund.load(self.domain.id)
        list_budget.spend(len(events))
        return [RefundEventType.from_domain(e) for e in events]
