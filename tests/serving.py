"""An ASGI app on a real socket inside the test's own event loop, for tests that need the app with
settings of their own (tests/api/serve_process.py runs `refunds serve` as a separate process)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn


@contextlib.asynccontextmanager
async def serving(
    app: Any, *, port: int = 0, log_level: str = "warning", **config: Any
) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 until the block ends (port 0: one the OS picks); yields its URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, **config)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
        if task.done():
            task.result()  # raises why it could not start
            raise RuntimeError("uvicorn stopped before it started")
    try:
        bound = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        await task
