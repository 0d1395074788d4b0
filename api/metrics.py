"""Prometheus metrics: GraphQL operations by name and type, with their latency.

Measured once per operation (`on_operation`), never per field: a per-field hook costs more than
the resolvers it watches (STACK-NOTES.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

OPERATIONS = Counter(
    "refunds_graphql_operations_total",
    "GraphQL operations handled, by operation name, type and outcome.",
    ["operation", "type", "outcome"],
)
LATENCY = Histogram(
    "refunds_graphql_operation_seconds",
    "Time to execute a GraphQL operation.",
    ["operation", "type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HTTP_REJECTIONS = Counter(
    "refunds_http_rejections_total",
    "Requests refused before GraphQL ran, by reason.",
    ["reason"],
)


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        ctx = self.execution_context
        name = ctx.operation_name or "anonymous"
        try:
            kind = ctx.operation_type.value
        except (RuntimeError, AttributeError):
            kind = "invalid"  # the document did not parse or named no operation
        result = ctx.result
        outcome = "error" if result is not None and getattr(result, "errors", None) else "ok"
        OPERATIONS.labels(name, kind, outcome).inc()
        LATENCY.labels(name, kind).observe(time.perf_counter() - started)


async def metrics_endpoint(_request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
