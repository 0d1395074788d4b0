"""`refunds serve` (or `refunds worker`) as a real process on the tests' database, for tests that
need uvicorn's own socket handling or settings of their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import httpx

from tests.support import free_port

ADMIN_TOKEN = "adm_serve_process_token_0123456789abcdef"


@dataclass
class Served:
    base_url: str
    port: int
    process: subprocess.Popen[bytes]
    output: IO[bytes]  # a file, not a pipe: a pipe nobody reads would block the process
    read_up_to: int = 0

    def log(self) -> str:
        self.output.seek(0)
        return self.output.read().decode(errors="replace")

    def new_log(self) -> str:
        """What the process wrote since the last call (the whole log on the first)."""
        self.output.seek(self.read_up_to)
        written = self.output.read()
        self.read_up_to += len(written)
        return written.decode(errors="replace")


def _env(database_url: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFUNDS_")}
    env.update(
        DATABASE_URL=database_url,
        REFUNDS_ADMIN_TOKEN=ADMIN_TOKEN,
        # the tests' key (tests/conftest.py): nothing written to a data dir in the checkout
        REFUNDS_WEBHOOK_SECRET_KEYS=os.environ["REFUNDS_WEBHOOK_SECRET_KEYS"],
        REFUNDS_PROCESSOR="off",
        REFUNDS_GATEWAY_DELAY_SCALE="0",
    )
    env.update(extra)
    return env


def _wait_until_healthy(served: Served) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert served.process.poll() is None, "the process exited early"
        try:
            if httpx.get(f"{served.base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the process did not become healthy")


@contextmanager
def running(
    database_url: str,
    *args: str,
    port: int | None = None,
    log_level: str = "warning",
    settings: Mapping[str, str] | None = None,
    **env: str,
) -> Iterator[Served]:
    """`refunds serve --no-demo` (or the given command line) with these REFUNDS_* settings (as
    keywords, or a mapping in `settings`), on `port` (a restart on the same port) or a free one."""
    env = {**(settings or {}), **env}
    port = port or free_port()
    command = list(args) or ["serve", "--no-demo", "--port", str(port), "--log-level", log_level]
    if args:
        command += ["--health-port", str(port)]
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "api", *command],
            env=_env(database_url, env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        served = Served(f"http://127.0.0.1:{port}", port, process, output)
        try:
            _wait_until_healthy(served)
            yield served
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
