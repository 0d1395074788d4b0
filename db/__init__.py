"""Persistence on PostgreSQL: tables, the unit of work and repositories, read queries,
LISTEN/NOTIFY, migrations and the embedded server."""
