"""The fuzzers' target: the real `refunds serve` (refund processor on, sandbox rails settling at
once) on the tests' database, seeded with real data over HTTP."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tests.api.serve_process import ADMIN_TOKEN, Served, running
from tests.fuzz.seed import Seeded, seed
from tests.support import Api

# Generated cases per operation and mode; a longer run by hand: REFUNDS_FUZZ_EXAMPLES=1000.
EXAMPLES = int(os.environ.get("REFUNDS_FUZZ_EXAMPLES", "50"))

# Requests and subscriptions sent, by fuzzer, role and mode: reported at the end of the run.
cases_sent: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if cases_sent:
        counts = ", ".join(f"{run} {n}" for run, n in sorted(cases_sent.items()))
        terminalreporter.write_line(f"fuzz cases: {sum(cases_sent.values())} ({counts})")


@dataclass
class Target:
    served: Served
    seeded: Seeded


@pytest.fixture(scope="package")
async def target(database_url: str) -> AsyncIterator[Target]:
    with running(database_url, REFUNDS_PROCESSOR="on") as served:
        async with httpx.AsyncClient(base_url=served.base_url, timeout=30) as http:
            seeded = await seed(Api(http, ADMIN_TOKEN))
        served.new_log()  # the start and the seeding are not the fuzzers' doing
        yield Target(served, seeded)
