"""PostgreSQL refuses to break the money rules on its own, without the Python layer.

Each test goes around the domain and the repositories with raw SQL on a connection of the
tests' engine, and checks that the refusal names the very constraint that holds the rule (so a
test cannot pass because some other statement failed). Every statement that must fail runs in a
savepoint, so the test can then show that nothing was changed."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# Ledger entries are numbered per merchant by the repositories; raw inserts take the next one.
NEXT_ENTRY_ID = "(SELECT coalesce(max(id), 0) + 1 FROM ledger_entries WHERE merchant_id = :m)"


@dataclass(frozen=True)
class Account:
    """A merchant with a balance of 500, one successful transaction of 1000, and one refund of
    300 on it that has been debited once."""

    merchant_id: UUID
    transaction_id: UUID
    refund_id: UUID


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One database transaction for the whole test, rolled back at the end."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


async def _one(conn: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await conn.execute(text(sql), params)).scalar_one()


@pytest.fixture
async def account(conn: AsyncConnection) -> Account:
    merchant_id = await _one(
        conn,
        "INSERT INTO merchants (id, name, currency, balance) "
        "VALUES (gen_random_uuid(), 'Raw', 'INR', 500) RETURNING id",
    )
    transaction_id = await _one(
        conn,
        "INSERT INTO transactions (id, merchant_id, reference, order_id, amount, currency, "
        "status, payment_method, source) VALUES (gen_random_uuid(), :m, 'pay_1', 'order_1', "
        "1000, 'INR', 'SUCCESS', 'UPI', 'customer@okaxis') RETURNING id",
        m=merchant_id,
    )
    refund_id = await _insert_refund(conn, merchant_id, transaction_id, 300)
    await _insert_ledger(conn, merchant_id, "RECHARGE", 800, 800, reference="rch_1")
    await _insert_ledger(conn, merchant_id, "REFUND_DEBIT", 300, 500, refund_id=refund_id)
    return Account(merchant_id, transaction_id, refund_id)


async def _insert_refund(
    conn: AsyncConnection, merchant_id: UUID, transaction_id: UUID, amount: int
) -> UUID:
    refund_id: UUID = await _one(
        conn,
        "INSERT INTO refunds (id, merchant_id, transaction_id, amount, currency, status, reason, "
        "speed_requested, destination_kind, destination_display) VALUES (gen_random_uuid(), :m, "
        ":t, :amount, 'INR', 'PENDING', 'CUSTOMER_REQUEST', 'NORMAL', 'ORIGINAL_SOURCE', "
        "'customer@okaxis') RETURNING id",
        m=merchant_id,
        t=transaction_id,
        amount=amount,
    )
    return refund_id


async def _insert_ledger(
    conn: AsyncConnection,
    merchant_id: UUID,
    kind: str,
    amount: int,
    balance_after: int,
    *,
    refund_id: UUID | None = None,
    reference: str | None = None,
) -> None:
    await conn.execute(
        text(
            "INSERT INTO ledger_entries (merchant_id, id, kind, amount, balance_after, refund_id, "
            "reference) VALUES (:m, "
            + NEXT_ENTRY_ID
            + ", :kind, :amount, :after, :refund, :reference)"
        ),
        {
            "m": merchant_id,
            "kind": kind,
            "amount": amount,
            "after": balance_after,
            "refund": refund_id,
            "reference": reference,
        },
    )


async def _refused(
    conn: AsyncConnection, violation: type[asyncpg.PostgresError], sql: str, **params: Any
) -> str:
    """Run `sql` in a savepoint; it must fail with `violation`. Returns the constraint's name."""
    with pytest.raises(IntegrityError) as refused:
        async with conn.begin_nested():
            await conn.execute(text(sql), params)
    cause = refused.value.orig.__cause__ if refused.value.orig is not None else None
    assert isinstance(cause, violation), repr(cause)
    assert cause.constraint_name is not None, repr(cause)
    return cause.constraint_name


async def _balance(conn: AsyncConnection, merchant_id: UUID) -> int:
    balance: int = await _one(conn, "SELECT balance FROM merchants WHERE id = :m", m=merchant_id)
    return balance


async def _count(conn: AsyncConnection, table: str, merchant_id: UUID) -> int:
    count: int = await _one(
        conn, f"SELECT count(*) FROM {table} WHERE merchant_id = :m", m=merchant_id
    )
    return count


