"""The strawberry schema: the features' queries and mutations, the scalars, and the
extensions that keep it safe and fast (caches that hit, limits, error masking)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from datetime import datetime

import strawberry
from graphql import GraphQLError, GraphQLSchema
from strawberry.extensions import ParserCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from api.batches.mutations import RefundBatchMutations
from api.batches.queries import RefundBatchQueries
from api.batches.types import RefundBatchType
from api.bounded_validation import BoundedValidation
from api.compiled.strawberry_bridge import graphql_schema
from api.errors import MaskFaults, log_errors
from api.input_guard import InputGuard
from api.keys.mutations import ApiKeyMutations
from api.keys.scope import ReadOnlyKeys
from api.keys.types import ApiKeyType
from api.merchants.mutations import PlatformMutations
from api.merchants.queries import MerchantQueries
from api.merchants.settings import MerchantSettingsMutations
from api.merchants.types import MerchantType
from api.metrics import OperationMetrics
from api.refunds.mutations import RefundMutations
from api.refunds.queries import RefundQueries
from api.refunds.shared_events import SharedEventExecutor
from api.refunds.subscriptions import Subscription
from api.refunds.types import RefundType
from api.reports.queries import ReportQueries
from api.scalars import DateTimeScalar, MinorUnits, MinorUnitsScalar
from api.transactions.queries import TransactionQueries
from api.transactions.types import TransactionType
from api.webhooks.mutations import WebhookMutations
from api.webhooks.queries import WebhookQueries
from api.webhooks.types import WebhookDeliveryType, WebhookEndpointType

CACHE_SIZE = 1_024


@strawberry.type
class Query(
    MerchantQueries,
    TransactionQueries,
    RefundQueries,
    RefundBatchQueries,
    ReportQueries,
    WebhookQueries,
):
    pass


@strawberry.type
class Mutation(
    RefundMutations,
    RefundBatchMutations,
    ApiKeyMutations,
    WebhookMutations,
    MerchantSettingsMutations,
    PlatformMutations,
):
    pass


class CachedParse(ParserCache):
    """ParserCache, except that a document that does not parse is left to strawberry's own
    parse, which reports the syntax error inside the operation: masked and coded by MaskFaults,
    and sent as graphql-transport-ws prescribes. (ParserCache's error escapes the operation.)"""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


class RefundsSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # strawberry's own logs every error at ERROR with a traceback, the client's too
        log_errors(errors, execution_context.operation_name if execution_context else None)


def build_schema() -> strawberry.Schema:
    return RefundsSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        execution_context_class=SharedEventExecutor,  # one execution per pushed change
        types=[
            TransactionType,
            RefundType,
            MerchantType,
            ApiKeyType,
            WebhookEndpointType,
            WebhookDeliveryType,
            RefundBatchType,
        ],
        config=StrawberryConfig(
            scalar_map={MinorUnits: MinorUnitsScalar, datetime: DateTimeScalar}
        ),
        extensions=[
            BoundedValidation,  # limits, rules and cost, cheapest first (no ValidationCache)
            lambda: CachedParse(maxsize=CACHE_SIZE),
            InputGuard,  # right after validation: its error stops execution (input_guard.py)
            ReadOnlyKeys,
            MaskFaults,
            OperationMetrics,
        ],
    )


schema = build_schema()


def graphql_core_schema() -> GraphQLSchema:
    """The graphql-core schema strawberry built."""
    return graphql_schema(schema)
