"""GraphQL types of merchants and their recharge-balance ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry
from strawberry.types import Info

from api import ids
from api.keys.types import ApiKeyType
from api.node import Node
from api.pagination import Connection, numbered_page
from api.refunds.types import RefundType
from api.scalars import MinorUnits
from domain.model import LedgerEntry, LedgerEntryKind, Merchant
from domain.values import made_from

# The domain's enums, registered in place as GraphQL enums (fields use them directly).
strawberry.enum(LedgerEntryKind, name="LedgerEntryKind")


@strawberry.type(name="LedgerEntry", description="One movement of the recharge balance.")
class LedgerEntryType:
    id: strawberry.ID
    kind: LedgerEntryKind
    amount: MinorUnits
    balance_after: MinorUnits
    reference: str | None
    created_at: datetime
    domain: strawberry.Private[LedgerEntry]

    @classmethod
    def from_domain(cls, e: LedgerEntry) -> Self:
        return made_from(cls, e, id=strawberry.ID(ids.encode(ids.LEDGER_ENTRY, e.id)), domain=e)

    @strawberry.field(description="The refund this entry debits or credits back.")
    async def refund(self, info: Info) -> RefundType | None:
        if self.domain.refund_id is None:
            return None
        found = await info.context.loaders.refund.load(self.domain.refund_id)
        return RefundType.from_domain(found) if found else None


@strawberry.type(name="Merchant")
class MerchantType(Node):
    name: str
    currency: str
    balance: MinorUnits = strawberry.field(
        description="The recharge account: what is left to fund refunds."
    )
    domain: strawberry.Private[Merchant]

    @classmethod
    def from_domain(cls, m: Merchant) -> Self:
        return made_from(cls, m, id=strawberry.ID(ids.encode(ids.MERCHANT, m.id)), domain=m)

    @strawberry.field(description="Every API key, revoked ones included, oldest first.")
    async def api_keys(self, info: Info) -> list[ApiKeyType]:
        keys = await info.context.services.api_keys.of_merchant(self.domain.id)
        return [ApiKeyType.from_domain(k) for k in keys]

    @strawberry.field(description="Every movement of the balance, newest first.")
    async def ledger(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[LedgerEntryType]:
        reads = info.context.services.reads
        return await numbered_page(
            first,
            after,
            lambda limit, key: reads.ledger(self.domain.id, limit=limit, after=key),
            lambda e: e.id,
            LedgerEntryType.from_domain,
            lambda: reads.ledger_count(self.domain.id),
        )
