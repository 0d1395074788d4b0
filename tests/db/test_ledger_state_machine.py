"""The money rules as a stateful property: any sequence of payments, recharges, refunds,
cancellations and rail outcomes, run through the domain's use cases against the real database,
leaves the ledger and the refunds consistent after every single step.

Hypothesis state machines are synchronous, so the machine runs the async use cases on a private
event loop with its own small engine (never the pytest session's loop). Each run of the machine
creates its own merchant: tenancy keeps runs apart. The search is derandomized and uses no
example database, so CI replays exactly the same sequences every time; raise
REFUNDS_INVARIANT_EXAMPLES (and REFUNDS_INVARIANT_STEPS) to search harder by hand (with
--timeout=0 when that takes more than the suite's 10 minutes per test)."""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
from collections import Counter
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine
from db.migrate import upgrade
from db.uow import SqlUnitOfWork
from domain import destinations, refund_states
from domain.batches import BatchItemInput, RefundBatchItemStatus, SubmitRefundBatch
from domain.errors import (
    DomainError,
    IdempotencyKeyReused,
    InvalidInput,
    RefundNotAwaitingAction,
    RefundNotCancellable,
)
from domain.model import (
    RELEASED_STATUSES,
    PaymentMethod,
    RefundReason,
    RefundStatus,
    TransactionStatus,
)
from domain.use_cases import platform
from domain.use_cases.initiate_refund import InitiateRefund, initiate_refund
from domain.use_cases.processing import (
    OUTCOME_SOURCES,
    RailOutcome,
    record_outcome,
    start_processing,
)
from domain.use_cases.refund_actions import cancel_refund, update_refund_destination
from domain.use_cases.refund_batches import (
    apply_batch_item,
    cancel_refund_batch,
    finish_if_applied,
    submit_refund_batch,
)
from tests.conftest import _on_server

EXAMPLES = int(os.environ.get("REFUNDS_INVARIANT_EXAMPLES", "200"))
STEPS = int(os.environ.get("REFUNDS_INVARIANT_STEPS", "15"))
WINDOW_DAYS = 180
KEYS = ["key-a", "key-b", "key-c"]
# How much a refund asks for: omitted (everything left), the payment's amount divided by this,
# what is left exactly, or one more than what is left.
SHARES: list[int | str | None] = [None, 1, 2, 3, 5, "rest", "rest+1"]
NEW_ACCOUNT = "new account"
# Where the rails take a refund within one step of the machine.
RAIL_JOURNEYS: list[tuple[RefundStatus | str, ...]] = [
    (RefundStatus.PROCESSED,),
    (RefundStatus.FAILED,),
    (RefundStatus.ACTION_REQUIRED,),
    (RefundStatus.PROCESSED, RefundStatus.REVERSED),
    (RefundStatus.ACTION_REQUIRED, NEW_ACCOUNT),
    (NEW_ACCOUNT,),
]
S = RefundStatus
T = TypeVar("T")


# --- what the database holds for one merchant --------------------------------------------


@dataclass(frozen=True)
class Payment:
    amount: int
    status: TransactionStatus
    currency: str
    created_at: datetime


@dataclass(frozen=True)
class RefundRow:
    transaction_id: UUID
    amount: int
    status: RefundStatus
    created_at: datetime


@dataclass(frozen=True)
class Entry:
    kind: str
    amount: int
    balance_after: int
    refund_id: UUID | None
    reference: str | None


@dataclass(frozen=True)
class Books:
    """Everything of one merchant's that the money rules speak about, read in one go."""

    balance: int
    payments: dict[UUID, Payment]
    refunds: dict[UUID, RefundRow]
    ledger: tuple[Entry, ...]  # in the order written
    histories: dict[UUID, tuple[RefundStatus, ...]]  # status events, in the order written

    def held(self, transaction_id: UUID) -> int:
        return sum(
            r.amount
            for r in self.refunds.values()
            if r.transaction_id == transaction_id and r.status not in RELEASED_STATUSES
        )

    def on_hold_oldest_first(self) -> list[UUID]:
        held = [(r.created_at, i) for i, r in self.refunds.items() if r.status is S.ON_HOLD]
        return [i for _, i in sorted(held, key=lambda p: (p[0], p[1].hex))]


