"""Prometheus metrics of the refund processor, in whichever process runs one (`refunds serve`
or `refunds worker`); they appear on that process's /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

OUTCOMES = Counter(
    "refunds_processor_outcomes_total",
    "Rail outcomes the processor recorded, by the status they moved the refund to.",
    ["status"],
)
TRANSIENT_ERRORS = Counter(
    "refunds_processor_transient_errors_total",
    "Gateway calls that failed or timed out and were scheduled again.",
)
FAULTS = Counter(
    "refunds_processor_faults_total",
    "Unexpected errors while driving a refund; it is driven again when its claim expires.",
)
IN_FLIGHT = Gauge("refunds_processor_in_flight", "Refunds this process is driving right now.")
