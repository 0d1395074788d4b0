"""/metrics against the real `refunds serve` and `refunds worker`: operation names chosen by
clients cannot grow it without bound, and a token can protect it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.api.serve_process import ADMIN_TOKEN, Served, running

METRICS_TOKEN = "metrics_" + "s3cret" * 4
MAX_NAMES = 50
MADE_UP_NAMES = 3_000
OPERATION_LABEL = re.compile(r'^refunds_graphql_operations_total\{operation="([^"]*)"', re.M)


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[Served]:
    with running(
        database_url,
        REFUNDS_METRICS_TOKEN=METRICS_TOKEN,
        REFUNDS_METRICS_MAX_OPERATIONS=str(MAX_NAMES),
    ) as served:
        yield served


def _metrics(base_url: str) -> str:
    answer = httpx.get(
        f"{base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30
    )
    assert answer.status_code == 200
    return answer.text


def test_3000_made_up_operation_names_leave_metrics_small_and_bounded(served: Served) -> None:
    before = _metrics(served.base_url)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=served.base_url, headers=headers, timeout=30) as http:
        for n in range(MADE_UP_NAMES):
            query = f"query Made{n} {{ __typename }}" if n % 2 else f"query Bad{n} {{ nope }}"
            http.post("/graphql", json={"query": query})
    after = _metrics(served.base_url)
    names = set(OPERATION_LABEL.findall(after))
    assert "other" in names
    assert "invalid" in names  # the documents that failed to validate
    assert not any(name.startswith("Bad") for name in names)
    assert len(names) <= MAX_NAMES + 2
    # each distinct name costs about 2 KB (a counter and a histogram of 12 buckets)
    assert len(after) - len(before) < 2_000 * (MAX_NAMES + 2)


def test_metrics_need_the_token_when_one_is_set(served: Served) -> None:
    assert httpx.get(f"{served.base_url}/metrics").status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert httpx.get(f"{served.base_url}/metrics", headers=wrong).status_code == 401
    assert "refunds_graphql_operations_total" in _metrics(served.base_url)


def test_the_workers_metrics_need_the_token_too(database_url: str) -> None:
    with running(database_url, "worker", REFUNDS_METRICS_TOKEN=METRICS_TOKEN) as worker:
        assert httpx.get(f"{worker.base_url}/metrics").status_code == 401
        assert "refunds_processor_in_flight" in _metrics(worker.base_url)
