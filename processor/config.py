"""The processor's knobs, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from db.secret_box import SecretBox, SecretKeysError


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


@dataclass(frozen=True, slots=True)
class ProcessorSettings:
    enabled: bool = True  # REFUNDS_PROCESSOR=off: this process serves the API only
    # How long a claim lasts without renewal. Holders renew every third of it, so this bounds
    # how long a refund held by a dead process (kill -9) waits before another takes it.
    claim_lease_seconds: float = 30.0
    poll_seconds: float = 1.0  # a fallback: new refunds wake the processor through NOTIFY
    concurrency: int = 16  # refunds driven at once by one process
    max_attempts: int = 5  # gateway calls per processing run before RETRIES_EXHAUSTED
    retry_base_seconds: float = 1.0  # backoff: base * 2^(attempt-1), equal jitter, capped
    retry_cap_seconds: float = 60.0
    gateway_timeout_seconds: float = 60.0  # a call that takes longer counts as transient
    # A claim loop that has not come round for this long is stuck (its turn is one claim query,
    # at most the 30 s statement timeout, then a wait of poll_seconds): `refunds worker`'s
    # /healthz then answers 503, so that a supervisor restarts it.
    stall_seconds: float = 90.0
    health_port: int | None = None  # `refunds worker`'s probe port; `--health-port` wins

    @classmethod
    def from_env(cls) -> ProcessorSettings:
        d = cls()
        health_port = os.environ.get("REFUNDS_WORKER_HEALTH_PORT")
        return cls(
            enabled=os.environ.get("REFUNDS_PROCESSOR", "on").lower() not in {"off", "0", "no"},
            claim_lease_seconds=_float("REFUNDS_CLAIM_LEASE_SECONDS", d.claim_lease_seconds),
            poll_seconds=_float("REFUNDS_PROCESSOR_POLL_SECONDS", d.poll_seconds),
            concurrency=_int("REFUNDS_PROCESSOR_CONCURRENCY", d.concurrency),
            max_attempts=_int("REFUNDS_MAX_ATTEMPTS", d.max_attempts),
            retry_base_seconds=_float("REFUNDS_RETRY_BASE_SECONDS", d.retry_base_seconds),
            retry_cap_seconds=_float("REFUNDS_RETRY_CAP_SECONDS", d.retry_cap_seconds),
            gateway_timeout_seconds=_float(
                "REFUNDS_GATEWAY_TIMEOUT_SECONDS", d.gateway_timeout_seconds
            ),
            stall_seconds=_float("REFUNDS_PROCESSOR_STALL_SECONDS", d.stall_seconds),
            health_port=int(health_port) if health_port else None,
        )


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Webhook delivery (domain/webhooks.py has the schedule these scale)."""

    # REFUNDS_WEBHOOK_ALLOW_PRIVATE=1: loopback and private addresses, and http, are allowed
    # (local development and tests); never in production.
    allow_private: bool = False
    retry_scale: float = 1.0  # multiplies the retry schedule (tests make it tiny)
    disable_after_days: float = 5.0  # an endpoint failing this long is DISABLED
    timeout_seconds: float = 10.0  # per attempt, connect to last byte
    concurrency: int = 64  # deliveries in flight per process
    # … of which at most this many to one endpoint, so that a larger `concurrency` cannot pile
    # onto one merchant's receiver.
    endpoint_concurrency: int = 16
    claim_lease_seconds: float = 30.0  # > timeout_seconds: a live sender never loses its claim
    poll_seconds: float = 1.0  # a fallback: new events wake the dispatcher through NOTIFY
    # The keys that encrypt the signing secrets at rest (db/secret_box.py):
    # REFUNDS_WEBHOOK_SECRET_KEYS, else `refunds serve` and `refunds worker` use the data dir's
    # webhook_secret_keys file (api/cli.py).
    secret_keys: str | None = field(
        default_factory=lambda: os.environ.get("REFUNDS_WEBHOOK_SECRET_KEYS") or None
    )

    def box(self) -> SecretBox:
        """What seals and opens the secrets; SecretKeysError when there are no keys."""
        if self.secret_keys is None:
            raise SecretKeysError(
                "no webhook secret keys: set REFUNDS_WEBHOOK_SECRET_KEYS (`refunds "
                "new-webhook-key` makes one) or start with `refunds serve`, which keeps them "
                "in the data dir."
            )
        return SecretBox.parse(self.secret_keys)

    @classmethod
    def from_env(cls) -> WebhookSettings:
        d = cls()
        return cls(
            allow_private=os.environ.get("REFUNDS_WEBHOOK_ALLOW_PRIVATE", "0").lower()
            in {"1", "true", "yes", "on"},
            retry_scale=_float("REFUNDS_WEBHOOK_RETRY_SCALE", d.retry_scale),
            disable_after_days=_float("REFUNDS_WEBHOOK_DISABLE_AFTER_DAYS", d.disable_after_days),
            timeout_seconds=_float("REFUNDS_WEBHOOK_TIMEOUT_SECONDS", d.timeout_seconds),
            concurrency=_int("REFUNDS_WEBHOOK_CONCURRENCY", d.concurrency),
            endpoint_concurrency=_int(
                "REFUNDS_WEBHOOK_ENDPOINT_CONCURRENCY", d.endpoint_concurrency
            ),
            claim_lease_seconds=_float("REFUNDS_WEBHOOK_LEASE_SECONDS", d.claim_lease_seconds),
            poll_seconds=_float("REFUNDS_WEBHOOK_POLL_SECONDS", d.poll_seconds),
        )