async def read_books(engine: AsyncEngine, merchant_id: UUID) -> Books:
    async with engine.connect() as conn:

        async def rows(sql: str) -> list[Any]:
            return list((await conn.execute(text(sql), {"m": merchant_id})).all())

        (balance,) = (await rows("SELECT balance FROM merchants WHERE id = :m"))[0]
        payments = await rows(
            "SELECT id, amount, status, currency, created_at FROM transactions "
            "WHERE merchant_id = :m"
        )
        refunds = await rows(
            "SELECT id, transaction_id, amount, status, created_at FROM refunds "
            "WHERE merchant_id = :m"
        )
        ledger = await rows(
            "SELECT kind, amount, balance_after, refund_id, reference FROM ledger_entries "
            "WHERE merchant_id = :m ORDER BY id"
        )
        events = await rows(
            "SELECT refund_id, status FROM refund_events WHERE merchant_id = :m ORDER BY id"
        )
    histories: dict[UUID, list[RefundStatus]] = {}
    for refund_id, status in events:
        histories.setdefault(refund_id, []).append(S(status))
    return Books(
        balance=balance,
        payments={i: Payment(a, TransactionStatus(s), c, at) for i, a, s, c, at in payments},
        refunds={i: RefundRow(t, a, S(s), at) for i, t, a, s, at in refunds},
        ledger=tuple(Entry(*row) for row in ledger),
        histories={i: tuple(h) for i, h in histories.items()},
    )


# --- the rules of money, checked on the books ----------------------------------------------


def check_no_transaction_is_over_refunded(books: Books) -> None:
    for transaction_id, payment in books.payments.items():
        assert books.held(transaction_id) <= payment.amount, transaction_id
        if payment.status is not TransactionStatus.SUCCESS:
            assert all(r.transaction_id != transaction_id for r in books.refunds.values())


def check_the_balance_is_the_sum_of_the_ledger(books: Books) -> None:
    signs = {"RECHARGE": 1, "REFUND_DEBIT": -1, "REFUND_REVERSAL": 1}
    running = 0
    for entry in books.ledger:
        running += signs[entry.kind] * entry.amount
        assert entry.amount > 0
        assert entry.balance_after == running >= 0, entry
    assert books.balance == running >= 0


def check_each_refund_is_debited_once_and_credited_back_only_when_released(books: Books) -> None:
    entries = Counter((e.refund_id, e.kind) for e in books.ledger if e.refund_id is not None)
    for entry in books.ledger:
        if entry.refund_id is not None:
            assert entry.amount == books.refunds[entry.refund_id].amount
    for refund_id, refund in books.refunds.items():
        history = books.histories[refund_id]
        never_debited = history in ((S.ON_HOLD,), (S.ON_HOLD, S.CANCELLED))
        debits = entries[(refund_id, "REFUND_DEBIT")]
        reversals = entries[(refund_id, "REFUND_REVERSAL")]
        assert debits == (0 if never_debited else 1), (history, debits)
        released = refund.status in RELEASED_STATUSES and not never_debited
        assert reversals == (1 if released else 0), (history, reversals)


def check_statuses_moved_only_along_the_transition_table(books: Books) -> None:
    assert set(books.histories) == set(books.refunds)
    for refund_id, history in books.histories.items():
        assert history[0] in refund_states.INITIAL_STATUSES, history
        for before, after in itertools.pairwise(history):
            assert (before, after) in refund_states.TRANSITIONS, history
        assert history[-1] is books.refunds[refund_id].status, history


# --- what a request should do, worked out from the books before it -------------------------


