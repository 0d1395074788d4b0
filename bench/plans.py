"""What a document seen for the first time costs the compiled reads (api/compiled/), and what a
cached plan weighs: `python -m bench.plans [--texts 200] [--report bench/PLANS.md]`.

Each workload's document (bench/workloads.py) is sent as many distinct documents (its operation
renamed: the same work, but a new cache key, and a new key for the caches of parsed documents and
validation results, which compare documents by structure, not text), so every one is a first
sight. Beside it, the part of
that cost strawberry pays for any new document anyway (parse and validate), measured the same way
in the same run. Memory per plan: tracemalloc's growth while a cache is filled, divided by the
plans in it. One process, no server or database: compiling touches neither."""

from __future__ import annotations

import argparse
import gc
import os
import re
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from graphql import GraphQLSchema, parse

from api.bounded_validation import PARSE_LIMITS, document_errors
from api.compiled import CompiledReads
from api.config import EdgeSettings
from api.schema import schema
from bench.report import machine
from bench.workloads import WORKLOADS

HERE = Path(__file__).parent


def _timings(texts: list[str], work: Callable[[str], object]) -> list[float]:
    timings = []
    for text in texts:
        started = time.perf_counter()
        work(text)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _parse_and_validate(schema: GraphQLSchema, text: str) -> object:
    return document_errors(schema, parse(text, **PARSE_LIMITS))


def _variant(document: str, i: int) -> str:
    """The document with its operation renamed (`query Name(` → `query Name_i(`)."""
    renamed, found = re.subn(r"^(query \w+)", rf"\1_{i}", document, count=1, flags=re.MULTILINE)
    assert found, "each workload's document is one named query"
    return renamed


def _bytes_per_plan(document: str, count: int) -> float:
    reads = CompiledReads(schema, EdgeSettings().max_query_cost, count)
    reads.plan(document, None)  # first-use caches (schema lookups) are not the plans' own
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(count):
        reads.plan(_variant(document, i), None)
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return grown / count


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"{statistics.median(values):.2f} / {p95:.2f} / {ordered[0]:.2f}"


def measure(texts: int) -> str:
    gc.disable()  # collections land on random documents; the serving process tunes them anyway
    rows = []
    for key, workload in WORKLOADS.items():
        document = workload.document
        variants = [_variant(document, i) for i in range(texts)]
        reads = CompiledReads(schema, EdgeSettings().max_query_cost, texts + 1)
        reads.plan(document, None)  # warm the schema's own lazy caches once
        compiled = _timings(variants, partial(reads.compile, operation_name=None))
        validated = _timings(
            [_variant(document, texts + i) for i in range(texts)],
            partial(_parse_and_validate, reads.graphql_schema),
        )
        per_plan = _bytes_per_plan(document, min(texts, 200))
        rows.append(
            f"| ({key}) {workload.title} | {_ms(compiled)} | {_ms(validated)} | "
            f"{statistics.median(compiled) / statistics.median(validated):.2f} | "
            f"{per_plan / 1024:.1f} KiB |"
        )
    gc.enable()
    return "\n".join(
        [
            "# Compiled reads: first sight of a document, and a plan's weight",
            "",
            f"`python -m bench.plans --texts {texts}` (bench/plans.py), "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; load average before the run: "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}.",
            "",
            "Times in ms as median / p95 / min over the distinct texts. *First compile* is all a",
            "new document costs the compiled path (parse, validation and limits, cost, plan);",
            "*parse + validate* is the part strawberry pays for any new document too.",
            "",
            "| workload | first compile | parse + validate | ratio | memory per cached plan |",
            "| --- | --- | --- | --- | --- |",
            *rows,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.plans", description=__doc__)
    p.add_argument("--texts", type=int, default=200, help="distinct documents per workload (200)")
    p.add_argument("--report", type=Path, default=None, help="write the table here too")
    args = p.parse_args(argv)
    table = measure(args.texts)
    print(table)
    if args.report:
        args.report.write_text(table)


if __name__ == "__main__":
    main()
