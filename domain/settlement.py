"""When a refund should reach the customer, by payment method and speed.

NORMAL refunds settle in business days (weekends skipped; bank holidays are not modelled):
UPI and wallets within a day, net banking in 5–7 days, cards in 5–10. We quote the far end of
each range: a merchant would rather tell a customer a date that holds. INSTANT goes over UPI or
IMPS and settles in minutes, where the destination can take it."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.model import DestinationKind, PaymentMethod, RefundSpeed

INSTANT_SETTLEMENT = timedelta(minutes=30)

BUSINESS_DAYS_FOR_NORMAL = {
    PaymentMethod.UPI: 1,
    PaymentMethod.WALLET: 1,
    PaymentMethod.NET_BANKING: 7,
    PaymentMethod.CARD: 10,
}


def instant_is_possible(method: PaymentMethod, destination: DestinationKind) -> bool:
    """UPI and bank accounts (IMPS) take instant refunds; cards, wallets and net banking don't."""
    if destination is DestinationKind.ORIGINAL_SOURCE:
        return method is PaymentMethod.UPI
    return True


def speed_to_use(
    requested: RefundSpeed, method: PaymentMethod, destination: DestinationKind
) -> RefundSpeed:
    """INSTANT where the destination allows it, NORMAL otherwise."""
    if requested is RefundSpeed.INSTANT and instant_is_possible(method, destination):
        return RefundSpeed.INSTANT
    return RefundSpeed.NORMAL


def add_business_days(start: datetime, days: int) -> datetime:
    """`start` moved forward by `days` weekdays (Saturday and Sunday skipped)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def estimated_settlement(
    start: datetime, method: PaymentMethod, destination: DestinationKind, requested: RefundSpeed
) -> datetime:
    speed = speed_to_use(requested, method, destination)
    if speed is RefundSpeed.INSTANT:
        return start + INSTANT_SETTLEMENT
    if destination is DestinationKind.ORIGINAL_SOURCE:
        return add_business_days(start, BUSINESS_DAYS_FOR_NORMAL[method])
    # A bank account or VPA the merchant supplied: NEFT / UPI, next business day.
    return add_business_days(start, 1)
