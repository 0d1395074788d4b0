"""refundBatchUpdated's wake-ups. The batch applier NOTIFYs once per committed chunk of items
and with the batch's final state (db/notifications.py REFUND_BATCH_PROGRESS_CHANNEL); this
process's LISTEN connection hands the batch's id to BatchFollowers, which wakes every
subscription following that batch to read it again.

Wake-ups coalesce: progress is a state, not a list of changes, so a subscriber that was busy
reads the newer counts once. After the LISTEN connection re-connects (notifications may have
been lost meanwhile), every subscription reads its batch again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

log = logging.getLogger("refunds.broker")


class BatchFollowers:
    """The subscriptions of this process, by the batch they follow."""

    def __init__(self) -> None:
        self._by_batch: dict[UUID, set[asyncio.Event]] = {}

    @contextmanager
    def follow(self, batch_id: UUID) -> Iterator[asyncio.Event]:
        """An event set whenever the batch may have moved."""
        moved = asyncio.Event()
        self._by_batch.setdefault(batch_id, set()).add(moved)
        try:
            yield moved
        finally:
            followers = self._by_batch[batch_id]
            followers.discard(moved)
            if not followers:
                del self._by_batch[batch_id]

    def notify(self, payload: str) -> None:
        """A NOTIFY payload from the listener (the batch's id). Runs in the event loop."""
        try:
            batch_id = UUID(payload)
        except ValueError:
            log.warning("ignoring a malformed batch notification")
            return
        for moved in self._by_batch.get(batch_id, ()):
            moved.set()

    def wake_all(self) -> None:
        for followers in self._by_batch.values():
            for moved in followers:
                moved.set()
