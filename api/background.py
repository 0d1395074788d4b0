"""What runs beside the HTTP server in one process: the LISTEN connection, the subscription
broker fed by it, and (unless REFUNDS_PROCESSOR=off) the refund processor and the webhook
dispatcher, woken by it too."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from contextlib import suppress
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from api.broker import Broker
from api.config import Settings
from db.engine import create_engine
from db.listener import NotificationListener
from db.notifications import (
    API_KEY_REVOCATIONS_CHANNEL,
    REFUND_BATCH_PROGRESS_CHANNEL,
    REFUND_BATCHES_CHANNEL,
    REFUND_EVENTS_CHANNEL,
)
from processor.runtime import (
    background_pool_size,
    build_batch_applier,
    build_dispatcher,
    build_processor,
)

log = logging.getLogger("refunds")


def background_engine(settings: Settings) -> AsyncEngine:
    """A pool of its own, so that the processor and the broker never queue behind requests
    (nor requests behind them)."""
    assert settings.database_url
    return create_engine(settings.database_url, pool_size=background_pool_size(settings.processor))


class Background:
    def __init__(self, engine: AsyncEngine, settings: Settings, broker: Broker | None) -> None:
        assert settings.database_url
        self.engine = engine
        self.listener = NotificationListener(
            settings.database_url,
            REFUND_EVENTS_CHANNEL,
            API_KEY_REVOCATIONS_CHANNEL,
            REFUND_BATCHES_CHANNEL,
            REFUND_BATCH_PROGRESS_CHANNEL,
            name=f"refunds-listener-{os.getpid()}",
        )
        self.processor = (
            build_processor(engine, settings.processor, settings.gateway_delay_scale)
            if settings.processor.enabled
            else None
        )
        self.dispatcher = (
            build_dispatcher(engine, settings.webhooks) if settings.processor.enabled else None
        )
        self.batches = (
            build_batch_applier(engine, settings.processor, settings.refund_window_days)
            if settings.processor.enabled
            else None
        )
        self.broker = broker
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if self.broker is not None:
            broker = self.broker
            self.listener.on_notify(broker.notify)
            self.listener.on_reconnect(lambda: self._spawn(broker.catch_up()))
            self._spawn(broker.run())
        if self.processor is not None:
            self.listener.on_notify(self.processor.wake)
            self.listener.on_reconnect(self.processor.wake)
            self._spawn(self.processor.run())
        if self.dispatcher is not None:
            self.listener.on_notify(self.dispatcher.wake)
            self.listener.on_reconnect(self.dispatcher.wake)
            self._spawn(self.dispatcher.run())
        if self.batches is not None:
            self.listener.on_notify(self.batches.wake, REFUND_BATCHES_CHANNEL)
            self.listener.on_reconnect(self.batches.wake)
            self._spawn(self.batches.run())
        self._spawn(self.listener.run())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        task.add_done_callback(self._finished)
        self._tasks.append(task)

    def _finished(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("background task died", exc_info=task.exception())

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(BaseException):
                await task
        self._tasks.clear()
        await self.engine.dispose()
