"""Configuration from the environment (see the README's table)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from api.gc_tuning import DEFAULT_GC_THRESHOLD, parse_threshold
from db.secret_box import SecretBox, SecretKeysError
from domain.eligibility import DEFAULT_REFUND_WINDOW_DAYS
from processor.config import ProcessorSettings, WebhookSettings

# Long enough that guessing it online is hopeless (the generated one has 47 characters).
ADMIN_TOKEN_MIN_LENGTH = 32


class ConfigurationError(ValueError):
    """A setting the service refuses to start with; the message says which and why."""


def check_admin_token(token: str) -> str:
    if len(token) < ADMIN_TOKEN_MIN_LENGTH:
        raise ConfigurationError(
            f"the admin token (REFUNDS_ADMIN_TOKEN, or the data dir's admin_token file) has "
            f"{len(token)} characters; it needs at least {ADMIN_TOKEN_MIN_LENGTH} "
            '(make one with python3 -c "import secrets; print(secrets.token_urlsafe(32))").'
        )
    return token


@dataclass(frozen=True, slots=True)
class LiveSettings:
    """Subscriptions: limits and timers that keep one process's resources bounded."""

    keepalive_seconds: float = 15.0  # server pings (graphql-transport-ws), `ka` (graphql-ws)
    idle_seconds: float = 60.0  # a peer silent this long (no pong either) is closed
    init_timeout_seconds: float = 10.0  # to authenticate with connection_init
    max_subscriptions_per_connection: int = 100
    max_connections: int = 20_000  # WebSocket connections per process
    max_subscribers: int = 50_000  # refundUpdated subscriptions per process
    queue_size: int = 256  # changes waiting per subscriber before it is dropped as too slow
    # off: strawberry executes each change for each subscriber alone, nothing shared
    # (api/refunds/shared_events.py, live_plans.py): the reference the shared fan-out is checked
    # against (tests/processing/test_fanout_differential.py)
    share_executions: bool = True

    @classmethod
    def from_env(cls) -> LiveSettings:
        d = cls()
        env = os.environ.get
        return cls(
            keepalive_seconds=float(env("REFUNDS_WS_KEEPALIVE_SECONDS", d.keepalive_seconds)),
            idle_seconds=float(env("REFUNDS_WS_IDLE_SECONDS", d.idle_seconds)),
            init_timeout_seconds=float(
                env("REFUNDS_WS_INIT_TIMEOUT_SECONDS", d.init_timeout_seconds)
            ),
            max_subscriptions_per_connection=int(
                env("REFUNDS_WS_MAX_SUBSCRIPTIONS", d.max_subscriptions_per_connection)
            ),
            max_connections=int(env("REFUNDS_WS_MAX_CONNECTIONS", d.max_connections)),
            max_subscribers=int(env("REFUNDS_MAX_SUBSCRIBERS", d.max_subscribers)),
            queue_size=int(env("REFUNDS_SUBSCRIBER_QUEUE_SIZE", d.queue_size)),
            share_executions=env("REFUNDS_SHARED_FANOUT", "1") != "0",
        )


@dataclass(frozen=True, slots=True)
class EdgeSettings:
    """Floods, slow sockets and metrics: limits that keep one client from starving the others."""

    # `limits` notation per window; several separated by ";". Empty: no limit.
    failed_auth_limit: str = "20/minute"  # 401s per client address
    key_request_limit: str = "3000 per 10 seconds"  # per API key: 300/s sustained, bursts of 3000
    rate_limit_storage: str = "memory://"  # or e.g. redis://host:6379 shared by all processes
    http_read_timeout_seconds: float = 15.0  # to send a whole request (headers and body)
    # uvicorn's limit_concurrency: open connections (WebSockets included) and requests in flight
    # per process; above REFUNDS_WS_MAX_CONNECTIONS so that sockets do not starve HTTP.
    max_connections: int = 25_000
    metrics_token: str | None = None  # when set, /metrics needs Authorization: Bearer <token>
    max_operation_names: int = 100  # distinct operation-name label values per process
    # fields a response can hold at most (api/query_cost.py): a page of 100 transactions with their
    # refunds and the refunds' events is ~27,000
    max_query_cost: int = 50_000
    # read documents whose compiled plans are kept (api/compiled), least recently used dropped
    plan_cache_size: int = 1_000
    # documents kept for automatic persisted queries (api/persisted_queries.py), per process
    persisted_query_cache_size: int = 1_000

    @classmethod
    def from_env(cls) -> EdgeSettings:
        d = cls()
        env = os.environ.get
        return cls(
            failed_auth_limit=env("REFUNDS_RATE_LIMIT_FAILED_AUTH", d.failed_auth_limit),
            key_request_limit=env("REFUNDS_RATE_LIMIT_PER_KEY", d.key_request_limit),
            rate_limit_storage=env("REFUNDS_RATE_LIMIT_STORAGE", d.rate_limit_storage),
            http_read_timeout_seconds=float(
                env("REFUNDS_HTTP_READ_TIMEOUT_SECONDS", d.http_read_timeout_seconds)
            ),
            max_connections=int(env("REFUNDS_HTTP_MAX_CONNECTIONS", d.max_connections)),
            metrics_token=env("REFUNDS_METRICS_TOKEN") or None,
            max_operation_names=int(env("REFUNDS_METRICS_MAX_OPERATIONS", d.max_operation_names)),
            max_query_cost=int(env("REFUNDS_MAX_QUERY_COST", d.max_query_cost)),
            plan_cache_size=int(env("REFUNDS_PLAN_CACHE_SIZE", d.plan_cache_size)),
            persisted_query_cache_size=int(
                env("REFUNDS_PERSISTED_QUERY_CACHE_SIZE", d.persisted_query_cache_size)
            ),
        )


