"""Prometheus metrics of the refund processor, in whichever process runs one (`refunds serve`
or `refunds worker`); they appear on that process's /metrics, served by `metrics_endpoint` in
both."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

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


def metrics_endpoint(token: str | None) -> Callable[[Request], Awaitable[Response]]:
    """The Prometheus exposition; with a token, only for `Authorization: Bearer <token>`."""
    expected = f"Bearer {token}".encode() if token else None

    async def metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return JSONResponse(
                    {"error": "Send Authorization: Bearer <REFUNDS_METRICS_TOKEN>."},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return metrics


WEBHOOK_DELIVERIES = Counter(
    "refunds_webhook_deliveries_total",
    "Webhook attempts recorded, by what they left the delivery as: succeeded, retrying, failed.",
    ["outcome"],
)
WEBHOOK_ATTEMPTS = Counter(
    "refunds_webhook_attempts_total",
    "Webhook attempts, by their result: 2xx, 3xx, 4xx, 5xx, error (no answer), refused (URL).",
    ["result"],
)
WEBHOOK_OLDEST_UNDELIVERED = Gauge(
    "refunds_webhook_oldest_undelivered_seconds",
    "Age of the oldest event still owed to an enabled endpoint (0 when none); every process "
    "running a dispatcher reports the same figure.",
)
