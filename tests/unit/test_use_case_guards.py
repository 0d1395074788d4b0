"""Guards in the use cases that the database flows never reach, checked with a minimal fake
unit of work: they are there so that a future bug fails loudly instead of moving money."""

from datetime import UTC, datetime
from types import SimpleNamespace, TracebackType
from typing import Any
from uuid import UUID

import pytest

from domain import refund_states
from domain.errors import IdempotencyKeyInUse, InsufficientBalance
from domain.model import Merchant, RefundReason, RefundStatus
from domain.ports import IdempotencyClaim
from domain.use_cases.balance import record_change
from domain.use_cases.initiate_refund import InitiateRefund, initiate_refund

NOW = datetime(2026, 11, 26, tzinfo=UTC)


class FakeUnitOfWork:
    """Only what the guarded paths touch; anything else would raise AttributeError."""

    def __init__(self, **repositories: Any) -> None:
        self.__dict__.update(repositories)

    async def __aenter__(self) -> "FakeUnitOfWork":
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


async def _nothing(*_args: Any) -> None:
    return None


async def test_a_debit_the_balance_cannot_cover_is_refused_even_past_the_callers_checks() -> None:
    # given a merchant whose balance is below a refund's amount
    merchant = Merchant(UUID(int=1), "M", "INR", 99, NOW)
    refund = SimpleNamespace(amount=100)
    uow = FakeUnitOfWork(events=SimpleNamespace(append=_nothing))
    change = refund_states.transition(RefundStatus.ON_HOLD, RefundStatus.PENDING)
    # when the change that debits is recorded, then it is refused with the shortfall
    with pytest.raises(InsufficientBalance, match="shortfall of 1"):
        await record_change(uow, merchant, refund, change, NOW)  # type: ignore[arg-type]


async def test_a_key_claimed_by_a_request_that_made_no_refund_yet_is_in_use() -> None:
    cmd = InitiateRefund(UUID(int=1), UUID(int=2), 100, RefundReason.OTHER, idempotency_key="k")

    async def claim(*_args: Any) -> IdempotencyClaim:
        return IdempotencyClaim(fresh=False, request_hash=cmd.fingerprint(), refund_id=None)

    uow = FakeUnitOfWork(idempotency=SimpleNamespace(claim=claim))
    with pytest.raises(IdempotencyKeyInUse):
        await initiate_refund(uow, cmd, now=NOW, window_days=180)  # type: ignore[arg-type]