def expected_initiation(books: Books, cmd: InitiateRefund, now: datetime) -> str | int:
    """The error code the request must fail with, or the amount of the refund it must make."""
    payment = books.payments[cmd.transaction_id]
    remaining = payment.amount - books.held(cmd.transaction_id)
    amount = remaining if cmd.amount is None else cmd.amount
    if payment.status is not TransactionStatus.SUCCESS:
        return "TRANSACTION_NOT_REFUNDABLE"
    if now > payment.created_at + timedelta(days=WINDOW_DAYS):
        return "REFUND_WINDOW_EXPIRED"
    if payment.currency != "INR":
        return "CURRENCY_MISMATCH"
    if remaining == 0 or amount > remaining:
        return "AMOUNT_EXCEEDS_REFUNDABLE"
    if amount > books.balance and not cmd.queue_if_insufficient_balance:
        return "INSUFFICIENT_BALANCE"
    return amount


def ask_for(books: Books, transaction_id: UUID, share: int | str | None) -> int | None:
    payment = books.payments[transaction_id]
    remaining = payment.amount - books.held(transaction_id)
    if share is None:
        return None
    if share == "rest":
        return max(remaining, 1)
    if share == "rest+1":
        return remaining + 1
    assert isinstance(share, int)
    return max(payment.amount // share, 1)


# --- the machine ---------------------------------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    transactions = Bundle("transactions")
    refunds = Bundle("refunds")

    def __init__(self, loop: asyncio.AbstractEventLoop, engine: AsyncEngine) -> None:
        super().__init__()
        self.loop = loop
        self.engine = engine
        self.numbers = itertools.count()
        self.keyed: dict[str, tuple[InitiateRefund, UUID]] = {}
        self.last_books: Books | None = None
        merchant, _key = self.run(platform.create_merchant(self.uow(), "Machine", "INR"))
        self.merchant_id = merchant.id

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def attempt(self, coroutine: Coroutine[Any, Any, T]) -> T | DomainError:
        """Run a use case; an expected refusal is returned rather than raised."""
        try:
            return self.run(coroutine)
        except DomainError as error:
            return error

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def books(self) -> Books:
        return self.run(read_books(self.engine, self.merchant_id))

    @invariant()
    def the_money_rules_hold(self) -> None:
        books = self.last_books = self.books()
        check_no_transaction_is_over_refunded(books)
        check_the_balance_is_the_sum_of_the_ledger(books)
        check_each_refund_is_debited_once_and_credited_back_only_when_released(books)
        check_statuses_moved_only_along_the_transition_table(books)

    # payments and recharges

    @initialize(
        target=transactions,
        amounts=st.lists(st.integers(1, 5_000), min_size=3, max_size=3),
        balance=st.integers(0, 6_000),
    )
    def some_refundable_payments_and_a_first_recharge(
        self, amounts: list[int], balance: int
    ) -> Any:
        if balance:
            self.recharge(balance, reference=99)
        return multiple(*(self._record(a, TransactionStatus.SUCCESS, 0, "INR") for a in amounts))

    @rule(
        target=transactions,
        amount=st.integers(1, 5_000),
        status=st.sampled_from([TransactionStatus.SUCCESS] * 4 + list(TransactionStatus)),
        days_old=st.sampled_from([0, 0, 0, 0, 10, WINDOW_DAYS + 1]),
        currency=st.sampled_from(["INR"] * 5 + ["USD"]),
    )
    def record_a_payment(
        self, amount: int, status: TransactionStatus, days_old: int, currency: str
    ) -> UUID:
        return self._record(amount, status, days_old, currency)

    def _record(self, amount: int, status: TransactionStatus, days_old: int, currency: str) -> UUID:
        number = next(self.numbers)
        cmd = platform.RecordTransaction(
            merchant_id=self.merchant_id,
            reference=f"pay_{number}",
            order_id="order_1",
            amount=amount,
            currency=currency,
            status=status,
            payment_method=list(PaymentMethod)[number % len(PaymentMethod)],
            source="customer@okaxis",
            created_at=datetime.now(UTC) - timedelta(days=days_old),
        )
        return self.run(platform.record_transaction(self.uow(), cmd)).id

    @precondition(lambda self: self.last_books and self.last_books.on_hold_oldest_first())
    @rule(margin=st.sampled_from([-1, 0, 1]))
    def recharge_near_what_the_oldest_held_refund_needs(self, margin: int) -> None:
        """Recharges at the edge of the queue: one short of the oldest held refund (a smaller,
        newer one that would fit must still wait), exactly enough, or one more."""
        assert self.last_books is not None
        oldest = self.last_books.refunds[self.last_books.on_hold_oldest_first()[0]]
        self.recharge(
            max(oldest.amount - self.last_books.balance + margin, 1), 1_000 + next(self.numbers)
        )

    @rule(amount=st.integers(1, 5_000), reference=st.integers(0, 12))
    def recharge(self, amount: int, reference: int) -> None:
        ref = f"rch_{reference}"
        before = self.books()
        earlier = [e.amount for e in before.ledger if e.kind == "RECHARGE" and e.reference == ref]
        outcome = self.attempt(
            platform.recharge_balance(self.uow(), self.merchant_id, amount, ref, datetime.now(UTC))
        )
        after = self.books()
        if earlier:  # a retry with the same amount changes nothing; another amount is refused
            assert isinstance(outcome, InvalidInput) == (earlier != [amount])
            assert after == before
            return
        assert not isinstance(outcome, DomainError), outcome
        # held refunds were released oldest first, up to the first one that did not fit
        queue = before.on_hold_oldest_first()
        still_held = [i for i in queue if after.refunds[i].status is S.ON_HOLD]
        assert still_held == queue[len(queue) - len(still_held) :]
        if still_held:
            assert after.refunds[still_held[0]].amount > after.balance

    # refunds

    @rule(
        target=refunds,
        transaction_id=transactions,
        share=st.sampled_from(SHARES),
        key=st.none() | st.sampled_from(KEYS),
        queue=st.booleans(),
    )
    def initiate_a_refund(
        self, transaction_id: UUID, share: int | str | None, key: str | None, queue: bool
    ) -> Any:
        return self._initiate(transaction_id, share, key, queue)

    @rule(
        target=refunds,
        transaction_id=transactions,
        share=st.sampled_from(SHARES),
        queue=st.booleans(),
    )
    def initiate_another_refund(
        self, transaction_id: UUID, share: int | str | None, queue: bool
    ) -> Any:
        """The same without a key: a second rule makes new refunds twice as frequent."""
        return self._initiate(transaction_id, share, None, queue)

    def _initiate(
        self, transaction_id: UUID, share: int | str | None, key: str | None, queue: bool
    ) -> Any:
        before = self.books()
        cmd = InitiateRefund(
            merchant_id=self.merchant_id,
            transaction_id=transaction_id,
            amount=ask_for(before, transaction_id, share),
            reason=RefundReason.CUSTOMER_REQUEST,
            idempotency_key=key,
            queue_if_insufficient_balance=queue,
        )
        earlier = self.keyed.get(key) if key else None
        now = datetime.now(UTC)
        refund = self.attempt(initiate_refund(self.uow(), cmd, now=now, window_days=WINDOW_DAYS))
        if earlier is not None:
            # a key that made a refund replays it for the same request, and is refused for
            # any other; either way nothing changes
            earlier_cmd, earlier_id = earlier
            if earlier_cmd == cmd:
                assert not isinstance(refund, DomainError), refund
                assert refund.id == earlier_id
            else:
                assert isinstance(refund, IdempotencyKeyReused), refund
            assert self.books() == before
            return multiple()
        expected = expected_initiation(before, cmd, now)
        if isinstance(refund, DomainError):
            assert refund.code == expected
            assert self.books() == before
            return multiple()
        assert refund.amount == expected
        assert refund.status is (S.PENDING if refund.amount <= before.balance else S.ON_HOLD)
        if key is not None:
            self.keyed[key] = (cmd, refund.id)
        return refund.id

    # batches: each item as one initiateRefund, in the batch's order; cancelled mid-way or not

    @rule(
        target=refunds,
        transaction_ids=st.lists(transactions, min_size=1, max_size=5),
        shares=st.lists(st.sampled_from(SHARES), min_size=5, max_size=5),
        queue=st.booleans(),
        cancel_after=st.none() | st.integers(0, 4),
    )
    def submit_and_apply_a_batch(
        self,
        transaction_ids: list[UUID],
        shares: list[int | str | None],
        queue: bool,
        cancel_after: int | None,
    ) -> Any:
        before = self.books()
        items = tuple(
            BatchItemInput(
                transaction=f"txn_{t.hex}",
                transaction_id=t,
                order_id=None,
                amount=ask_for(before, t, share),
                reason=RefundReason.OTHER,
            )
            for t, share in zip(transaction_ids, shares, strict=False)
        )
        cmd = SubmitRefundBatch(
            merchant_id=self.merchant_id,
            items=items,
            idempotency_key=f"batch-{next(self.numbers)}",
            queue_if_insufficient_balance=queue,
        )
        batch = self.run(submit_refund_batch(self.uow(), cmd))
        assert self.books() == before  # accepted, nothing applied yet
        created = []
        for index, item in enumerate(items):
            if index == cancel_after:
                cancelled = self.run(
                    cancel_refund_batch(self.uow(), self.merchant_id, batch.id, datetime.now(UTC))
                )
                assert cancelled.cancelled == len(items) - index
            stopped = cancel_after is not None and index >= cancel_after
            created += self._apply_item(batch.id, index, item, queue, cancelled=stopped)
        finished = self.run(
            finish_if_applied(self.uow(), self.merchant_id, batch.id, datetime.now(UTC))
        )
        assert finished
        return multiple(*created)

    def _apply_item(
        self, batch_id: UUID, index: int, item: BatchItemInput, queue: bool, *, cancelled: bool
    ) -> list[UUID]:
        before = self.books()
        assert item.transaction_id is not None
        as_one = InitiateRefund(
            merchant_id=self.merchant_id,
            transaction_id=item.transaction_id,
            amount=item.amount,
            reason=item.reason,
            queue_if_insufficient_balance=queue,
        )
        now = datetime.now(UTC)
        outcome = self.run(
            apply_batch_item(
                self.uow, self.merchant_id, batch_id, index, now=now, window_days=WINDOW_DAYS
            )
        )
        after = self.books()
        if cancelled:
            assert outcome is None
            assert after == before
            return []
        expected = expected_initiation(before, as_one, now)
        if isinstance(expected, str):
            assert outcome is RefundBatchItemStatus.REFUSED
            assert after == before
            return []
        assert outcome is RefundBatchItemStatus.CREATED
        (new,) = set(after.refunds) - set(before.refunds)
        assert after.refunds[new].amount == expected
        return [new]

    @rule(refund_id=refunds)
    def cancel(self, refund_id: UUID) -> None:
        before = self.books()
        status = before.refunds[refund_id].status
        outcome = self.attempt(
            cancel_refund(self.uow(), self.merchant_id, refund_id, datetime.now(UTC))
        )
        if status in refund_states.CANCELLABLE_STATUSES:
            assert not isinstance(outcome, DomainError), outcome
            assert self.books().refunds[refund_id].status is S.CANCELLED
        else:
            assert isinstance(outcome, RefundNotCancellable), outcome
            assert self.books() == before

    # the rails

    @rule(refund_id=refunds)
    def start_processing(self, refund_id: UUID) -> None:
        before = self.books()
        started = self.run(
            start_processing(self.uow(), self.merchant_id, refund_id, datetime.now(UTC))
        )
        if before.refunds[refund_id].status is S.PENDING:
            assert started is not None
            assert self.books().refunds[refund_id].status is S.PROCESSING
        else:
            assert started is None
            assert self.books() == before

    @rule(refund_id=refunds, outcome=st.sampled_from(list(OUTCOME_SOURCES)))
    def hear_from_the_rails(self, refund_id: UUID, outcome: RefundStatus) -> None:
        self._hear(refund_id, outcome)

    @rule(refund_id=refunds, journey=st.sampled_from(RAIL_JOURNEYS))
    def process(self, refund_id: UUID, journey: tuple[RefundStatus | str, ...]) -> None:
        """Start processing, then hear the rails (or give a new account) in turn: one step of
        the machine takes a refund far."""
        self.run(start_processing(self.uow(), self.merchant_id, refund_id, datetime.now(UTC)))
        for step in journey:
            if isinstance(step, RefundStatus):
                self._hear(refund_id, step)
            else:
                self._give_a_new_account(refund_id)

    def _hear(self, refund_id: UUID, outcome: RefundStatus) -> None:
        before = self.books()
        rail = RailOutcome(
            outcome,
            failure_code=None if outcome is S.PROCESSED else f"CODE_{outcome}",
            bank_reference="UTR1" if outcome is S.PROCESSED else None,
            message="rails",
        )
        applied = self.run(
            record_outcome(self.uow(), self.merchant_id, refund_id, rail, datetime.now(UTC))
        )
        if before.refunds[refund_id].status is OUTCOME_SOURCES[outcome]:
            assert applied is not None
            assert self.books().refunds[refund_id].status is outcome
        else:  # not where this outcome comes from: a late or repeated answer changes nothing
            assert applied is None
            assert self.books() == before

    def _give_a_new_account(self, refund_id: UUID) -> None:
        before = self.books()
        outcome = self.attempt(
            update_refund_destination(
                self.uow(),
                self.merchant_id,
                refund_id,
                destinations.upi_vpa("new.payee@okicici"),
                datetime.now(UTC),
            )
        )
        if before.refunds[refund_id].status is S.ACTION_REQUIRED:
            assert not isinstance(outcome, DomainError), outcome
            assert self.books().refunds[refund_id].status is S.PENDING
        else:
            assert isinstance(outcome, RefundNotAwaitingAction), outcome
            assert self.books() == before


@pytest.fixture
def private_loop_and_engine(
    database_url: str,
) -> Iterator[tuple[asyncio.AbstractEventLoop, AsyncEngine]]:
    """A database of the machine's own: no processor or batch applier of the suite's server
    works on it, so the machine alone decides each step (the appliers are NOTIFYed at once)."""
    loop = asyncio.new_event_loop()
    url = make_url(database_url)
    server_url = url.set(database="postgres").render_as_string(hide_password=False)
    name = f"refunds_machine_{secrets.token_hex(4)}"
    loop.run_until_complete(_on_server(server_url, f'CREATE DATABASE "{name}"'))
    own_url = url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(own_url)
        engine = create_engine(own_url, pool_size=2)
        yield loop, engine
        loop.run_until_complete(engine.dispose())
    finally:
        loop.run_until_complete(_on_server(server_url, f'DROP DATABASE "{name}" WITH (FORCE)'))
        loop.close()


def test_no_sequence_of_requests_breaks_the_money_rules(
    private_loop_and_engine: tuple[asyncio.AbstractEventLoop, AsyncEngine],
) -> None:
    loop, engine = private_loop_and_engine
    run_state_machine_as_test(
        # hypothesis documents any factory of a machine; its annotation names only the class
        lambda: LedgerMachine(loop, engine),  # type: ignore[arg-type]
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,  # the same sequences on every run: CI replays exactly
            database=None,  # and no cache of past failures to depend on
            suppress_health_check=[HealthCheck.too_slow],
            print_blob=True,
        ),
    )