@dataclass(frozen=True, slots=True)
class ServingSettings:
    """How a serving process spends its resources (the levers are measured in bench/LEVERS.md)."""

    db_pool_size: int = 20  # the request path's connections (db/engine.py says why fixed)
    db_max_overflow: int = 0
    gc_threshold: str = DEFAULT_GC_THRESHOLD  # `g0,g1,g2`, or `python` (api/gc_tuning.py)
    compiled_reads: bool = True  # off: strawberry answers every read (api/compiled/)
    compiled_reads_raw_sql: bool = True  # off: the plans read through SQLAlchemy's ReadQueries

    def __post_init__(self) -> None:
        try:
            parse_threshold(self.gc_threshold)
        except ValueError as error:
            raise ConfigurationError(str(error)) from None

    @classmethod
    def from_env(cls) -> ServingSettings:
        d = cls()
        env = os.environ.get
        return cls(
            db_pool_size=int(env("REFUNDS_DB_POOL_SIZE", d.db_pool_size)),
            db_max_overflow=int(env("REFUNDS_DB_MAX_OVERFLOW", d.db_max_overflow)),
            gc_threshold=env("REFUNDS_GC_THRESHOLD", d.gc_threshold),
            compiled_reads=env("REFUNDS_FAST_PATH", "1") != "0",
            compiled_reads_raw_sql=env("REFUNDS_FAST_PATH_SQL", "raw") != "sqlalchemy",
        )


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None
    data_dir: Path
    admin_token: str | None
    gateway_delay_scale: float
    refund_window_days: int
    processor: ProcessorSettings = field(default_factory=ProcessorSettings.from_env)
    live: LiveSettings = field(default_factory=LiveSettings.from_env)
    edge: EdgeSettings = field(default_factory=EdgeSettings.from_env)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings.from_env)
    serving: ServingSettings = field(default_factory=ServingSettings.from_env)
    # how often each used API key's lastUsedAt is written (one batched statement)
    key_use_record_seconds: float = field(
        default_factory=lambda: float(os.environ.get("REFUNDS_KEY_USE_RECORD_SECONDS", "60"))
    )

    def __post_init__(self) -> None:
        if self.admin_token is not None:
            check_admin_token(self.admin_token)
        if self.webhooks.secret_keys is not None:
            self.secret_box()  # malformed keys refuse startup, missing ones where they are used

    def secret_box(self) -> SecretBox:
        """What seals and opens the webhook secrets; ConfigurationError when the keys are
        missing or malformed."""
        try:
            return self.webhooks.box()
        except SecretKeysError as refused:
            raise ConfigurationError(str(refused)) from None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            data_dir=Path(os.environ.get("REFUNDS_DATA_DIR", "./.refunds")),
            admin_token=os.environ.get("REFUNDS_ADMIN_TOKEN") or None,
            gateway_delay_scale=float(os.environ.get("REFUNDS_GATEWAY_DELAY_SCALE", "1")),
            refund_window_days=int(
                os.environ.get("REFUNDS_REFUND_WINDOW_DAYS", str(DEFAULT_REFUND_WINDOW_DAYS))
            ),
        )