async def test_a_merchant_balance_cannot_be_set_negative(
    conn: AsyncConnection, account: Account
) -> None:
    constraint = await _refused(
        conn,
        asyncpg.CheckViolationError,
        "UPDATE merchants SET balance = -1 WHERE id = :m",
        m=account.merchant_id,
    )
    assert constraint == "ck_merchants_balance_never_negative"
    assert await _balance(conn, account.merchant_id) == 500


async def test_a_debit_larger_than_the_balance_cannot_be_applied_to_the_merchant(
    conn: AsyncConnection, account: Account
) -> None:
    # when a refund of 501 is taken from a balance of 500
    constraint = await _refused(
        conn,
        asyncpg.CheckViolationError,
        "UPDATE merchants SET balance = balance - 501 WHERE id = :m",
        m=account.merchant_id,
    )
    # then
    assert constraint == "ck_merchants_balance_never_negative"
    assert await _balance(conn, account.merchant_id) == 500


async def test_a_ledger_entry_cannot_leave_the_balance_below_zero(
    conn: AsyncConnection, account: Account
) -> None:
    # given a second refund to debit
    refund_id = await _insert_refund(conn, account.merchant_id, account.transaction_id, 501)
    # when its debit would take the balance of 500 to -1
    constraint = await _refused(
        conn,
        asyncpg.CheckViolationError,
        "INSERT INTO ledger_entries (merchant_id, id, kind, amount, balance_after, refund_id) "
        "VALUES (:m, " + NEXT_ENTRY_ID + ", 'REFUND_DEBIT', 501, -1, :r)",
        m=account.merchant_id,
        r=refund_id,
    )
    # then
    assert constraint == "ck_ledger_entries_balance_after_never_negative"
    assert await _count(conn, "ledger_entries", account.merchant_id) == 2


@pytest.mark.parametrize("amount", [0, -100])
async def test_a_transaction_amount_must_be_positive(
    conn: AsyncConnection, account: Account, amount: int
) -> None:
    constraint = await _refused(
        conn,
        asyncpg.CheckViolationError,
        "INSERT INTO transactions (id, merchant_id, reference, order_id, amount, currency, "
        "status, payment_method, source) VALUES (gen_random_uuid(), :m, 'pay_zero', 'order_2', "
        ":amount, 'INR', 'SUCCESS', 'UPI', 'customer@okaxis')",
        m=account.merchant_id,
        amount=amount,
    )
    assert constraint == "ck_transactions_amount_positive"
    assert await _count(conn, "transactions", account.merchant_id) == 1


@pytest.mark.parametrize("amount", [0, -300])
async def test_a_refund_amount_must_be_positive(
    conn: AsyncConnection, account: Account, amount: int
) -> None:
    # a new refund of a non-positive amount
    constraint = await _refused(
        conn,
        asyncpg.CheckViolationError,
        "INSERT INTO refunds (id, merchant_id, transaction_id, amount, currency, status, reason, "
        "speed_requested, destination_kind, destination_display) VALUES (gen_random_uuid(), :m, "
        ":t, :amount, 'INR', 'PENDING', 'CUSTOMER_REQUEST', 'NORMAL', 'ORIGINAL_SOURCE', 'x')",
        m=account.merchant_id,
        t=account.transaction_id,
        amount=amount,
    )
    assert constraint == "ck_refunds_amount_positive"
    # and an existing refund cannot be changed to one
    constraint = await _refused(
        conn,
        asyncpg.CheckViolationError,
        "UPDATE refunds SET amount = :amount WHERE id = :r",
        r=account.refund_id,
        amount=amount,
    )
    assert constraint == "ck_refunds_amount_positive"
    assert await _one(conn, "SELECT amount FROM refunds WHERE id = :r", r=account.refund_id) == 300


@pytest.mark.parametrize("amount", [0, -1])
async def test_a_ledger_entry_amount_must_be_positive(
    conn: AsyncConnection, account: Account, amount: int
) -> None:
    constraint = await _refused(
        conn,
        asyncpg.CheckViolationError,
        "INSERT INTO ledger_entries (merchant_id, id, kind, amount, balance_after, reference) "
        "VALUES (:m, " + NEXT_ENTRY_ID + ", 'RECHARGE', :amount, 500, 'rch_nothing')",
        m=account.merchant_id,
        amount=amount,
    )
    assert constraint == "ck_ledger_entries_amount_positive"
    assert await _count(conn, "ledger_entries", account.merchant_id) == 2


