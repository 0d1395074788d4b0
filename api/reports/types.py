"""GraphQL types of the refund summary."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from api.scalars import MinorUnits
from db.reports import RefundSummary, Totals
from domain.model import PaymentMethod, RefundReason, RefundStatus


@strawberry.type
class RefundTotals:
    count: int
    amount: MinorUnits

    @classmethod
    def of(cls, totals: Totals) -> RefundTotals:
        return cls(count=totals.count, amount=MinorUnits(totals.amount))


@strawberry.type
class RefundStatusTotals:
    status: RefundStatus
    count: int
    amount: MinorUnits


@strawberry.type
class PaymentMethodTotals:
    payment_method: PaymentMethod
    count: int
    amount: MinorUnits


@strawberry.type
class RefundReasonTotals:
    reason: RefundReason
    count: int
    amount: MinorUnits


@strawberry.type
class DayTotals:
    date: date = strawberry.field(description="A day in the merchant's time zone.")
    count: int
    amount: MinorUnits


@strawberry.type(
    name="RefundSummary",
    description="The refunds created in [from, to), whatever their status now; each breakdown "
    "adds up to the total.",
)
class RefundSummaryType:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    time_zone: str = strawberry.field(description="The merchant's, whose days byDay counts.")
    total: RefundTotals
    by_status: list[RefundStatusTotals]
    by_payment_method: list[PaymentMethodTotals]
    by_reason: list[RefundReasonTotals]
    by_day: list[DayTotals] = strawberry.field(description="Oldest day first.")

    @classmethod
    def of(cls, summary: RefundSummary, start: datetime, end: datetime) -> RefundSummaryType:
        return cls(
            from_=start,
            to=end,
            time_zone=summary.time_zone,
            total=RefundTotals.of(summary.total),
            by_status=[
                RefundStatusTotals(status=status, count=t.count, amount=MinorUnits(t.amount))
                for status in RefundStatus
                if (t := summary.by_status.get(status))
            ],
            by_payment_method=[
                PaymentMethodTotals(
                    payment_method=method, count=t.count, amount=MinorUnits(t.amount)
                )
                for method in PaymentMethod
                if (t := summary.by_payment_method.get(method))
            ],
            by_reason=[
                RefundReasonTotals(reason=reason, count=t.count, amount=MinorUnits(t.amount))
                for reason in RefundReason
                if (t := summary.by_reason.get(reason))
            ],
            by_day=[
                DayTotals(date=day, count=t.count, amount=MinorUnits(t.amount))
                for day, t in sorted(summary.by_day.items())
            ],
        )
