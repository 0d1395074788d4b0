"""The migrations and the SQLModel tables describe the same schema (`alembic check`)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables import metadata


async def test_the_migrated_database_matches_the_models(engine: AsyncEngine) -> None:
    def differences(sync_conn):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)

    async with engine.connect() as conn:
        diff = await conn.run_sync(differences)
    assert diff == []
