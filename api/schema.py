"""The strawberry schema: the features' queries and mutations, the scalars, and the
extensions that keep it safe and fast (caches that hit, limits, error masking)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from datetime import datetime

import strawberry
from graphql import GraphQLError, GraphQLSchema
from graphql.validation import ValidationRule
from strawberry.extensions import AddValidationRules, ParserCache, ValidationCache
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from api.errors import MaskFaults, log_errors
from api.input_guard import InputGuard, JunkLiterals
from api.keys.mutations import ApiKeyMutations
from api.keys.scope import ReadOnlyKeys
from api.keys.types import ApiKeyType
from api.merchants.mutations import PlatformMutations
from api.merchants.queries import MerchantQueries
from api.merchants.types import MerchantType
from api.metrics import OperationMetrics
from api.refunds.mutations import RefundMutations
from api.refunds.queries import RefundQueries
from api.refunds.shared_events import SharedEventExecutor
from api.refunds.subscriptions import Subscription
from api.refunds.types import RefundType
from api.scalars import DateTimeScalar, MinorUnits, MinorUnitsScalar
from api.transactions.queries import TransactionQueries
from api.transactions.types import TransactionType

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2_000
CACHE_SIZE = 1_024


@strawberry.type
class Query(MerchantQueries, TransactionQueries, RefundQueries):
    pass


@strawberry.type
class Mutation(RefundMutations, ApiKeyMutations, PlatformMutations):
    pass


class MaxTokens(ValidationRule):
    """Refuses documents of more than MAX_TOKENS tokens. A validation rule rather than
    strawberry's MaxTokensLimiter, so that the validation cache keeps hitting."""

    def __init__(self, context):  # type: ignore[no-untyped-def]
        super().__init__(context)
        loc = context.document.loc
        if loc is not None:
            count = 0
            token = loc.start_token
            while token is not None and count <= MAX_TOKENS:
                count += 1
                token = token.next
            if count > MAX_TOKENS:
                context.report_error(
                    GraphQLError(f"The document has more than {MAX_TOKENS} tokens.")
                )


# Rules are built once: a per-request limiter makes ValidationCache miss (STACK-NOTES.md).
VALIDATION_RULES = [
    depth_rule(max_depth=MAX_DEPTH, should_ignore=None),
    max_aliases_rule(max_alias_count=MAX_ALIASES),
    MaxTokens,
    JunkLiterals,
]


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
        types=[TransactionType, RefundType, MerchantType, ApiKeyType],
        config=StrawberryConfig(
            scalar_map={MinorUnits: MinorUnitsScalar, datetime: DateTimeScalar}
        ),
        extensions=[
            lambda: AddValidationRules(VALIDATION_RULES),
            lambda: CachedParse(maxsize=CACHE_SIZE),
            lambda: ValidationCache(maxsize=CACHE_SIZE),
            InputGuard,  # right after ValidationCache: its error stops execution (input_guard.py)
            ReadOnlyKeys,
            MaskFaults,
            OperationMetrics,
        ],
    )


schema = build_schema()


def graphql_core_schema() -> GraphQLSchema:
    """The graphql-core schema strawberry built (it has no public accessor for it)."""
    return schema._schema
