"""Refunds after they are made: waiting ON_HOLD for balance, released by recharges oldest
first, cancelled (with or without money going back), and the status history of each.

The background processor moves PENDING refunds on by itself, so these tests assert on the ledger
and on status histories, or first put a refund where the processor does not take it (ON_HOLD,
ACTION_REQUIRED, or PENDING but not yet due), or drive it along the rails themselves."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.uow import SqlUnitOfWork
from domain.use_cases.platform import recharge_balance
from domain.use_cases.processing import RailOutcome
from tests.api import rails
from tests.api.account_state import (
    account,
    created,
    merchant_with_balance,
    refund,
    refused,
    transaction,
)
from tests.support import Api, Merchant


def _statuses(found: dict[str, Any]) -> list[str]:
    """The refund's status history; also checks that it is oldest first."""
    times = [datetime.fromisoformat(e["at"]) for e in found["events"]]
    assert times == sorted(times), found["events"]
    return [e["status"] for e in found["events"]]


async def _on_hold(api: Api, merchant: Merchant, amount: int, **fields: Any) -> dict[str, Any]:
    paid = await api.record_transaction(merchant, amount=amount, **fields)
    made = created(
        await api.initiate_refund(
            merchant, transactionId=paid["id"], queueIfInsufficientBalance=True
        )
    )
    assert made["status"] == "ON_HOLD"
    return made


async def _cancel_refused(api: Api, merchant: Merchant, refund_id: str) -> dict[str, Any]:
    before = await account(api, merchant)
    error = refused(await api.cancel_refund(merchant, refund_id))
    assert await account(api, merchant) == before
    return error


async def test_a_queued_refund_the_balance_cannot_cover_waits_on_hold_without_a_debit(
    api: Api,
) -> None:
    # given a balance of 100
    merchant = await merchant_with_balance(api, 100)
    paid = await api.record_transaction(merchant, amount=5_000)
    # when a refund of 1,000 asks to be queued
    made = created(
        await api.initiate_refund(
            merchant, transactionId=paid["id"], amount=1_000, queueIfInsufficientBalance=True
        )
    )
    # then it waits ON_HOLD, says why, and takes nothing from the balance
    assert made["status"] == "ON_HOLD"
    assert _statuses(made) == ["ON_HOLD"]
    assert "shortfall of 900" in made["events"][0]["message"]
    state = await account(api, merchant)
    assert state.balance == 100
    assert state.entries_for(made["id"]) == []
    # but it holds its part of the transaction
    after = await transaction(api, merchant, paid["id"])
    assert (after["refundedAmount"], after["refundableAmount"]) == (1_000, 4_000)


async def test_a_queued_refund_the_balance_covers_is_debited_at_once(api: Api) -> None:
    merchant = await merchant_with_balance(api, 5_000)
    paid = await api.record_transaction(merchant, amount=5_000)
    made = created(
        await api.initiate_refund(
            merchant, transactionId=paid["id"], amount=1_000, queueIfInsufficientBalance=True
        )
    )
    assert _statuses(made) == ["PENDING"]
    assert (await account(api, merchant)).entries_for(made["id"]) == [("REFUND_DEBIT", 1_000)]


async def test_a_recharge_releases_held_refunds_oldest_first_until_one_does_not_fit(
    api: Api,
) -> None:
    # given four refunds waiting ON_HOLD on an empty balance, oldest first
    merchant = await merchant_with_balance(api, 0)
    held = [await _on_hold(api, merchant, amount) for amount in (400, 300, 500, 100)]
    # when 800 is recharged
    assert await api.recharge(merchant, 800) == 100
    # then the first two are debited and released, in order; the third does not fit, and the
    # fourth waits behind it although it would fit
    state = await account(api, merchant)
    assert [(e["kind"], e["amount"], e["balanceAfter"]) for e in state.ledger] == [
        ("RECHARGE", 800, 800),
        ("REFUND_DEBIT", 400, 400),
        ("REFUND_DEBIT", 300, 100),
    ]
    assert [e["refund"] for e in state.ledger[1:]] == [{"id": held[0]["id"]}, {"id": held[1]["id"]}]
    for released in held[:2]:
        found = await refund(api, merchant, released["id"])
        assert _statuses(found)[:2] == ["ON_HOLD", "PENDING"]
        assert found["events"][1]["message"] == "Released by a recharge."
    for waiting in held[2:]:
        assert _statuses(await refund(api, merchant, waiting["id"])) == ["ON_HOLD"]
    # when 500 more comes in, the last two follow
    assert await api.recharge(merchant, 500) == 0
    state = await account(api, merchant)
    assert [(e["kind"], e["amount"], e["balanceAfter"]) for e in state.ledger[3:]] == [
        ("RECHARGE", 500, 600),
        ("REFUND_DEBIT", 500, 100),
        ("REFUND_DEBIT", 100, 0),
    ]
    assert [e["refund"] for e in state.ledger[4:]] == [{"id": held[2]["id"]}, {"id": held[3]["id"]}]


