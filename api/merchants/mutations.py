"""Platform operator mutations (admin token): merchants, recorded payments, recharges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import strawberry
from strawberry.types import Info

from api import ids
from api.errors import UserError
from api.merchants.types import MerchantType
from api.scalars import MinorUnits
from api.transactions.types import TransactionType
from domain.errors import DomainError, InvalidInput, MerchantNotFound
from domain.model import PaymentMethod, TransactionStatus
from domain.use_cases import platform

# A payment recorded with a timestamp further ahead than this is a clock or data error.
CLOCK_SKEW_ALLOWED = timedelta(minutes=5)


@strawberry.input
class CreateMerchantInput:
    name: str
    currency: str = "INR"


@strawberry.type
class CreateMerchantPayload:
    merchant: MerchantType | None = None
    api_key: str | None = strawberry.field(
        default=None, description="Shown once: only its hash is stored."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RecordTransactionInput:
    merchant_id: strawberry.ID
    reference: str
    order_id: str
    amount: MinorUnits
    currency: str
    status: TransactionStatus
    payment_method: PaymentMethod
    source: str
    created_at: datetime | None = strawberry.field(default=None, description="Default: now.")


@strawberry.type
class TransactionPayload:
    transaction: TransactionType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RechargeBalanceInput:
    merchant_id: strawberry.ID
    amount: MinorUnits
    reference: str = strawberry.field(
        description="Your reference for the recharge; the same one again changes nothing."
    )


@strawberry.type
class MerchantPayload:
    merchant: MerchantType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _merchant_id(public_id: str) -> UUID:
    return ids.decode_or_raise(
        ids.MERCHANT, public_id, MerchantNotFound("No merchant has that id.")
    )


def _created_at(value: datetime | None, now: datetime) -> datetime:
    if value is None:
        return now
    if value > now + CLOCK_SKEW_ALLOWED:
        raise InvalidInput("createdAt is in the future.", field=("input", "createdAt"))
    return value


@strawberry.type
class PlatformMutations:
    @strawberry.mutation(description="Platform operator only: a new merchant and its API key.")
    async def create_merchant(
        self, info: Info, input: CreateMerchantInput
    ) -> CreateMerchantPayload:
        info.context.require_operator()
        try:
            merchant, key = await platform.create_merchant(
                info.context.services.unit_of_work(), input.name, input.currency
            )
        except DomainError as error:
            return CreateMerchantPayload(user_errors=[UserError.from_domain(error)])
        return CreateMerchantPayload(merchant=MerchantType.from_domain(merchant), api_key=key)

    @strawberry.mutation(description="Platform operator only: record a payment transaction.")
    async def record_transaction(
        self, info: Info, input: RecordTransactionInput
    ) -> TransactionPayload:
        info.context.require_operator()
        now = datetime.now(UTC)
        try:
            cmd = platform.RecordTransaction(
                merchant_id=_merchant_id(input.merchant_id),
                reference=input.reference,
                order_id=input.order_id,
                amount=input.amount,
                currency=input.currency,
                status=input.status,
                payment_method=input.payment_method,
                source=input.source,
                created_at=_created_at(input.created_at, now),
            )
            transaction = await platform.record_transaction(
                info.context.services.unit_of_work(), cmd
            )
        except DomainError as error:
            return TransactionPayload(user_errors=[UserError.from_domain(error)])
        return TransactionPayload(transaction=TransactionType.from_domain(transaction))

    @strawberry.mutation(description="Platform operator only: credit a merchant's balance.")
    async def recharge_balance(self, info: Info, input: RechargeBalanceInput) -> MerchantPayload:
        info.context.require_operator()
        try:
            merchant = await platform.recharge_balance(
                info.context.services.unit_of_work(),
                _merchant_id(input.merchant_id),
                input.amount,
                input.reference,
                datetime.now(UTC),
            )
        except DomainError as error:
            return MerchantPayload(user_errors=[UserError.from_domain(error)])
        return MerchantPayload(merchant=MerchantType.from_domain(merchant))
