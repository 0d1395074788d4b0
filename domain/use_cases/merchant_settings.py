"""A merchant's own settings: the time zone its reports count days in (refundSummary's byDay)."""

from __future__ import annotations

import zoneinfo
from functools import cache
from uuid import UUID

from domain.errors import UnknownTimeZone
from domain.ports import UnitOfWork


@cache
def _iana_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _refused(name: str) -> UnknownTimeZone:
    return UnknownTimeZone(
        f"{name!r} is not an IANA time zone name such as Asia/Kolkata or Europe/London."
    )


async def set_time_zone(uow: UnitOfWork, merchant_id: UUID, name: str) -> str:
    """Store an IANA time zone name (as the tz database spells it) for the merchant."""
    if name not in _iana_names():
        raise _refused(name)
    async with uow:
        # PostgreSQL, which counts the days, must know the name as well as Python does
        if not await uow.merchants.set_time_zone(merchant_id, name):
            raise _refused(name)
        await uow.commit()
    return name