async def test_a_recharge_too_small_for_the_oldest_held_refund_releases_none(api: Api) -> None:
    merchant = await merchant_with_balance(api, 0)
    held = [await _on_hold(api, merchant, amount) for amount in (1_000, 10)]
    assert await api.recharge(merchant, 999) == 999
    for waiting in held:
        assert _statuses(await refund(api, merchant, waiting["id"])) == ["ON_HOLD"]
    assert [e["kind"] for e in (await account(api, merchant)).ledger] == ["RECHARGE"]


async def test_cancelling_an_on_hold_refund_moves_no_money(api: Api) -> None:
    # given a refund waiting ON_HOLD
    merchant = await merchant_with_balance(api, 0)
    held = await _on_hold(api, merchant, 2_000)
    # when it is cancelled
    cancelled = created(await api.cancel_refund(merchant, held["id"]))
    # then nothing was debited or credited, and the transaction is refundable again
    assert cancelled["status"] == "CANCELLED"
    assert _statuses(cancelled) == ["ON_HOLD", "CANCELLED"]
    assert cancelled["transaction"]["refundableAmount"] == 2_000
    assert (await account(api, merchant)).entries_for(held["id"]) == []
    # and a later recharge does not release it
    await api.recharge(merchant, 5_000)
    state = await account(api, merchant)
    assert state.balance == 5_000
    assert state.entries_for(held["id"]) == []


class _PendingNotYetDue(SqlUnitOfWork):
    """Commits with the merchant's PENDING refunds due only in ten minutes, as if the processor
    had backed off from them: it leaves them alone meanwhile, so a test can work on one while
    it is PENDING."""

    def __init__(self, engine: AsyncEngine, merchant_id: UUID) -> None:
        super().__init__(engine)
        self.merchant_id = merchant_id

    async def commit(self) -> None:
        await self.refunds.conn.execute(
            text(
                "UPDATE refunds SET next_attempt_at = now() + interval '10 minutes' "
                "WHERE merchant_id = :m AND status = 'PENDING'"
            ),
            {"m": self.merchant_id},
        )
        await super().commit()


async def test_cancelling_a_pending_refund_puts_its_debit_back(
    api: Api, engine: AsyncEngine
) -> None:
    # given a refund released from ON_HOLD to PENDING by a recharge, not yet due at the rails
    merchant = await merchant_with_balance(api, 0)
    held = await _on_hold(api, merchant, 2_000)
    merchant_id = rails.merchant_key(merchant)
    await recharge_balance(
        _PendingNotYetDue(engine, merchant_id), merchant_id, 3_000, "rch_1", datetime.now(UTC)
    )
    assert _statuses(await refund(api, merchant, held["id"])) == ["ON_HOLD", "PENDING"]
    # when it is cancelled
    cancelled = created(await api.cancel_refund(merchant, held["id"]))
    # then its debit comes back with a REFUND_REVERSAL
    assert _statuses(cancelled) == ["ON_HOLD", "PENDING", "CANCELLED"]
    state = await account(api, merchant)
    assert state.entries_for(held["id"]) == [("REFUND_DEBIT", 2_000), ("REFUND_REVERSAL", 2_000)]
    assert state.balance == 3_000
    assert state.ledger[-1]["balanceAfter"] == 3_000
    assert cancelled["transaction"]["refundableAmount"] == 2_000


async def test_cancelling_a_refund_awaiting_a_new_account_puts_its_debit_back(
    api: Api, engine: AsyncEngine
) -> None:
    # given a refund to a frozen account, sent back by the rails as ACTION_REQUIRED
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=3_000, source="frozen@okaxis")
    made = created(await api.initiate_refund(merchant, transactionId=paid["id"]))
    await rails.drive(engine, merchant, made["id"], rails.FROZEN)
    assert (await refund(api, merchant, made["id"]))["status"] == "ACTION_REQUIRED"
    # when it is cancelled
    cancelled = created(await api.cancel_refund(merchant, made["id"]))
    # then
    assert _statuses(cancelled) == [
        "PENDING",
        "PROCESSING",
        "ACTION_REQUIRED",
        "CANCELLED",
    ]
    state = await account(api, merchant)
    assert state.entries_for(made["id"]) == [("REFUND_DEBIT", 3_000), ("REFUND_REVERSAL", 3_000)]
    assert state.balance == 10_000


