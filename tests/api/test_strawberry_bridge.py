"""api/compiled/strawberry_bridge.py holds every strawberry internal the compiled reads use; one
test per function, so that a strawberry upgrade that changes one fails here, by name."""

from __future__ import annotations

from datetime import UTC, datetime

from graphql import GraphQLSchema

from api.compiled.strawberry_bridge import graphql_schema, python_arguments
from api.refunds.queries import RefundFilter
from api.schema import schema
from api.transactions.queries import TransactionFilter
from domain.model import RefundStatus, TransactionStatus


def test_the_graphql_core_schema_is_the_one_strawberry_executes() -> None:
    found = graphql_schema(schema)
    assert isinstance(found, GraphQLSchema)
    assert found.query_type is not None
    assert "transactions" in found.query_type.fields


def test_arguments_arrive_as_the_resolvers_receive_them() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    found = python_arguments(
        schema,
        "Query",
        "transactions",
        {
            "first": 3,
            "after": None,
            "filter": {"status": TransactionStatus.FAILED, "orderId": "A-1", "createdFrom": at},
        },
    )
    assert found == {
        "first": 3,
        "after": None,
        "filter": TransactionFilter(
            status=TransactionStatus.FAILED, order_id="A-1", created_from=at
        ),
    }
    refunds = python_arguments(
        schema, "Query", "refunds", {"filter": {"status": [RefundStatus.PENDING]}}
    )
    assert refunds == {"filter": RefundFilter(status=[RefundStatus.PENDING])}
