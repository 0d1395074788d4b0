"""The time zone rule where only the database can refuse: a name Python's tz database knows
but PostgreSQL's does not is refused the same way, with nothing committed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from domain.errors import UnknownTimeZone
from domain.use_cases.merchant_settings import set_time_zone
from tests.unit.test_use_case_guards import FakeUnitOfWork


async def test_a_zone_the_database_does_not_know_is_refused_and_not_committed() -> None:
    async def set_time_zone_in_db(*_args: Any) -> bool:
        return False  # PostgreSQL's pg_timezone_names lacks it

    # no `commit`: committing would raise AttributeError
    uow = FakeUnitOfWork(merchants=SimpleNamespace(set_time_zone=set_time_zone_in_db))
    with pytest.raises(UnknownTimeZone) as refused:
        await set_time_zone(uow, UUID(int=1), "Asia/Kolkata")  # type: ignore[arg-type]
    assert refused.value.field == ("input", "timeZone")
