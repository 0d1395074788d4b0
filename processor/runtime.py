"""Putting a processor together, and `refunds worker`: the processor without the API. Any
number of processes may run one against the same database. With `--health-port` the worker
also answers /healthz, /readyz and /metrics, for a supervisor and for Prometheus."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from db.batch_claims import BatchClaims
from db.claims import RefundClaims
from db.engine import create_engine, database_answers
from db.listener import NotificationListener
from db.notifications import REFUND_BATCHES_CHANNEL, REFUND_EVENTS_CHANNEL
from db.sandbox_bank import SandboxBank
from db.uow import SqlUnitOfWork
from db.webhook_claims import WebhookClaims
from domain.batches import LANES
from processor.batches import BATCHES_AT_ONCE, BatchApplier
from processor.config import ProcessorSettings, WebhookSettings
from processor.metrics import metrics_endpoint
from processor.sandbox import SandboxGateway
from processor.webhooks.dispatcher import WebhookDispatcher
from processor.webhooks.sender import WebhookSender
from processor.worker import Processor

log = logging.getLogger("refunds.processor")


def background_pool_size(settings: ProcessorSettings) -> int:
    """Connections for the processor's refunds, and the lanes of the batches applied at once."""
    return settings.concurrency + 4 + LANES * BATCHES_AT_ONCE


def worker_id() -> str:
    """Who holds a claim: host, pid and a random tag (pids are reused after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def build_processor(
    engine: AsyncEngine, settings: ProcessorSettings, gateway_delay_scale: float
) -> Processor:
    gateway = SandboxGateway(SandboxBank(engine), gateway_delay_scale)
    return Processor(
        RefundClaims(engine, worker_id()), gateway, lambda: SqlUnitOfWork(engine), settings
    )


def build_batch_applier(
    engine: AsyncEngine, settings: ProcessorSettings, refund_window_days: int
) -> BatchApplier:
    return BatchApplier(
        BatchClaims(engine, worker_id()),
        lambda: SqlUnitOfWork(engine),
        settings,
        refund_window_days,
    )


def build_dispatcher(engine: AsyncEngine, settings: WebhookSettings) -> WebhookDispatcher:
    claims = WebhookClaims(engine, worker_id(), settings.box())
    return WebhookDispatcher(claims, WebhookSender(settings), settings)


class Worker:
    """A processor with its own engine and LISTEN connection, started and stopped as one."""

    def __init__(
        self,
        database_url: str,
        settings: ProcessorSettings,
        gateway_delay_scale: float,
        webhooks: WebhookSettings,
        *,
        refund_window_days: int,
    ) -> None:
        self.settings = settings
        self.engine = create_engine(database_url, pool_size=background_pool_size(settings))
        self.processor = build_processor(self.engine, settings, gateway_delay_scale)
        self.dispatcher = build_dispatcher(self.engine, webhooks)
        self.batches = build_batch_applier(self.engine, settings, refund_window_days)
        self.listener = NotificationListener(
            database_url,
            REFUND_EVENTS_CHANNEL,
            REFUND_BATCHES_CHANNEL,
            name=f"refunds-worker-{os.getpid()}",
        )
        self.listener.on_notify(self.processor.wake)
        self.listener.on_reconnect(self.processor.wake)
        self.listener.on_notify(self.dispatcher.wake)
        self.listener.on_reconnect(self.dispatcher.wake)
        self.listener.on_notify(self.batches.wake, REFUND_BATCHES_CHANNEL)
        self.listener.on_reconnect(self.batches.wake)
        self._task: asyncio.Future[Any] | None = None

    def start(self) -> None:
        self._task = asyncio.gather(
            self.listener.run(), self.processor.run(), self.dispatcher.run(), self.batches.run()
        )

    async def stop(self) -> None:
        """Safe at any moment: claims still held simply expire and another process takes them."""
        log.info("worker stopping")
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        await self.engine.dispose()

    async def wait(self) -> None:
        assert self._task is not None
        await self._task

    def liveness(self) -> tuple[bool, dict[str, Any]]:
        """Alive unless the processor has ended or its claim loop is stuck."""
        stalled = self.processor.stalled_for()
        if stalled is None:
            return False, {"status": "stopped"}
        if stalled > self.settings.stall_seconds:
            return False, {"status": "stalled", "stalledSeconds": round(stalled, 1)}
        return True, {"status": "ok"}

    async def readiness(self) -> tuple[bool, dict[str, str]]:
        """Ready when the database answers and the LISTEN connection is up."""
        database = "reachable" if await database_answers(self.engine) else "unreachable"
        listener = "connected" if self.listener.connected.is_set() else "connecting"
        ready = database == "reachable" and listener == "connected"
        return ready, {
            "status": "ok" if ready else "unavailable",
            "database": database,
            "listener": listener,
        }


def health_app(worker: Worker, metrics_token: str | None = None) -> Starlette:
    """The worker's HTTP side: probes and metrics only. Its lifespan runs the worker, so
    uvicorn's graceful shutdown on SIGTERM also stops the processor."""

    async def healthz(_request: Request) -> JSONResponse:
        alive, body = worker.liveness()
        return JSONResponse(body, 200 if alive else 503)

    async def readyz(_request: Request) -> JSONResponse:
        ready, body = await worker.readiness()
        return JSONResponse(body, 200 if ready else 503)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        worker.start()
        yield
        await worker.stop()

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint(metrics_token)),
        ],
        lifespan=lifespan,
    )


async def run_worker(
    database_url: str,
    settings: ProcessorSettings,
    gateway_delay_scale: float,
    webhooks: WebhookSettings,
    *,
    refund_window_days: int,
    health_host: str = "127.0.0.1",
    health_port: int | None = None,
    metrics_token: str | None = None,
) -> None:
    """Run until SIGTERM / SIGINT."""
    worker = Worker(
        database_url,
        settings,
        gateway_delay_scale,
        webhooks,
        refund_window_days=refund_window_days,
    )
    if health_port is not None:
        config = uvicorn.Config(
            health_app(worker, metrics_token),
            host=health_host,
            port=health_port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
        await uvicorn.Server(config).serve()
        return
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, main.cancel)
    worker.start()
    try:
        await worker.wait()
    except asyncio.CancelledError:
        pass
    finally:
        await worker.stop()
