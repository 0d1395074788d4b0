"""Putting a processor together, and `refunds worker`: the processor alone, without HTTP.
Any number of processes may run one against the same database."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket

from sqlalchemy.ext.asyncio import AsyncEngine

from db.claims import RefundClaims
from db.engine import create_engine
from db.listener import NotificationListener
from db.notifications import REFUND_EVENTS_CHANNEL
from db.sandbox_bank import SandboxBank
from db.uow import SqlUnitOfWork
from processor.config import ProcessorSettings
from processor.sandbox import SandboxGateway
from processor.worker import Processor

log = logging.getLogger("refunds.processor")


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


async def run_worker(
    database_url: str, settings: ProcessorSettings, gateway_delay_scale: float
) -> None:
    """Run until SIGTERM / SIGINT. Claims still held at exit simply expire (lease) and are
    picked up by another process, so stopping at any moment is safe."""
    engine = create_engine(database_url, pool_size=settings.concurrency + 2)
    processor = build_processor(engine, settings, gateway_delay_scale)
    listener = NotificationListener(
        database_url, REFUND_EVENTS_CHANNEL, name=f"refunds-worker-{os.getpid()}"
    )
    listener.on_notify(processor.wake)
    listener.on_reconnect(processor.wake)
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, main.cancel)
    try:
        await asyncio.gather(listener.run(), processor.run())
    except asyncio.CancelledError:
        log.info("worker stopping")
    finally:
        await engine.dispose()
