"""Query: refundSummary(from:, to:)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.errors import BadUserInput
from api.reports.types import RefundSummaryType


@strawberry.type
class ReportQueries:
    @strawberry.field(
        description="Totals of your refunds created in [from, to): by status (as they are "
        "now), payment method, reason and day (in your time zone)."
    )
    async def refund_summary(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from", description="Inclusive.")],
        to: Annotated[datetime, strawberry.argument(description="Exclusive.")],
    ) -> RefundSummaryType:
        if from_ >= to:
            raise BadUserInput("from must be before to.")
        merchant_id = info.context.merchant_id
        summary = await info.context.services.reports.refund_summary(merchant_id, from_, to)
        return RefundSummaryType.of(summary, from_, to)