async def test_a_refund_cannot_be_debited_twice(conn: AsyncConnection, account: Account) -> None:
    # given the refund's one REFUND_DEBIT (in the fixture)
    # when a second debit for the same refund is written
    constraint = await _refused(
        conn,
        asyncpg.UniqueViolationError,
        "INSERT INTO ledger_entries (merchant_id, id, kind, amount, balance_after, refund_id) "
        "VALUES (:m, " + NEXT_ENTRY_ID + ", 'REFUND_DEBIT', 300, 200, :r)",
        m=account.merchant_id,
        r=account.refund_id,
    )
    # then
    assert constraint == "uq_ledger_entries_refund_kind"
    debits = await _one(
        conn,
        "SELECT count(*) FROM ledger_entries WHERE refund_id = :r AND kind = 'REFUND_DEBIT'",
        r=account.refund_id,
    )
    assert debits == 1


async def test_a_refund_cannot_be_credited_back_twice(
    conn: AsyncConnection, account: Account
) -> None:
    # given the refund was credited back once
    await _insert_ledger(
        conn, account.merchant_id, "REFUND_REVERSAL", 300, 800, refund_id=account.refund_id
    )
    # when a second reversal is written
    constraint = await _refused(
        conn,
        asyncpg.UniqueViolationError,
        "INSERT INTO ledger_entries (merchant_id, id, kind, amount, balance_after, refund_id) "
        "VALUES (:m, " + NEXT_ENTRY_ID + ", 'REFUND_REVERSAL', 300, 1100, :r)",
        m=account.merchant_id,
        r=account.refund_id,
    )
    # then
    assert constraint == "uq_ledger_entries_refund_kind"


async def test_a_transaction_reference_names_one_payment_per_merchant(
    conn: AsyncConnection, account: Account
) -> None:
    insert = (
        "INSERT INTO transactions (id, merchant_id, reference, order_id, amount, currency, "
        "status, payment_method, source) VALUES (gen_random_uuid(), :m, 'pay_1', 'order_9', "
        "700, 'INR', 'SUCCESS', 'CARD', 'card_4242')"
    )
    # when the merchant's reference pay_1 is used again
    constraint = await _refused(conn, asyncpg.UniqueViolationError, insert, m=account.merchant_id)
    # then
    assert constraint == "uq_transactions_merchant_reference"
    assert await _count(conn, "transactions", account.merchant_id) == 1
    # but another merchant may use the same reference
    other = await _one(
        conn,
        "INSERT INTO merchants (id, name, currency) VALUES (gen_random_uuid(), :name, 'INR') "
        "RETURNING id",
        name=secrets.token_hex(4),
    )
    await conn.execute(text(insert), {"m": other})
    assert await _count(conn, "transactions", other) == 1


async def test_a_recharge_reference_is_used_once_per_merchant(
    conn: AsyncConnection, account: Account
) -> None:
    # given the recharge rch_1 of 800 (in the fixture)
    # when a second recharge with that reference is written
    constraint = await _refused(
        conn,
        asyncpg.UniqueViolationError,
        "INSERT INTO ledger_entries (merchant_id, id, kind, amount, balance_after, reference) "
        "VALUES (:m, " + NEXT_ENTRY_ID + ", 'RECHARGE', 800, 1300, 'rch_1')",
        m=account.merchant_id,
    )
    # then
    assert constraint == "uq_ledger_entries_recharge_reference"
    assert await _count(conn, "ledger_entries", account.merchant_id) == 2


async def test_a_refund_ledger_entry_must_name_its_refund(
    conn: AsyncConnection, account: Account
) -> None:
    # a debit with no refund could not be matched to one, and would escape the one-debit index
    constraint = await _refused(
        conn,
        asyncpg.CheckViolationError,
        "INSERT INTO ledger_entries (merchant_id, id, kind, amount, balance_after) "
        "VALUES (:m, " + NEXT_ENTRY_ID + ", 'REFUND_DEBIT', 100, 400)",
        m=account.merchant_id,
    )
    assert constraint == "ck_ledger_entries_refund_entries_name_refund"
