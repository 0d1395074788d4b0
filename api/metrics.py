"""Prometheus metrics: GraphQL operations by name and type, with their latency.

Measured once per operation (`on_operation`), never per field: a per-field hook costs more than
the resolvers it watches.

Operation names are chosen by clients, and every label value is a time series kept for the life
of the process: only the first `max_operation_names` distinct names get their own value, later
ones count as `other`, and documents that did not parse or validate as `invalid`."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import Counter, Histogram
from strawberry.extensions import SchemaExtension

from api.config import EdgeSettings
from processor.metrics import metrics_endpoint

OTHER = "other"
INVALID = "invalid"

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


class OperationNames:
    """The label value of an operation name: itself while few names have been seen, else `other`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def label(self, name: str | None) -> str:
        name = name or "anonymous"
        if name in self._seen:
            return name
        if len(self._seen) < self.limit:
            self._seen.add(name)
            return name
        return OTHER


# create_app sets the limit from the settings
OPERATION_NAMES = OperationNames(limit=EdgeSettings().max_operation_names)


class OperationMetrics(SchemaExtension):
    _failed_validation = False

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        ctx = self.execution_context
        try:
            kind = ctx.operation_type.value
        except (RuntimeError, AttributeError):
            kind = INVALID  # the document did not parse or named no operation
        valid = kind != INVALID and not (ctx.graphql_document is None or self._failed_validation)
        name = OPERATION_NAMES.label(ctx.operation_name) if valid else INVALID
        result = ctx.result
        outcome = "error" if result is not None and getattr(result, "errors", None) else "ok"
        OPERATIONS.labels(name, kind, outcome).inc()
        LATENCY.labels(name, kind).observe(time.perf_counter() - started)

    def on_validate(self) -> Iterator[None]:
        yield
        self._failed_validation = bool(self.execution_context.pre_execution_errors)


__all__ = ["HTTP_REJECTIONS", "LATENCY", "OPERATIONS", "OPERATION_NAMES", "metrics_endpoint"]
