"""Applying the Alembic migrations that ship inside this package (no alembic.ini needed, so
`refunds migrate` works from any directory and from a regular `pip install`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    """Bring the database to the newest schema. Safe to run on every start: a no-op when
    already there. Not to be called from a running event loop (Alembic runs its own)."""
    command.upgrade(alembic_config(database_url), "head")
