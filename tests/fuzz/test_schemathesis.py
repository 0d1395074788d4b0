"""schemathesis over the whole GraphQL schema against the real `refunds serve`, as a merchant and
as the platform operator, with valid (positive) and schema-violating (negative) documents.

Every answer must be GraphQL-shaped with a code on each error, never a 5xx or
INTERNAL_SERVER_ERROR, and the server must log no ERROR line: expected refusals (FORBIDDEN,
BAD_USER_INPUT, …) are the client's mistakes, not our faults. Scalars come from
tests/fuzz/scalars.py, IDs mostly from the seeded data so that mutations reach the code that
moves money.

The operations are read from the exported contract, schema.graphql (the same as the served
schema: tests/api/test_schema_contract.py), so that each is a test of its own. schemathesis'
pytest plugin (`from_fixture`) cannot load a schema from a fixture on pytest 9.2, so each test
runs schemathesis' strategy for its operation under Hypothesis itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.graphql import scalar

from tests.api.serve_process import ADMIN_TOKEN
from tests.fuzz.conftest import EXAMPLES, Target, cases_sent
from tests.fuzz.scalars import scalar_strategies
from tests.fuzz.verdicts import error_lines, http_problems

SCHEMA = schemathesis.graphql.from_path(Path(__file__).parents[2] / "schema.graphql")


def _operation_labels() -> list[str]:
    labels = []
    for result in SCHEMA.get_all_operations():
        assert isinstance(result, Ok), result  # schema.graphql is checked valid by its own test
        labels.append(result.ok().label)
    return labels


OPERATIONS = _operation_labels()
MODES = {"positive": GenerationMode.POSITIVE, "negative": GenerationMode.NEGATIVE}
ROLES = ["merchant", "operator"]


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("role", ROLES)
def test_fuzzed_requests_get_typed_answers_and_log_no_fault(
    role: str, mode: str, operation: str, target: Target
) -> None:
    for name, strategy in scalar_strategies(target.seeded).items():
        scalar(name, strategy)
    root, field = operation.split(".")
    token = target.seeded.merchant.key if role == "merchant" else ADMIN_TOKEN
    headers = {"Authorization": f"Bearer {token}"}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=SCHEMA[root][field].as_strategy(generation_mode=MODES[mode]))
    def one_request(case: schemathesis.Case[Any]) -> None:
        cases_sent[f"schemathesis {role}/{mode}"] += 1
        response = case.call(
            base_url=f"{target.served.base_url}/graphql", headers=headers, timeout=30
        )
        logged = target.served.new_log()  # read first: the next case must not see this one's
        assert http_problems(response) == [], case.body
        assert error_lines(logged) == [], case.body

    one_request()
