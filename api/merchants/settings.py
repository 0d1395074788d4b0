"""The merchant's own settings, changed with its FULL API key: the time zone of its reports
(read back as refundSummary's timeZone; not a Merchant field, which compiled reads would have
to learn first)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.errors import UserError
from domain.errors import DomainError
from domain.use_cases.merchant_settings import set_time_zone


@strawberry.input
class UpdateMerchantSettingsInput:
    time_zone: str = strawberry.field(
        description="An IANA time zone name such as Asia/Kolkata or Europe/London: "
        "refundSummary counts its days (byDay) in it."
    )


@strawberry.type
class MerchantSettingsPayload:
    time_zone: str | None = strawberry.field(default=None, description="As now stored.")
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MerchantSettingsMutations:
    @strawberry.mutation(description="Change your own settings (the time zone of your reports).")
    async def update_merchant_settings(
        self, info: Info, input: UpdateMerchantSettingsInput
    ) -> MerchantSettingsPayload:
        ctx = info.context
        try:
            stored = await set_time_zone(
                ctx.services.unit_of_work(), ctx.merchant_id, input.time_zone
            )
        except DomainError as error:
            return MerchantSettingsPayload(user_errors=[UserError.from_domain(error)])
        return MerchantSettingsPayload(time_zone=stored)
