"""No N+1: the SQL a list request issues does not grow with the page size."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from starlette.applications import Starlette

from tests.api.both_paths import endpoint_of
from tests.support import Api, Merchant

LIST = """query($first: Int) { transactions(first: $first) { totalCount edges { node {
  id amount refundedAmount refundableAmount
  refunds { id amount status events { status } transaction { id } } } } } }"""


@contextmanager
def counting_statements(app: Starlette) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = app.state.services.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _merchant_with_refunded_transactions(api: Api, count: int) -> Merchant:
    merchant = await api.create_merchant()
    await api.recharge(merchant, 100_000_00)
    for n in range(count):
        transaction = await api.record_transaction(merchant, amount=1_000_00)
        if n % 2 == 0:
            await api.initiate_refund(merchant, transactionId=transaction["id"], amount=100_00)
    return merchant


@contextmanager
def one_path(app: Starlette, path: str) -> Iterator[None]:
    """Strawberry's resolvers alone, or compiled reads reading through ReadQueries (whose
    statements SQLAlchemy's event sees; db/pooled_reads.py runs the same queries on asyncpg)."""
    endpoint = endpoint_of(app)
    compiled = endpoint.compiled_reads
    assert compiled is not None
    raw_sql = compiled.raw_sql
    if path == "strawberry":
        endpoint.compiled_reads = None
    compiled.raw_sql = False
    try:
        yield
    finally:
        endpoint.compiled_reads, compiled.raw_sql = compiled, raw_sql


@pytest.mark.parametrize("path", ["strawberry", "compiled"])
async def test_a_list_request_issues_the_same_statements_at_10_and_100(
    api: Api, app: Starlette, path: str
) -> None:
    # given a merchant with 100 transactions, half of them refunded
    merchant = await _merchant_with_refunded_transactions(api, 100)
    await api.gql(LIST, {"first": 1}, token=merchant.key)  # warm the key cache
    counts = {}
    for first in (10, 100):
        # when one list request asks for everything nested
        with one_path(app, path), counting_statements(app) as statements:
            data = await api.gql(LIST, {"first": first}, token=merchant.key)
        assert len(data["transactions"]["edges"]) == first
        counts[first] = len(statements)
    # then: the page, the count, refunds in one batch, events in one batch
    assert counts == {10: 4, 100: 4}
