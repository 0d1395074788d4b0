"""How long validation takes on adversarial documents, before and after api/query_limits.py.

    .venv/bin/python -m bench.validation [--before]

Each family of documents (tests/api/adversarial_documents.py) is generated at growing sizes up
to the token limit; for each, the step that refused it (or `accepted`) and the best of 5
validation times. `--before` also times strawberry's QueryDepthLimiter and MaxAliasesLimiter, as
the schema ran them before, on the sizes where they return (they are 2^n in a fragment chain)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from graphql import GraphQLError, parse, specified_rules, validate
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from api.bounded_validation import PARSE_LIMITS, document_errors
from api.config import EdgeSettings
from api.query_cost import cost_errors
from api.schema import graphql_core_schema
from tests.api.adversarial_documents import FAMILIES

BEFORE_RULES = [
    *specified_rules,
    depth_rule(max_depth=10, should_ignore=None),
    max_aliases_rule(max_alias_count=30),
]
MAX_COST = EdgeSettings().max_query_cost


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def after(text: str) -> str:
    schema = graphql_core_schema()
    document_errors.cache_clear()  # time the work, not the cache
    try:
        document = parse(text, **PARSE_LIMITS)
    except GraphQLError as error:
        return error.message[:60]
    errors = document_errors(schema, document) or cost_errors(
        schema, document, None, None, MAX_COST
    )
    return errors[0].message[:60] if errors else "accepted"  # (execution would follow)


def before_seconds(text: str) -> str:
    try:
        schema, document = graphql_core_schema(), parse(text, max_tokens=2_000)
    except GraphQLError:
        return "parse refused"
    return f"{best_of(1, lambda: validate(schema, document, BEFORE_RULES)) * 1e3:.1f} ms"


def main(before: bool) -> None:
    worst = 0.0
    for family, sizes in FAMILIES.items():
        for size, text in sizes.items():
            outcome = after(text)
            seconds = best_of(5, lambda text=text: after(text))  # type: ignore[misc]
            worst = max(worst, seconds)
            line = f"{family:<18} {size:>5} {len(text):>6} B {seconds * 1e3:6.2f} ms  {outcome}"
            # the old limiters never return on longer chains
            if before and (family not in {"fragment chain", "fragment mesh"} or size <= 20):
                line += f" | before {before_seconds(text)}"
            print(line)
    print(f"worst after: {worst * 1e3:.2f} ms")


if __name__ == "__main__":
    main("--before" in sys.argv)
