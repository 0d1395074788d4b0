"""The Starlette application: GraphQL, health, readiness and metrics, over one engine."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute

from api.auth import Authenticator, record_key_use_forever
from api.background import Background, background_engine
from api.batches.http import RefundBatchCsv
from api.body_limit import BodySizeLimit
from api.broker import Broker
from api.config import Settings
from api.context import Services
from api.gc_tuning import tune_garbage_collector
from api.graphql_view import GraphQLEndpoint
from api.housekeeping import prune_forever
from api.metrics import OPERATION_NAMES, metrics_endpoint
from api.refunds.shared_events import shared_payload
from api.refunds.types import RefundType
from api.reports.exports import Exports
from api.schema import schema
from api.web import routes as web_routes
from db.engine import create_engine, database_answers
from db.listener import NotificationListener
from db.notifications import API_KEY_REVOCATIONS_CHANNEL, REFUND_BATCH_PROGRESS_CHANNEL
from db.queries import ReadQueries
from db.refund_changes import RefundChanges
from db.repositories.api_keys import ApiKeyStore

log = logging.getLogger("refunds")

MAX_BODY_BYTES = 1_048_576


def build_services(settings: Settings) -> Services:
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set: start the service with `refunds serve`.")
    serving = settings.serving
    engine = create_engine(
        settings.database_url, pool_size=serving.db_pool_size, max_overflow=serving.db_max_overflow
    )
    api_keys = ApiKeyStore(engine)
    return Services(
        settings=settings,
        engine=engine,
        reads=ReadQueries(engine),
        api_keys=api_keys,
        authenticator=Authenticator(api_keys, settings.admin_token),
        # missing keys refused here, at startup, rather than at the first endpoint made
        secret_box=settings.secret_box(),
    )


def watch_key_revocations(services: Services, listener: NotificationListener) -> None:
    """Revocations from any process reach this one's key cache and sockets."""
    services.authenticator.listening = listener.connected
    listener.on_notify(services.revocations.on_notify, API_KEY_REVOCATIONS_CHANNEL)
    listener.on_reconnect(services.revocations.on_reconnect)


def create_app(settings: Settings | None = None) -> Starlette:
    services = build_services(settings or Settings.from_env())
    live = services.settings.live
    OPERATION_NAMES.limit = services.settings.edge.max_operation_names
    engine = background_engine(services.settings)
    services.broker = Broker(
        RefundChanges(engine),
        wrap=shared_payload if live.share_executions else RefundType.from_domain,
        queue_size=live.queue_size,
        max_subscribers=live.max_subscribers,
    )
    background = Background(engine, services.settings, services.broker)
    watch_key_revocations(services, background.listener)
    followers = services.batch_followers
    background.listener.on_notify(followers.notify, REFUND_BATCH_PROGRESS_CHANNEL)
    background.listener.on_reconnect(followers.wake_all)
    graphql = GraphQLEndpoint(
        services,
        schema=schema,
        keep_alive=True,
        keep_alive_interval=live.keepalive_seconds,
        connection_init_wait_timeout=timedelta(seconds=live.init_timeout_seconds),
        max_subscriptions_per_connection=live.max_subscriptions_per_connection,
    )

    batch_csv = RefundBatchCsv(services, graphql.rate_limits)
    exports = Exports(services, graphql.rate_limits)

    async def healthz(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def readyz(_request: Request) -> JSONResponse:
        if not await database_answers(services.engine):
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        return JSONResponse({"status": "ok", "database": "reachable"})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        log.info("refunds API up (pid %s)", os.getpid())
        tune_garbage_collector(services.settings.serving.gc_threshold)
        pruning = asyncio.create_task(prune_forever(services.engine))
        key_use = asyncio.create_task(
            record_key_use_forever(services.authenticator, services.settings.key_use_record_seconds)
        )
        background.start()  # LISTEN connection, subscription broker, refund processor
        yield
        await background.stop()
        pruning.cancel()
        key_use.cancel()
        with suppress(Exception):
            await services.authenticator.record_use()
        await services.engine.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint(services.settings.edge.metrics_token)),
            Route("/refund-batches", batch_csv.submit, methods=["POST"]),
            Route("/refund-batches/{batch_id}/results.csv", batch_csv.results),
            Route("/exports/refunds.csv", exports.refunds),
            Route("/exports/ledger.csv", exports.ledger),
            *web_routes(),  # the dashboard at / and the files of it and of GraphiQL
        ],
        middleware=[Middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)],
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.background = background
    return app
