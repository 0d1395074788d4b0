"""api/compiled/strawberry_bridge.py holds every strawberry internal the compiled reads use; one
test per function, so that a strawberry upgrade that changes one fails here, by name."""

from __future__ import annotations

from datetime import UTC, datetime

from graphql import GraphQLObjectType, GraphQLSchema

from api.compiled.strawberry_bridge import (
    graphql_schema,
    plain_fields,
    python_arguments,
    type_name,
)
from api.refunds.queries import RefundFilter
from api.schema import schema
from api.transactions.queries import TransactionFilter
from api.transactions.types import TransactionType
from api.webhooks.types import WebhookEndpointType
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


def test_plain_fields_are_the_fields_without_a_resolver_by_their_schema_names() -> None:
    found = plain_fields(TransactionType)
    # each named as the schema names it, mapped to its Python attribute
    transaction = graphql_schema(schema).get_type("Transaction")
    assert isinstance(transaction, GraphQLObjectType)
    assert set(found) <= set(transaction.fields)
    assert found["orderId"] == "order_id"
    assert found["createdAt"] == "created_at"
    # and the fields computed by a resolver are not among them
    assert "refunds" not in found
    assert "refundedAmount" not in found


def test_private_attributes_are_not_plain_fields() -> None:
    # an endpoint's domain value is a strawberry.Private attribute: never a field to show
    found = plain_fields(WebhookEndpointType)
    assert "domain" not in found.values()
    assert set(found) == {"id", "url", "description", "enabledEvents", "status", "createdAt"}


def test_a_type_is_named_as_the_schema_names_it() -> None:
    assert type_name(WebhookEndpointType) == "WebhookEndpoint"
    assert graphql_schema(schema).get_type(type_name(TransactionType)) is not None
