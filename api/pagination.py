"""Relay connections with keyset cursors: newest first, no OFFSET, `first` at most 100.

A cursor is opaque to clients: URL-safe base64 of the sort key of the row it stands on."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Generic, Protocol, TypeVar
from uuid import UUID

import strawberry

from api.errors import BadUserInput
from api.scalars import NotAnInstant, parse_instant

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
MAX_ID = 2**63 - 1  # ids are PostgreSQL bigints
NOT_OURS = "That cursor is not one this API gave out."

NodeT = TypeVar("NodeT")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many nodes match, across all pages.")
    async def total_count(self) -> int:
        return await self.count()


def page_size(first: int | None) -> int:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise BadUserInput(f"first must be between 0 and {MAX_PAGE_SIZE}; got {size}.")
    return size


def _encode(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput(NOT_OURS) from None


def newest_first_cursor(created_at: datetime, key: UUID) -> str:
    return _encode(f"{created_at.isoformat()}|{key.hex}")


def parse_newest_first_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    if cursor is None:
        return None
    stamp, _, key = _decode(cursor).partition("|")
    try:
        return parse_instant(stamp), UUID(hex=key)
    except (NotAnInstant, ValueError):
        raise BadUserInput(NOT_OURS) from None


def id_cursor(key: int) -> str:
    return _encode(str(key))


def parse_id_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    raw = _decode(cursor)
    # isdigit() alone takes "١٢" (Arabic-Indic digits) and a length that int() refuses
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_ID))):
        raise BadUserInput(NOT_OURS)
    key = int(raw)
    if key > MAX_ID:
        raise BadUserInput(NOT_OURS)
    return key


ItemT = TypeVar("ItemT")
DatedT = TypeVar("DatedT", bound="Dated")


class Dated(Protocol):
    """What a list sorted newest first is keyed by."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> UUID: ...


async def newest_first_page(
    first: int | None,
    after: str | None,
    read: Callable[[int, tuple[datetime, UUID] | None], Awaitable[Sequence[DatedT]]],
    to_node: Callable[[DatedT], NodeT],
    count: Callable[[], Awaitable[int]],
) -> Connection[NodeT]:
    """A page of a list newest first: `read(limit, after)` reads up to `limit` items past the
    (created_at, id) key of `after`."""
    size = page_size(first)
    found = await read(size + 1, parse_newest_first_cursor(after))
    return build_connection(
        found, size, to_node, lambda item: newest_first_cursor(item.created_at, item.id), count
    )


async def numbered_page(
    first: int | None,
    after: str | None,
    read: Callable[[int, int | None], Awaitable[Sequence[ItemT]]],
    number_of: Callable[[ItemT], int],
    to_node: Callable[[ItemT], NodeT],
    count: Callable[[], Awaitable[int]],
) -> Connection[NodeT]:
    """A page of a list keyed by a number: `read(limit, after)` reads up to `limit` items past
    the number of `after`."""
    size = page_size(first)
    found = await read(size + 1, parse_id_cursor(after))
    return build_connection(found, size, to_node, lambda item: id_cursor(number_of(item)), count)


def build_connection(
    items: Sequence[ItemT],
    size: int,
    to_node: Callable[[ItemT], NodeT],
    cursor_of: Callable[[ItemT], str],
    count: Callable[[], Awaitable[int]],
) -> Connection[NodeT]:
    """`items` holds up to size+1 rows: the extra one only says that a next page exists."""
    page = items[:size]
    edges = [Edge(cursor=cursor_of(item), node=to_node(item)) for item in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(items) > size,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )
