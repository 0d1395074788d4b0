"""Validation cheapest first, stopping at the first refusal, so that no document within the
limits takes long to validate (tests/api/test_query_limits.py, bench/validation.py):

1. parsing stops after MAX_TOKENS tokens or MAX_COMMENTS comments;
2. the document's shape: depth, aliases, selections (api/query_limits.py), linear;
3. graphql-core's and strawberry's rules, quadratic at worst but bounded by 2's cap on
   selections;
4. the cost of the operation with the request's variables (api/query_cost.py), linear; only when
   the operation's worst case (every page at its largest) is over the limit.

1-3 and the worst case depend on the document alone and are cached per document, as
strawberry's ValidationCache did (which this replaces, together with its QueryDepthLimiter and
MaxAliasesLimiter)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, specified_rules
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from api.input_guard import JunkLiterals
from api.query_cost import cost_errors, worst_case_cost
from api.query_limits import MAX_COMMENTS, MAX_TOKENS, limit_errors

PARSE_LIMITS: dict[str, Any] = {"max_lexical_tokens": MAX_TOKENS, "max_comments": MAX_COMMENTS}
CACHE_SIZE = 1_024
# graphql-core's rules and text PostgreSQL cannot store; strawberry's validate_document adds its
# own two. Every path validates with these (the schema, compiled reads, live subscriptions).
RULES: tuple[type[ASTValidationRule], ...] = (*specified_rules, JunkLiterals)


@lru_cache(maxsize=CACHE_SIZE)
def document_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...] = RULES,
) -> list[GraphQLError]:
    """Steps 2 and 3: what is wrong with the document, whatever the request's variables."""
    return limit_errors(document) or validate_document(schema, document, rules)


@lru_cache(maxsize=CACHE_SIZE)
def worst_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> int:
    """Step 4's bound: no variables can make the operation cost more (api/compiled checks each
    request's cost only past it too)."""
    return worst_case_cost(schema, document, operation_name)


class BoundedValidation(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        # strawberry types these options as max_tokens only; it passes them all to parse().
        self.execution_context.parse_options.update(PARSE_LIMITS)  # type: ignore[typeddict-item]
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        schema, document = context.schema._schema, context.graphql_document
        assert document is not None, "strawberry validates parsed documents only"
        errors = document_errors(schema, document)
        limit = context.context.services.settings.edge.max_query_cost
        if not errors and worst_cost(schema, document, context.operation_name) > limit:
            errors = cost_errors(schema, document, context.operation_name, context.variables, limit)
        context.pre_execution_errors = errors  # strawberry then skips its own validation
        yield