async def test_a_refund_that_reached_the_bank_cannot_be_cancelled(
    api: Api, engine: AsyncEngine
) -> None:
    # given a refund taken up by the rails
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=3_000)
    made = created(await api.initiate_refund(merchant, transactionId=paid["id"]))
    await rails.start(engine, merchant, made["id"])
    # when it is cancelled while PROCESSING (or PROCESSED already), it is refused
    error = await _cancel_refused(api, merchant, made["id"])
    assert error["code"] == "REFUND_NOT_CANCELLABLE"
    assert error["field"] == ["input", "refundId"]
    # and once PROCESSED as well
    await rails.settle(engine, merchant, made["id"], rails.PAID)
    found = await refund(api, merchant, made["id"])
    assert _statuses(found) == ["PENDING", "PROCESSING", "PROCESSED"]
    error = await _cancel_refused(api, merchant, made["id"])
    assert error["code"] == "REFUND_NOT_CANCELLABLE"
    assert "PROCESSED" in error["message"]
    state = await account(api, merchant)
    assert state.entries_for(made["id"]) == [("REFUND_DEBIT", 3_000)]
    assert state.balance == 7_000


@pytest.mark.parametrize(
    ("source", "outcomes", "history"),
    [
        pytest.param(
            "reject@okaxis", [rails.REJECTED], ["PENDING", "PROCESSING", "FAILED"], id="FAILED"
        ),
        pytest.param(
            "customer@okaxis",
            [rails.PAID, rails.RETURNED],
            ["PENDING", "PROCESSING", "PROCESSED", "REVERSED"],
            id="REVERSED",
        ),
    ],
)
async def test_a_failed_or_reversed_refund_has_its_money_back_and_cannot_be_cancelled(
    api: Api,
    engine: AsyncEngine,
    source: str,
    outcomes: list[RailOutcome],
    history: list[str],
) -> None:
    # given a refund the rails failed, or paid and the bank then returned
    merchant = await merchant_with_balance(api, 10_000)
    paid = await api.record_transaction(merchant, amount=3_000, source=source)
    made = created(await api.initiate_refund(merchant, transactionId=paid["id"]))
    await rails.drive(engine, merchant, made["id"], *outcomes)
    # then its debit came back, and the transaction is refundable again
    assert _statuses(await refund(api, merchant, made["id"])) == history
    state = await account(api, merchant)
    assert state.entries_for(made["id"]) == [("REFUND_DEBIT", 3_000), ("REFUND_REVERSAL", 3_000)]
    assert state.balance == 10_000
    after = await transaction(api, merchant, paid["id"])
    assert (after["refundedAmount"], after["refundableAmount"]) == (0, 3_000)
    # and it cannot be cancelled
    error = await _cancel_refused(api, merchant, made["id"])
    assert error["code"] == "REFUND_NOT_CANCELLABLE"


async def test_a_cancelled_refund_cannot_be_cancelled_again(api: Api) -> None:
    merchant = await merchant_with_balance(api, 0)
    held = await _on_hold(api, merchant, 2_000)
    created(await api.cancel_refund(merchant, held["id"]))
    error = await _cancel_refused(api, merchant, held["id"])
    assert error["code"] == "REFUND_NOT_CANCELLABLE"
    assert error["field"] == ["input", "refundId"]
    assert _statuses(await refund(api, merchant, held["id"])) == ["ON_HOLD", "CANCELLED"]


async def test_another_merchants_refund_cannot_be_cancelled_and_looks_missing(api: Api) -> None:
    # given a refund of another merchant's, waiting ON_HOLD
    owner = await merchant_with_balance(api, 0)
    theirs = await _on_hold(api, owner, 2_000)
    owner_before = await account(api, owner)
    merchant = await merchant_with_balance(api, 0)
    # when this merchant cancels it, and a refund that does not exist
    stolen = await _cancel_refused(api, merchant, theirs["id"])
    missing = await _cancel_refused(api, merchant, f"rfd_{secrets.token_hex(16)}")
    malformed = await _cancel_refused(api, merchant, "rfd_nope")
    # then the answers are the same, and the owner's refund is untouched
    assert stolen == missing == malformed
    assert stolen["code"] == "REFUND_NOT_FOUND"
    assert stolen["field"] == ["input", "refundId"]
    assert await account(api, owner) == owner_before
    assert _statuses(await refund(api, owner, theirs["id"])) == ["ON_HOLD"]
