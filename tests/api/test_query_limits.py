"""Validation work is bounded by the document's size: adversarial documents (tests/api/
adversarial_documents.py) are refused or accepted after work linear in their selections, and
graphql-core's pairwise comparisons never exceed what the selections cap allows. Work is
counted (selections walked, pairs compared), not timed; bench/validation.py has the times."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import graphql.validation.rules.overlapping_fields_can_be_merged as overlapping
import pytest
from graphql import GraphQLError, GraphQLSyntaxError, get_introspection_query, parse

from api.bounded_validation import PARSE_LIMITS, document_errors
from api.config import EdgeSettings
from api.query_cost import CODE, operation_cost, worst_case_cost
from api.query_limits import MAX_SELECTIONS, measure
from api.schema import graphql_core_schema
from tests.api.adversarial_documents import FAMILIES, fragment_chain

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = graphql_core_schema()
MAX_COST = EdgeSettings().max_query_cost
CASES = [(family, n, text) for family, sizes in FAMILIES.items() for n, text in sizes.items()]


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts graphql-core's field-pair comparisons (OverlappingFieldsCanBeMergedRule)."""
    count = [0]
    compare = overlapping.find_conflict

    def counted(*args: object, **kwargs: object) -> object:
        count[0] += 1
        return compare(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(overlapping, "find_conflict", counted)
    document_errors.cache_clear()
    yield count
    document_errors.cache_clear()


def verdict(text: str) -> list[GraphQLError]:
    try:
        document = parse(text, **PARSE_LIMITS)
    except GraphQLError as error:
        return [error]
    return document_errors(SCHEMA, document)


@pytest.mark.parametrize(("family", "n", "text"), CASES, ids=[f"{f}-{n}" for f, n, _ in CASES])
def test_adversarial_documents_cost_work_linear_in_their_size(
    comparisons: list[int], family: str, n: int, text: str
) -> None:
    errors = verdict(text)
    if errors and isinstance(errors[0], GraphQLSyntaxError):
        return  # refused while parsing (tokens, nesting): nothing else ran
    document = parse(text)
    shape = measure(document)
    # each selection walked a bounded number of times, however its fragments spread
    assert shape.visits <= 2 * shape.selections
    if shape.selections > MAX_SELECTIONS:
        assert comparisons[0] == 0  # refused before graphql-core's rules
        assert "selections" in errors[0].message
    else:
        assert comparisons[0] <= MAX_SELECTIONS**2
    if not errors:
        cost = operation_cost(SCHEMA, document, None, {})
        assert cost.visits <= shape.selections + 1
        if cost.cost > MAX_COST:
            assert family in {"fragment chain", "fragment mesh", "deep nesting", "wide connections"}


def test_the_bomb_of_issue_8_is_too_complex_and_costed_in_a_walk_of_its_text() -> None:
    document = parse(fragment_chain(40))
    assert document_errors(SCHEMA, document) == []
    cost = operation_cost(SCHEMA, document)
    assert cost.cost == 2**40 + 1  # viewer, and F0's two fields 2^39 times
    assert cost.visits == 2 + 39 * 2 + 2  # F0, F1..F39, then viewer and its spread


def test_depth_and_aliases_keep_strawberrys_messages() -> None:
    deep = FAMILIES["deep nesting"][5]
    assert verdict(deep)[0].message == "'anonymous' exceeds maximum operation depth of 10"
    assert verdict(FAMILIES["aliases"][31])[0].message == "31 aliases found. Allowed: 30"
    assert verdict(FAMILIES["aliases"][30]) == []


def test_aliases_in_a_fragment_count_once_per_spread() -> None:
    text = (
        "{ viewer { ...A ...B } } fragment A on Merchant { "
        + " ".join(f"a{i}: name" for i in range(8))
        + " } fragment B on Merchant { ...A ...A ...A ...A }"
    )
    assert measure(parse(text)).aliases == 40


def test_a_connection_costs_its_page_size_from_literal_variable_or_default() -> None:
    query = "query($n: Int) { transactions(first: $n) { edges { node { id } } } }"
    document = parse(query)
    # 1 connection + n × (edge + node + id)
    assert operation_cost(SCHEMA, document, None, {"n": 7}).cost == 1 + 7 * 3
    assert operation_cost(SCHEMA, document, None, {}).cost == 1 + 20 * 3  # the default page
    assert operation_cost(SCHEMA, document, None, {"n": 10**9}).cost == 1 + 100 * 3
    assert worst_case_cost(SCHEMA, document) == 1 + 100 * 3
    literal = parse("{ transactions(first: 2) { totalCount edges { node { id } } } }")
    assert operation_cost(SCHEMA, literal).cost == 1 + 1 + 2 * 3


def test_a_plain_list_counts_ten_items() -> None:
    document = parse('{ transaction(id: "t") { id refunds { id events { status } } } }')
    # transaction, id, 10 × (refund, id, 10 × (event, status))
    assert operation_cost(SCHEMA, document).cost == 2 + 10 * (2 + 10 * 2)


def honest_documents() -> dict[str, str]:
    """Every document this repository sends or documents: the fast path's operations, the
    benchmark's, the README's examples, and GraphiQL's introspection."""
    from bench.subscribers import SUBSCRIPTION
    from bench.workloads import INITIATE_REFUND

    docs = {p.name: p.read_text() for p in ROOT.glob("**/*.graphql") if ".venv" not in p.parts}
    docs.pop("schema.graphql")
    readme = (ROOT / "README.md").read_text()
    for i, block in enumerate(re.findall(r"```graphql\n(.*?)```", readme, re.S)):
        docs[f"README {i}"] = block.replace("…", "x")
    docs |= {
        "bench mutation": INITIATE_REFUND,
        "bench subscription": SUBSCRIPTION,
        "introspection": get_introspection_query(),
    }
    return docs


@pytest.mark.parametrize("name", sorted(honest_documents()))
def test_every_document_of_this_repository_is_within_the_limits(name: str) -> None:
    text = honest_documents()[name]
    assert verdict(text) == [], name
    assert worst_case_cost(SCHEMA, parse(text)) <= MAX_COST


def test_over_the_cost_limit_is_query_too_complex_with_cost_and_limit() -> None:
    from api.query_cost import cost_errors

    text = FAMILIES["wide connections"][3]
    [error] = cost_errors(SCHEMA, parse(text), None, None, MAX_COST)
    assert error.extensions == {"code": CODE, "cost": 66_903, "limit": MAX_COST}
    assert "66,903" in error.message
    assert f"{MAX_COST:,}" in error.message
