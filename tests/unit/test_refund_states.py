from collections import deque
from itertools import product

import pytest

from domain.errors import IllegalTransition
from domain.model import RELEASED_STATUSES, RefundStatus
from domain.refund_states import (
    CANCELLABLE_STATUSES,
    TERMINAL_STATUSES,
    BalanceEffect,
    RefundStatusChanged,
    created,
    initial_status,
    is_legal,
    transition,
)

S = RefundStatus
E = BalanceEffect

# The status flow of the API contract, and what each change does to the merchant's balance.
CONTRACT_FLOW = {
    (S.ON_HOLD, S.PENDING): E.DEBIT,  # a recharge covers it
    (S.ON_HOLD, S.CANCELLED): E.NONE,  # never debited, nothing to put back
    (S.PENDING, S.PROCESSING): E.NONE,
    (S.PENDING, S.CANCELLED): E.CREDIT_BACK,
    (S.PROCESSING, S.PROCESSED): E.NONE,
    (S.PROCESSING, S.FAILED): E.CREDIT_BACK,
    (S.PROCESSING, S.ACTION_REQUIRED): E.NONE,
    (S.ACTION_REQUIRED, S.PENDING): E.NONE,  # new destination; the money is still reserved
    (S.ACTION_REQUIRED, S.CANCELLED): E.CREDIT_BACK,
    (S.PROCESSED, S.REVERSED): E.CREDIT_BACK,  # the bank returned it
}
ILLEGAL_PAIRS = [pair for pair in product(S, repeat=2) if pair not in CONTRACT_FLOW]


def _name(value: object) -> str:
    return f"{value[0]}->{value[1]}" if isinstance(value, tuple) else str(value)


@pytest.mark.parametrize(("pair", "effect"), list(CONTRACT_FLOW.items()), ids=_name)
def test_a_legal_change_returns_the_new_status_and_its_balance_effect(
    pair: tuple[RefundStatus, RefundStatus], effect: BalanceEffect
) -> None:
    # given
    current, to = pair
    # when
    change = transition(current, to, message="why", failure_code="CODE")
    # then
    assert change == RefundStatusChanged(current, to, effect, "why", "CODE")
    assert is_legal(current, to)


@pytest.mark.parametrize("pair", ILLEGAL_PAIRS, ids=_name)
def test_every_change_the_contract_does_not_name_is_illegal(
    pair: tuple[RefundStatus, RefundStatus],
) -> None:
    current, to = pair
    assert not is_legal(current, to)
    with pytest.raises(IllegalTransition):
        transition(current, to)


def test_the_illegal_pairs_include_staying_in_the_same_status() -> None:
    assert all((status, status) in ILLEGAL_PAIRS for status in S)


def test_a_change_carries_no_message_or_failure_code_unless_given() -> None:
    change = transition(S.PENDING, S.PROCESSING)
    assert change.message is None
    assert change.failure_code is None


def test_a_cancel_from_on_hold_credits_nothing_back_because_nothing_was_debited() -> None:
    assert transition(S.ON_HOLD, S.CANCELLED).balance_effect is E.NONE


def test_a_cancel_from_pending_credits_the_debit_back() -> None:
    assert transition(S.PENDING, S.CANCELLED).balance_effect is E.CREDIT_BACK


def test_a_refund_can_be_cancelled_only_before_the_rails_or_while_it_waits_for_action() -> None:
    assert CANCELLABLE_STATUSES == {S.PENDING, S.ON_HOLD, S.ACTION_REQUIRED}


@pytest.mark.parametrize("status", CANCELLABLE_STATUSES)
def test_every_cancellable_status_can_move_to_cancelled(status: RefundStatus) -> None:
    assert is_legal(status, S.CANCELLED)


def test_failed_cancelled_and_reversed_are_the_terminal_statuses() -> None:
    assert TERMINAL_STATUSES == {S.FAILED, S.CANCELLED, S.REVERSED}


@pytest.mark.parametrize("status", TERMINAL_STATUSES)
def test_nothing_leaves_a_terminal_status(status: RefundStatus) -> None:
    assert not any(is_legal(status, to) for to in S)


def test_a_processed_refund_is_not_terminal_because_the_bank_may_still_return_it() -> None:
    assert S.PROCESSED not in TERMINAL_STATUSES
    assert is_legal(S.PROCESSED, S.REVERSED)


def test_a_refund_the_balance_covers_starts_pending() -> None:
    assert initial_status(balance_covers_it=True, queue_if_insufficient=False) is S.PENDING
    assert initial_status(balance_covers_it=True, queue_if_insufficient=True) is S.PENDING


def test_a_refund_the_balance_cannot_cover_waits_on_hold_when_queueing_was_asked() -> None:
    assert initial_status(balance_covers_it=False, queue_if_insufficient=True) is S.ON_HOLD


def test_a_refund_the_balance_cannot_cover_is_refused_without_queueing() -> None:
    assert initial_status(balance_covers_it=False, queue_if_insufficient=False) is None


def test_a_refund_created_pending_debits_the_balance() -> None:
    assert created(S.PENDING) == RefundStatusChanged(None, S.PENDING, E.DEBIT, None)


def test_a_refund_created_on_hold_leaves_the_balance_alone_and_says_why() -> None:
    change = created(S.ON_HOLD, "Balance is short by 500.")
    assert change == RefundStatusChanged(None, S.ON_HOLD, E.NONE, "Balance is short by 500.")


@pytest.mark.parametrize("status", sorted(set(S) - {S.PENDING, S.ON_HOLD}))
def test_a_refund_cannot_start_in_any_other_status(status: RefundStatus) -> None:
    assert not is_legal(None, status)
    with pytest.raises(IllegalTransition):
        created(status)


@pytest.mark.parametrize("status", [S.PENDING, S.ON_HOLD])
def test_a_refund_may_start_pending_or_on_hold(status: RefundStatus) -> None:
    assert is_legal(None, status)


def _debited(status: RefundStatus) -> int:
    """1 when the refund's amount is out of the merchant's balance in this status, else 0."""
    return int(status not in RELEASED_STATUSES and status is not S.ON_HOLD)


_DELTA = {E.DEBIT: 1, E.NONE: 0, E.CREDIT_BACK: -1}


def test_every_path_through_the_table_debits_a_refund_once_and_credits_it_back_once() -> None:
    # given every status a refund can start in, with the effect of its creation
    seen = {s: _DELTA[created(s).balance_effect] for s in (S.PENDING, S.ON_HOLD)}
    queue = deque(seen)
    # when every legal change from every reachable status is followed
    while queue:
        current = queue.popleft()
        for to in S:
            if not is_legal(current, to):
                continue
            debited = seen[current] + _DELTA[transition(current, to).balance_effect]
            # then the running debit is exactly what the new status implies
            assert debited == _debited(to), f"{current} -> {to}"
            if to not in seen:
                seen[to] = debited
                queue.append(to)
    assert set(seen) == set(S)  # and every status can be reached
