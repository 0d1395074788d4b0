"""The bench's data set, seeded once into the suite's database (its merchant ids are fixed, so
it can be seeded only once per database)."""

from __future__ import annotations

import pytest

from bench.seed import Seeded, seed


@pytest.fixture(scope="session")
async def bench_seeded(database_url: str) -> Seeded:
    return await seed(database_url, merchants=3, per_merchant=300, rng_seed=7)
