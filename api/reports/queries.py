"""Query: refundSummary(from:, to:)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.types import Info

from api.errors import BadUserInput
from api.reports.types import RefundSummaryType
from db.reports import Reports


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
        check_window(from_, to)  # before the caller is looked at, as it always was
        context = info.context
        return await refund_summary(context.services.reports, context.merchant_id, from_, to)


def check_window(from_: datetime, to: datetime) -> None:
    if from_ >= to:
        raise BadUserInput("from must be before to.")


async def refund_summary(
    reports: Reports, merchant_id: UUID, from_: datetime, to: datetime
) -> RefundSummaryType:
    """Query.refundSummary once its window is checked, for its resolver and the compiled plans
    (api/compiled)."""
    summary = await reports.refund_summary(merchant_id, from_, to)
    return RefundSummaryType.of(summary, from_, to)
