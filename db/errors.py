"""Which database failures mean "try again shortly" rather than a bug in this service.

A restarted or overloaded PostgreSQL, a connection killed by an operator, a lock or statement
timeout, a deadlock: the client did nothing wrong and the same request is likely to work a
moment later. The API tells the client so (`SERVICE_UNAVAILABLE`) instead of a generic fault."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import sqlalchemy.exc

# SQLSTATE classes (https://www.postgresql.org/docs/current/errcodes-appendix.html)
_TRANSIENT_PREFIXES = (
    "08",  # connection exception
    "53",  # insufficient resources: too many connections, out of memory, disk full
    "57P",  # admin or crash shutdown, cannot connect now, idle session timeout
)
_TRANSIENT_CODES = frozenset(
    {
        "40001",  # serialization failure
        "40P01",  # deadlock detected
        "55P03",  # lock_not_available: our lock_timeout
        "57014",  # query_canceled: our statement_timeout
    }
)
_TRANSIENT_TYPES = (
    OSError,  # connection refused, host unreachable, reset by peer
    TimeoutError,  # connecting took too long
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free in time
    asyncpg.exceptions.ConnectionDoesNotExistError,  # the server closed it under us
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """`error` and what it wraps (SQLAlchemy's `.orig`, `__cause__`, `__context__`)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__


def is_lock_not_available(error: BaseException) -> bool:
    """True if `error` is PostgreSQL's 55P03: our lock_timeout ran out (or a NOWAIT lock
    found the row held)."""
    return any(getattr(e, "sqlstate", None) == "55P03" for e in _chain(error))


def is_transient(error: BaseException) -> bool:
    """True if `error`, or what it wraps (SQLAlchemy's `.orig`, `__cause__`), is transient."""
    for current in _chain(error):
        if isinstance(current, _TRANSIENT_TYPES):
            return True
        if getattr(current, "connection_invalidated", False):
            return True  # SQLAlchemy saw the connection drop and threw it away
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in str(current):
            return True  # the same, met on the raw asyncpg connection (SQLAlchemy's own test)
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate in _TRANSIENT_CODES or sqlstate.startswith(_TRANSIENT_PREFIXES)
        ):
            return True
    return False
