"""The servers under test, each one process in its own process group: the service
(`refunds serve`, uvloop + httptools as its CLI sets them), the ceiling (bench/ceiling.py) and
the peer (bench/peer.py). Each logs at warning level (no access log) and listens on 127.0.0.1
only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    ready_path: str = "/healthz"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until `ready_path` answers: each server listens only once it can serve (any HTTP
        status counts: the peer answers a GET on /graphql with 405)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            url = f"http://127.0.0.1:{self.port}{self.ready_path}"
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start within {timeout}s")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


def spawn(
    name: str,
    cmd: list[str],
    env: dict[str, str],
    log: Path,
    port: int,
    cwd: Path = ROOT,
    ready_path: str = "/healthz",
) -> Server:
    handle = log.open("a")  # a log given to several servers in turn keeps each one's lines
    process = subprocess.Popen(
        cmd,
        cwd=cwd,
        env={**os.environ, **env},
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Server(name, port, process, log, ready_path)


# `refunds serve` as its console script does, but importing the code of the service root (the
# current directory comes first on sys.path with -c), so that a snapshot can be measured.
REFUNDS = [sys.executable, "-c", "from api.cli import main; main()"]


def migrate(database_url: str, service_root: Path) -> None:
    """The service root's own migrations (a snapshot may be behind the working tree)."""
    code = "import sys; from db.migrate import upgrade; upgrade(sys.argv[1])"
    subprocess.run(
        [sys.executable, "-c", code, database_url], cwd=service_root, check=True, timeout=300
    )


def start_service(
    database_url: str,
    admin_token: str,
    work_dir: Path,
    service_root: Path,
    extra_env: dict[str, str] | None = None,
    name: str = "graphql",
    log: Path | None = None,
) -> Server:
    port = free_port()
    # The refund processor is off: it would work through the refunds the initiateRefund runs
    # create while later rounds are measured (--service-env REFUNDS_PROCESSOR=on to include it).
    # Its pool is the default: 20 connections and no overflow, as the ceiling's asyncpg pool.
    env = {
        "DATABASE_URL": database_url,
        "REFUNDS_ADMIN_TOKEN": admin_token,
        "REFUNDS_DATA_DIR": str(work_dir / "data"),
        "REFUNDS_PROCESSOR": "off",
        **(extra_env or {}),
    }
    cmd = [
        *REFUNDS,
        "serve",
        "--no-demo",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return spawn(name, cmd, env, log or work_dir / f"{name}.log", port, service_root)


def start_ceiling(database_url: str, work_dir: Path) -> Server:
    port = free_port()
    cmd = [sys.executable, "-m", "bench.ceiling", "--port", str(port)]
    return spawn("ceiling", cmd, {"DATABASE_URL": database_url}, work_dir / "ceiling.log", port)


async def gql(http: httpx.AsyncClient, token: str, query: str, variables: Any = None) -> Any:
    """The `data` of one GraphQL request to a service the bench started; its errors raised."""
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]
